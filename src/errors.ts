// The one error hierarchy. Domain code throws these; src/http/error-map.ts is the only
// place that knows HTTP statuses. Each class has a stable `type` code that clients may
// match on (documented in the README), and `details` that are safe to show to callers.

export const ERROR_TYPES = [
  'BAD_REQUEST',
  'FORBIDDEN_SOURCE',
  'UNKNOWN_DIFF_TYPE',
  'METHOD_NOT_ALLOWED',
  'REQUEST_TIMEOUT',
  'TOO_LARGE',
  'UNDIFFABLE_CONTENT',
  'UNDECODABLE_CONTENT',
  'LIMIT_EXCEEDED',
  'UPSTREAM_ERROR',
  'UPSTREAM_UNREACHABLE',
  'UPSTREAM_TOO_LARGE',
  'HASH_MISMATCH',
  'OVERLOADED',
  'UPSTREAM_TIMEOUT',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
] as const;

export type ErrorType = (typeof ERROR_TYPES)[number];

export type ErrorDetails = Record<string, unknown>;

export abstract class DiffguardError extends Error {
  abstract readonly type: ErrorType;
  readonly details: ErrorDetails;

  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/** Malformed request: missing or invalid parameter, bad URL, bad body. */
export class BadRequestError extends DiffguardError {
  readonly type = 'BAD_REQUEST';
}

/** The source may not be fetched: scheme disabled, or the SSRF guard refused the address. */
export class ForbiddenSourceError extends DiffguardError {
  readonly type = 'FORBIDDEN_SOURCE';
}

export class UnknownDiffTypeError extends DiffguardError {
  readonly type = 'UNKNOWN_DIFF_TYPE';
}

/** A known path asked with a method it does not serve; `details.allow` lists the ones it does. */
export class MethodNotAllowedError extends DiffguardError {
  readonly type = 'METHOD_NOT_ALLOWED';
}

/** The client did not send its request body in time (POST_BODY_TIMEOUT_MS). */
export class RequestTimeoutError extends DiffguardError {
  readonly type = 'REQUEST_TIMEOUT';
}

/** An input is over a size limit that the caller controls (POST body, per-diff-type caps). */
export class TooLargeError extends DiffguardError {
  readonly type = 'TOO_LARGE';
}

/** A diff type cannot handle what one or both versions are (a PDF for an HTML diff). */
export class UndiffableContentError extends DiffguardError {
  readonly type = 'UNDIFFABLE_CONTENT';
}

/** The text is mostly undecodable: binary posing as text. */
export class UndecodableContentError extends DiffguardError {
  readonly type = 'UNDECODABLE_CONTENT';
}

export type JobLimit = 'cpu' | 'memory' | 'wall';

/** A diff job went over its CPU, memory or wall-clock limit and was killed. Deterministic: do not retry. */
export class LimitExceededError extends DiffguardError {
  readonly type = 'LIMIT_EXCEEDED';
}

export class UpstreamError extends DiffguardError {
  readonly type = 'UPSTREAM_ERROR';
}

export class UpstreamUnreachableError extends DiffguardError {
  readonly type = 'UPSTREAM_UNREACHABLE';
}

export class UpstreamTooLargeError extends DiffguardError {
  readonly type = 'UPSTREAM_TOO_LARGE';
}

export class HashMismatchError extends DiffguardError {
  readonly type = 'HASH_MISMATCH';
}

/** The pool cannot take more work now (queue full, shutting down). Retry later. */
export class OverloadedError extends DiffguardError {
  readonly type = 'OVERLOADED';
}

export class UpstreamTimeoutError extends DiffguardError {
  readonly type = 'UPSTREAM_TIMEOUT';
}

export class DeadlineExceededError extends DiffguardError {
  readonly type = 'DEADLINE_EXCEEDED';
}

export class InternalError extends DiffguardError {
  readonly type = 'INTERNAL';
}

const classByType: Record<ErrorType, new (message: string, details?: ErrorDetails) => DiffguardError> = {
  BAD_REQUEST: BadRequestError,
  FORBIDDEN_SOURCE: ForbiddenSourceError,
  UNKNOWN_DIFF_TYPE: UnknownDiffTypeError,
  METHOD_NOT_ALLOWED: MethodNotAllowedError,
  REQUEST_TIMEOUT: RequestTimeoutError,
  TOO_LARGE: TooLargeError,
  UNDIFFABLE_CONTENT: UndiffableContentError,
  UNDECODABLE_CONTENT: UndecodableContentError,
  LIMIT_EXCEEDED: LimitExceededError,
  UPSTREAM_ERROR: UpstreamError,
  UPSTREAM_UNREACHABLE: UpstreamUnreachableError,
  UPSTREAM_TOO_LARGE: UpstreamTooLargeError,
  HASH_MISMATCH: HashMismatchError,
  OVERLOADED: OverloadedError,
  UPSTREAM_TIMEOUT: UpstreamTimeoutError,
  DEADLINE_EXCEEDED: DeadlineExceededError,
  INTERNAL: InternalError,
};

export function isDiffguardError(value: unknown): value is DiffguardError {
  return value instanceof DiffguardError;
}

/** Plain-data form of an error, for crossing a process boundary (classes do not survive IPC). */
export interface SerializedError {
  type: ErrorType;
  message: string;
  details: ErrorDetails;
}

export function serializeError(err: unknown): SerializedError {
  if (isDiffguardError(err)) return { type: err.type, message: err.message, details: err.details };
  const message = err instanceof Error ? err.message : String(err);
  return { type: 'INTERNAL', message, details: {} };
}

export function deserializeError(data: SerializedError): DiffguardError {
  const ErrorClass = classByType[data.type] ?? InternalError;
  return new ErrorClass(data.message, data.details);
}
