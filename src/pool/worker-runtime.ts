// Runs inside a worker process: receives jobs over IPC, decodes, diffs, answers.
// Kept tiny on purpose; the limits that matter are enforced from outside (heap cap,
// RLIMIT_DATA, and the parent's CPU/RSS watchdog), since a job cannot be trusted to stop itself.
import type { DiffDefinition } from '../diff/types.ts';
import { serializeError, UnknownDiffTypeError } from '../errors.ts';
import { decodeVersion } from '../sniff/index.ts';
import type { ChildMessage, DecodedEncodings, DiffJob, DiffOutcome, JobSide, ParentMessage } from './job.ts';
import { escapedJsonBytes } from './json-result.ts';

// RangeErrors of refused allocations: "Array buffer allocation failed" (RLIMIT_DATA), and V8's size
// caps on one string or array ("Invalid string length" from `s += s`).
const OUT_OF_MEMORY_MESSAGE = /allocation failed|Invalid string length|Invalid array length|Invalid typed array length/i;

function isOutOfMemory(err: unknown): boolean {
  // Buffer.allocUnsafe under RLIMIT_DATA: RangeError "Failed to allocate memory", code ERR_MEMORY_ALLOCATION_FAILED.
  if ((err as { code?: unknown } | null)?.code === 'ERR_MEMORY_ALLOCATION_FAILED') return true;
  return err instanceof RangeError && OUT_OF_MEMORY_MESSAGE.test(err.message);
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

function toDiffSide(name: 'a' | 'b', side: JobSide, definition: DiffDefinition<any, any>, ignoreDecodingErrors: boolean) {
  // A diff type that reads PDFs extracts their text itself: a PDF decoded as text is noise.
  const needsText = definition.needsText && !(definition.readsPdf === true && side.mediaType === 'application/pdf');
  const { text, encoding } = needsText ? decodeVersion(side.bytes, { contentType: side.contentType, ignoreDecodingErrors, side: name }) : { text: '', encoding: undefined };
  return {
    side: { bytes: side.bytes, text, ...(side.url === undefined ? {} : { url: side.url }), ...(side.mediaType === undefined ? {} : { mediaType: side.mediaType }) },
    encoding,
  };
}

/**
 * Runs one job. A diff type that answers synchronously gets its outcome synchronously (sent in the
 * same turn, as before asynchronous diff types existed); only an asynchronous one (text extraction
 * from PDFs) is awaited.
 */
export function runJob(diffTypes: ReadonlyMap<string, DiffDefinition<any, any>>, job: DiffJob): DiffOutcome | Promise<DiffOutcome> {
  try {
    const definition = diffTypes.get(job.diffType);
    if (definition === undefined) throw new UnknownDiffTypeError(`Unknown diff type ${job.diffType}`);
    const a = toDiffSide('a', job.a, definition, job.ignoreDecodingErrors);
    const b = toDiffSide('b', job.b, definition, job.ignoreDecodingErrors);
    const encodings: DecodedEncodings = { ...(a.encoding === undefined ? {} : { a: a.encoding }), ...(b.encoding === undefined ? {} : { b: b.encoding }) };
    const result = definition.run(a.side, b.side, job.options) as Record<string, unknown> | Promise<Record<string, unknown>>;
    if (result instanceof Promise) return result.then((resolved) => successOutcome(job, resolved, encodings), failureOutcome);
    return successOutcome(job, result, encodings);
  } catch (err) {
    return failureOutcome(err);
  }
}

function successOutcome(job: DiffJob, result: Record<string, unknown>, encodings: DecodedEncodings): DiffOutcome {
  if (job.resultAs !== 'json') return { ok: true, result };
  return { ok: true, json: escapedJsonBytes(result), encodings };
}

function failureOutcome(err: unknown): DiffOutcome {
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
  process.on('message', (message: ParentMessage) => {
    if (message.type !== 'job') return;
    // Sent before the job runs: if this process dies without it, the parent knows the job never ran.
    send({ type: 'accepted', id: message.id });
    // One job at a time: the pool sends the next only after this one's `done`.
    const outcome = runJob(diffTypes, message.job);
    if (outcome instanceof Promise) void outcome.then((settled) => send({ type: 'done', id: message.id, outcome: settled }));
    else send({ type: 'done', id: message.id, outcome });
  });
  // Without a parent the worker has no purpose: never linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}
