// The typed boundary between the pool (main process) and a worker process. Messages travel as
// frames on the data channel (frame.ts): a small JSON header, and the big parts (the bodies, a
// result's JSON text) as raw bytes. Errors travel as SerializedError, never as class instances.
import type { Body } from '../body.ts';
import type { SerializedError } from '../errors.ts';

/** What a job knows of one side besides its bytes (it travels in the job's header). */
export interface SideMeta {
  /** Declared Content-Type header (the worker reads the charset from it). */
  contentType?: string;
  /** Final URL of the version, when it was fetched. */
  url?: string;
  /** Media type the main process identified (a PDF-reading diff type extracts PDF sides instead of decoding them). */
  mediaType?: string;
}

/** One side of a job as the main process submits it: its body as the chunks it arrived in. */
export interface JobSide extends SideMeta {
  /** Body after content decoding. */
  body: Body;
}

export interface DiffJob {
  diffType: string;
  a: JobSide;
  b: JobSide;
  /** Output of the diff type's parseOptions: plain data (it travels as JSON). */
  options: unknown;
  ignoreDecodingErrors: boolean;
  /** Ignored (kept for callers written before every result came back as JSON text). */
  resultAs?: 'object' | 'json';
}

/** The encoding each side's text was decoded with (absent when not decoded, or empty). */
export interface DecodedEncodings {
  a?: string;
  b?: string;
}

/**
 * A job's result as JSON text, with how its inputs were decoded. The text is the result object as
 * UTF-8 JSON, `<`, `>` and `&` escaped (see json-result.ts), in the Buffer chunks it arrived in from
 * the worker: write them to the response as they are (`spliceJsonChunks`), without concatenating.
 */
export interface JsonJobResult {
  chunks: readonly Buffer[];
  /** Total bytes of `chunks`. */
  byteLength: number;
  /** The same text in one buffer, concatenated on first use (a copy: prefer `chunks`). */
  readonly json: Uint8Array;
  encodings: DecodedEncodings;
}

/** A job's end, as the worker reports it (the result's text, when ok, as the frame's payload chunks). */
export type DiffOutcome = { ok: true; chunks: Buffer[]; encodings: DecodedEncodings } | { ok: false; error: SerializedError };

/** Pool → worker. The frame's payload is `a` then `b`, `aBytes` and `bBytes` long. */
export interface JobMessage {
  type: 'job';
  id: number;
  diffType: string;
  a: SideMeta;
  b: SideMeta;
  aBytes: number;
  bBytes: number;
  options: unknown;
  ignoreDecodingErrors: boolean;
}

/**
 * Worker → pool. `accepted` is sent once a job's bytes have arrived, before it runs: a worker that
 * dies before accepting never ran the job, so the pool may give it to another worker. A `done`
 * with `ok: true` carries the result's JSON text as the frame's payload.
 */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'accepted'; id: number }
  | { type: 'done'; id: number; ok: true; encodings: DecodedEncodings }
  | { type: 'done'; id: number; ok: false; error: SerializedError };

/** The file descriptor of the data channel in a worker process. */
export const DATA_CHANNEL_FD = 4;

/** A JsonJobResult from a successful outcome's chunks. */
export function jsonResultFromChunks(outcome: Extract<DiffOutcome, { ok: true }>): JsonJobResult {
  let byteLength = 0;
  for (const chunk of outcome.chunks) byteLength += chunk.length;
  let joined: Buffer | undefined;
  return {
    chunks: outcome.chunks,
    byteLength,
    get json() {
      joined ??= outcome.chunks.length === 1 ? outcome.chunks[0]! : Buffer.concat(outcome.chunks, byteLength);
      return joined;
    },
    encodings: outcome.encodings,
  };
}
