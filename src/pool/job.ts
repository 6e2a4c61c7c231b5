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
}

export interface DiffJob {
  diffType: string;
  a: JobSide;
  b: JobSide;
  /** Output of the diff type's parseOptions: plain data. */
  options: unknown;
  ignoreDecodingErrors: boolean;
}

export type DiffOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: SerializedError };

/** Parent → child. */
export type ParentMessage = { type: 'job'; id: number; job: DiffJob };

/** Child → parent. */
export type ChildMessage = { type: 'ready' } | { type: 'done'; id: number; outcome: DiffOutcome };
