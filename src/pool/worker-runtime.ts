// Runs inside a worker process: receives jobs on the data channel, decodes, diffs, answers.
// Kept tiny on purpose; the limits that matter are enforced from outside (heap cap,
// RLIMIT_DATA, and the parent's CPU/RSS watchdog), since a job cannot be trusted to stop itself.
import { Socket } from 'node:net';
import type { DiffDefinition } from '../diff/types.ts';
import { serializeError, UnknownDiffTypeError, type SerializedError } from '../errors.ts';
import { decodeVersion } from '../sniff/index.ts';
import { encodeFrame, FrameReader } from './frame.ts';
import { DATA_CHANNEL_FD, type DecodedEncodings, type DiffJob, type JobMessage, type JobSide, type WorkerMessage } from './job.ts';
import { escapedJsonBytes } from './json-result.ts';

// RangeErrors of refused allocations: "Array buffer allocation failed" (RLIMIT_DATA), and V8's size
// caps on one string or array ("Invalid string length" from `s += s`).
const OUT_OF_MEMORY_MESSAGE = /allocation failed|Invalid string length|Invalid array length|Invalid typed array length/i;

function isOutOfMemory(err: unknown): boolean {
  // Buffer.allocUnsafe under RLIMIT_DATA: RangeError "Failed to allocate memory", code ERR_MEMORY_ALLOCATION_FAILED.
  if ((err as { code?: unknown } | null)?.code === 'ERR_MEMORY_ALLOCATION_FAILED') return true;
  return err instanceof RangeError && OUT_OF_MEMORY_MESSAGE.test(err.message);
}

function toDiffSide(name: 'a' | 'b', side: JobSide, needsText: boolean, ignoreDecodingErrors: boolean) {
  const { text, encoding } = needsText ? decodeVersion(side.bytes, { contentType: side.contentType, ignoreDecodingErrors, side: name }) : { text: '', encoding: undefined };
  return { side: { bytes: side.bytes, text, ...(side.url === undefined ? {} : { url: side.url }) }, encoding };
}

/** One job's answer: the result as escaped JSON text with the encodings, or the error. */
export type JobAnswer = { ok: true; json: Buffer; encodings: DecodedEncodings } | { ok: false; error: SerializedError };

export function runJob(diffTypes: ReadonlyMap<string, DiffDefinition<any>>, job: DiffJob): JobAnswer {
  try {
    const definition = diffTypes.get(job.diffType);
    if (definition === undefined) throw new UnknownDiffTypeError(`Unknown diff type ${job.diffType}`);
    const a = toDiffSide('a', job.a, definition.needsText, job.ignoreDecodingErrors);
    const b = toDiffSide('b', job.b, definition.needsText, job.ignoreDecodingErrors);
    const result = definition.run(a.side, b.side, job.options);
    const encodings: DecodedEncodings = { ...(a.encoding === undefined ? {} : { a: a.encoding }), ...(b.encoding === undefined ? {} : { b: b.encoding }) };
    return { ok: true, json: escapedJsonBytes(result), encodings };
  } catch (err) {
    if (isOutOfMemory(err)) {
      // The OS data limit (or V8's size caps) refused an allocation: the job needed too much memory.
      // The parent adds the limits to the answer and replaces this worker.
      return { ok: false, error: { type: 'LIMIT_EXCEEDED', message: (err as Error).message, details: { limit: 'memory' } } };
    }
    return { ok: false, error: serializeError(err) };
  }
}

/** Entry point of a worker process: serve jobs for the given registry until the parent goes away. */
export function startWorker(diffTypes: ReadonlyMap<string, DiffDefinition<any>>): void {
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
    const job: DiffJob = {
      diffType: message.diffType,
      a: { ...message.a, bytes: frame.payload.subarray(0, message.aBytes) },
      b: { ...message.b, bytes: frame.payload.subarray(message.aBytes, message.aBytes + message.bBytes) },
      options: message.options,
      ignoreDecodingErrors: message.ignoreDecodingErrors,
    };
    // Sent before the job runs: if this process dies without it, the parent knows the job never ran.
    send({ type: 'accepted', id: message.id });
    const answer = runJob(diffTypes, job);
    if (answer.ok) send({ type: 'done', id: message.id, ok: true, encodings: answer.encodings }, [answer.json]);
    else send({ type: 'done', id: message.id, ok: false, error: answer.error });
  });
  channel.on('data', (chunk: Buffer) => reader.push(chunk));
  // Without a parent the worker has no purpose: never linger as an orphan.
  channel.on('close', () => process.exit(0));
  channel.on('error', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}
