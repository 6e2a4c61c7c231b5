// Runs inside a worker process: receives jobs on the data channel, decodes, diffs, answers.
// Kept tiny on purpose; the limits that matter are enforced from outside (heap cap,
// RLIMIT_DATA, and the parent's CPU/RSS watchdog), since a job cannot be trusted to stop itself.
import { Socket } from 'node:net';
import type { DiffDefinition } from '../diff/types.ts';
import { serializeError, UnknownDiffTypeError, type SerializedError } from '../errors.ts';
import { decodeVersion } from '../sniff/index.ts';
import { encodeFrame, FrameReader } from './frame.ts';
import { DATA_CHANNEL_FD, type DecodedEncodings, type DiffJob, type JobMessage, type SideMeta, type WorkerMessage } from './job.ts';
import { escapedJsonBytes } from './json-result.ts';

// RangeErrors of refused allocations: "Array buffer allocation failed" (RLIMIT_DATA), and V8's size
// caps on one string or array ("Invalid string length" from `s += s`).
const OUT_OF_MEMORY_MESSAGE = /allocation failed|Invalid string length|Invalid array length|Invalid typed array length/i;

function isOutOfMemory(err: unknown): boolean {
  // Buffer.allocUnsafe under RLIMIT_DATA: RangeError "Failed to allocate memory", code ERR_MEMORY_ALLOCATION_FAILED.
  if ((err as { code?: unknown } | null)?.code === 'ERR_MEMORY_ALLOCATION_FAILED') return true;
  return err instanceof RangeError && OUT_OF_MEMORY_MESSAGE.test(err.message);
}

/** One side of a job as a worker has it: the body in one buffer (the frame's payload). */
export interface ReceivedSide extends SideMeta {
  bytes: Uint8Array;
}

/** A job as a worker has it. */
export interface ReceivedJob extends Omit<DiffJob, 'a' | 'b'> {
  a: ReceivedSide;
  b: ReceivedSide;
}

function toDiffSide(name: 'a' | 'b', side: ReceivedSide, definition: DiffDefinition<any, any>, ignoreDecodingErrors: boolean) {
  // A diff type that reads PDFs extracts their text itself: a PDF decoded as text is noise.
  const needsText = definition.needsText && !(definition.readsPdf === true && side.mediaType === 'application/pdf');
  const { text, encoding } = needsText ? decodeVersion(side.bytes, { contentType: side.contentType, ignoreDecodingErrors, side: name }) : { text: '', encoding: undefined };
  return {
    side: { bytes: side.bytes, text, ...(side.url === undefined ? {} : { url: side.url }), ...(side.mediaType === undefined ? {} : { mediaType: side.mediaType }) },
    encoding,
  };
}

/** One job's answer: the result as escaped JSON text with the encodings, or the error. */
export type JobAnswer = { ok: true; json: Buffer; encodings: DecodedEncodings } | { ok: false; error: SerializedError };

/**
 * Runs one job. A diff type that answers synchronously gets its answer synchronously (sent in the
 * same turn); only an asynchronous one (text extraction from PDFs) is awaited.
 */
export function runJob(diffTypes: ReadonlyMap<string, DiffDefinition<any, any>>, job: ReceivedJob): JobAnswer | Promise<JobAnswer> {
  try {
    const definition = diffTypes.get(job.diffType);
    if (definition === undefined) throw new UnknownDiffTypeError(`Unknown diff type ${job.diffType}`);
    const a = toDiffSide('a', job.a, definition, job.ignoreDecodingErrors);
    const b = toDiffSide('b', job.b, definition, job.ignoreDecodingErrors);
    const encodings: DecodedEncodings = { ...(a.encoding === undefined ? {} : { a: a.encoding }), ...(b.encoding === undefined ? {} : { b: b.encoding }) };
    const result = definition.run(a.side, b.side, job.options) as Record<string, unknown> | Promise<Record<string, unknown>>;
    if (result instanceof Promise) return result.then((resolved) => successAnswer(resolved, encodings), failureAnswer);
    return successAnswer(result, encodings);
  } catch (err) {
    return failureAnswer(err);
  }
}

function successAnswer(result: Record<string, unknown>, encodings: DecodedEncodings): JobAnswer {
  return { ok: true, json: escapedJsonBytes(result), encodings };
}

function failureAnswer(err: unknown): JobAnswer {
  if (isOutOfMemory(err)) {
    // The OS data limit (or V8's size caps) refused an allocation: the job needed too much memory.
    // The parent adds the limits to the answer and replaces this worker.
    return { ok: false, error: { type: 'LIMIT_EXCEEDED', message: (err as Error).message, details: { limit: 'memory' } } };
  }
  return { ok: false, error: serializeError(err) };
}

/** Entry point of a worker process: serve jobs for the given registry until the parent goes away. */
export function startWorker(diffTypes: ReadonlyMap<string, DiffDefinition<any, any>>): void {
  if (process.send === undefined) throw new Error('diff worker must be started by the pool (no IPC channel)');
  const channel = new Socket({ fd: DATA_CHANNEL_FD, readable: true, writable: true });
  const send = (message: WorkerMessage, payload: Uint8Array[] = []) => {
    channel.cork();
    for (const part of encodeFrame(message, payload)) channel.write(part);
    channel.uncork();
  };
  const reader = new FrameReader('contiguous', (frame) => {
    const message = frame.header as JobMessage;
    if (message.type !== 'job') return;
    const job: ReceivedJob = {
      diffType: message.diffType,
      a: { ...message.a, bytes: frame.payload.subarray(0, message.aBytes) },
      b: { ...message.b, bytes: frame.payload.subarray(message.aBytes, message.aBytes + message.bBytes) },
      options: message.options,
      ignoreDecodingErrors: message.ignoreDecodingErrors,
    };
    // Sent before the job runs: if this process dies without it, the parent knows the job never ran.
    send({ type: 'accepted', id: message.id });
    // One job at a time: the pool sends the next only after this one's `done`.
    const reply = (answer: JobAnswer) => {
      if (answer.ok) send({ type: 'done', id: message.id, ok: true, encodings: answer.encodings }, [answer.json]);
      else send({ type: 'done', id: message.id, ok: false, error: answer.error });
    };
    const answer = runJob(diffTypes, job);
    if (answer instanceof Promise) void answer.then(reply);
    else reply(answer);
  });
  channel.on('data', (chunk: Buffer) => reader.push(chunk));
  // Without a parent the worker has no purpose: never linger as an orphan.
  channel.on('close', () => process.exit(0));
  channel.on('error', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}
