// The typed boundary between the pool (main process) and a worker process.
// Everything here crosses IPC with `serialization: 'advanced'` (structured clone):
// plain data only, and errors travel as SerializedError, never as class instances.
import type { SerializedError } from '../errors.ts';

export interface JobSide {
  /** Body after content decoding. */
  bytes: Uint8Array;
  /** Declared Content-Type header (the worker reads the charset from it). */
  contentType?: string;
  /** Final URL of the version, when it was fetched. */
  url?: string;
  /** Media type the main process identified (a PDF-reading diff type extracts PDF sides instead of decoding them). */
  mediaType?: string;
}

export interface DiffJob {
  diffType: string;
  a: JobSide;
  b: JobSide;
  /** Output of the diff type's parseOptions: plain data. */
  options: unknown;
  ignoreDecodingErrors: boolean;
  /**
   * `json`: the worker answers with the result as escaped JSON text (see json-result.ts), so a big
   * result costs the main process a copy instead of a deserialisation and a stringify.
   */
  resultAs?: 'object' | 'json';
}

/** The encoding each side's text was decoded with (absent when not decoded, or empty). */
export interface DecodedEncodings {
  a?: string;
  b?: string;
}

/** A job's result as JSON text (resultAs: 'json'), with how its inputs were decoded. */
export interface JsonJobResult {
  /** The result object as UTF-8 JSON text, `<`, `>` and `&` escaped. */
  json: Uint8Array;
  encodings: DecodedEncodings;
}

export type DiffOutcome =
  | { ok: true; result: Record<string, unknown> }
  | ({ ok: true } & JsonJobResult)
  | { ok: false; error: SerializedError };

/** Parent → child. */
export type ParentMessage = { type: 'job'; id: number; job: DiffJob };

/**
 * Child → parent. `accepted` is sent the moment a job arrives, before it runs: a worker that dies
 * before accepting never ran the job, so the pool may give it to another worker.
 */
export type ChildMessage = { type: 'ready' } | { type: 'accepted'; id: number } | { type: 'done'; id: number; outcome: DiffOutcome };
