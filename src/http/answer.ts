// Writing a diff answer: bounded in size (MAX_ANSWER_BYTES), written in chunks that wait for the
// socket to drain, and cut off when the client stops reading for ANSWER_WRITE_TIMEOUT_MS. Before
// this, every answer was handed to the socket whole: 24 clients reading a few bytes a second kept
// ~590 MiB in the main process for as long as they liked. The answer's bytes are charged to the
// request's reservation until its response closes, so the input budget and the pool's memory
// budget see them (and can stop the request that holds the most).
import type { ServerResponse } from 'node:http';
import { TooLargeError } from '../errors.ts';
import type { BodyReservation } from '../ingest/index.ts';
import { ClientDisconnectedError } from './client-disconnect.ts';

/** Written to the socket this much at a time; the next piece waits for the socket to drain. */
export const ANSWER_CHUNK_BYTES = 64 * 1024;

export interface AnswerLimits {
  maxBytes: number;
  writeTimeoutMs: number;
}

/** The client stopped reading its answer: it is disconnected and its answer dropped. */
export class AnswerWriteTimeoutError extends ClientDisconnectedError {
  constructor(timeoutMs: number) {
    super();
    this.message = `The client read none of its answer for ${timeoutMs} ms`;
    this.name = 'AnswerWriteTimeoutError';
  }
}

export function byteLengthOf(parts: readonly Uint8Array[]): number {
  return parts.reduce((sum, part) => sum + part.byteLength, 0);
}

/** 413 when the answer is over MAX_ANSWER_BYTES. */
export function refuseOversizedAnswer(bytes: number, maxBytes: number): void {
  if (bytes <= maxBytes) return;
  throw new TooLargeError(`The answer would be ${bytes} bytes, more than ${maxBytes} (MAX_ANSWER_BYTES); ask for less (a smaller include, a context, another diff type)`, {
    limit: 'answer',
    max_size: maxBytes,
    answer_bytes: bytes,
  });
}

/**
 * Writes the parts as a 200 answer (headers already set on `res`), a chunk at a time, each waiting
 * for the socket to drain. Rejects with ClientDisconnectedError when the client goes away, or with
 * AnswerWriteTimeoutError (after destroying the connection) when it reads nothing for
 * `writeTimeoutMs`; `signal` aborting also destroys the connection.
 */
export async function writeAnswer(res: ServerResponse, parts: readonly Uint8Array[], limits: AnswerLimits, signal: AbortSignal): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Length', String(byteLengthOf(parts)));
  await writePieces(res, piecesOf(parts), limits, signal);
}

/** The parts cut into ANSWER_CHUNK_BYTES pieces (views, no copy). */
export function* piecesOf(parts: readonly Uint8Array[]): Generator<Uint8Array> {
  for (const part of parts) {
    for (let offset = 0; offset < part.byteLength; offset += ANSWER_CHUNK_BYTES) yield part.subarray(offset, offset + ANSWER_CHUNK_BYTES);
  }
}

/**
 * Writes `pieces` as the body of an answer whose status and headers are set, each piece waiting for
 * the socket to drain, with writeAnswer's timeout and abort rules; then ends it. An asynchronous
 * source (a compressor) is pulled only as fast as the client reads, and stopped when writing stops.
 */
export async function writePieces(res: ServerResponse, pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, limits: AnswerLimits, signal: AbortSignal): Promise<void> {
  for await (const piece of pieces) {
    if (signal.aborted || res.destroyed) throw stopWriting(res, signal);
    if (!res.write(piece)) await progress(res, 'drain', limits.writeTimeoutMs, signal);
  }
  if (signal.aborted || res.destroyed) throw stopWriting(res, signal);
  res.end();
  // The last piece may still wait in the socket's buffer: the same timeout holds until it is read.
  if (!res.writableFinished) await progress(res, 'finish', limits.writeTimeoutMs, signal);
}

function stopWriting(res: ServerResponse, signal: AbortSignal): unknown {
  res.destroy();
  return signal.aborted ? signal.reason : new ClientDisconnectedError();
}

/** Waits for `event` ('drain' or 'finish'); the connection is destroyed on timeout or abort. */
function progress(res: ServerResponse, event: 'drain' | 'finish', timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: unknown) => {
      clearTimeout(timer);
      res.removeListener(event, onProgress);
      res.removeListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onProgress = () => done();
    const onClose = () => done(new ClientDisconnectedError());
    const onAbort = () => done(stopWriting(res, signal));
    const timer = setTimeout(() => {
      res.destroy();
      done(new AnswerWriteTimeoutError(timeoutMs));
    }, timeoutMs);
    res.once(event, onProgress);
    res.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
