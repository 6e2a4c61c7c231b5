// The one table from error type to HTTP status, and the JSON error body.
import { DiffguardError, InternalError, type ErrorType } from '../errors.ts';

export const statusByErrorType: Record<ErrorType, number> = {
  BAD_REQUEST: 400,
  FORBIDDEN_SOURCE: 403,
  UNKNOWN_DIFF_TYPE: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  TOO_LARGE: 413,
  UNDIFFABLE_CONTENT: 422,
  UNDECODABLE_CONTENT: 422,
  LIMIT_EXCEEDED: 422,
  UPSTREAM_ERROR: 502,
  UPSTREAM_UNREACHABLE: 502,
  // The anchor answers an oversized upstream body with 502; kept for compatibility.
  UPSTREAM_TOO_LARGE: 502,
  HASH_MISMATCH: 502,
  OVERLOADED: 503,
  UPSTREAM_TIMEOUT: 504,
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
};

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** Turns anything thrown into the JSON error answer. Unknown errors become INTERNAL with a generic message. */
export function toErrorResponse(err: unknown, options: { debug: boolean }): ErrorResponse {
  const known = err instanceof DiffguardError;
  const error = known ? err : new InternalError('Internal server error');
  const status = statusByErrorType[error.type];
  const headers: Record<string, string> = {};
  const retryAfter = error.details.retry_after_seconds;
  if (status === 503 && typeof retryAfter === 'number') headers['Retry-After'] = String(retryAfter);
  if (status === 405 && typeof error.details.allow === 'string') headers['Allow'] = error.details.allow;
  const details = { ...error.details };
  if (error.type === 'INTERNAL' && !options.debug) delete details.worker_output;
  const body: Record<string, unknown> = { code: status, error: error.message, type: error.type, ...details };
  if (options.debug && err instanceof Error) {
    body.stack = err.stack;
    if (!known) body.error = err.message;
  }
  return { status, headers, body };
}
