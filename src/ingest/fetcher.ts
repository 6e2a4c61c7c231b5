// Fetches one version of a page: redirects followed by hand (each hop re-checked by the SSRF
// guard and counted), every limit enforced, and undici/system errors mapped to typed errors.

import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { Agent, errors as undiciErrors } from 'undici';
import type { Body } from '../body.ts';
import type { IncomingHttpHeaders } from 'undici/types/header.js';
import {
  BadRequestError,
  ForbiddenSourceError,
  HashMismatchError,
  isDiffguardError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamTooLargeError,
  UpstreamUnreachableError,
  type DiffguardError,
} from '../errors.ts';
import { createAddressGuard, type AddressGuard } from './address-guard.ts';
import { createGuardedConnector } from './connector.ts';
import type { BodyReservation } from './body-budget.ts';
import { readFileSource } from './file-source.ts';
import { isDecodeFailure, parseContentEncoding, readBody, type BodyProgress, type PrefixInfo, type ReadBodyResult } from './read-body.ts';
import { buildUpstreamHeaders, headersForHop } from './request-headers.ts';
import { assertHostAllowed, validateSourceUrl } from './validate-url.ts';

export interface IngestLimits {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** Deadline of the whole fetch: connect, headers, body, all redirects. */
  bodyTimeoutMs: number;
  maxRedirects: number;
  maxBodyBytes: number;
  maxDecompressionRatio: number;
  allowPrivateUpstreams: boolean;
  allowFileUrls: boolean;
  verifyTls: boolean;
  userAgent: string;
  /** Test-only: dns.lookup-compatible resolver used instead of the system one. */
  lookup?: LookupFunction | undefined;
  /** Test-only: addresses the SSRF guard lets through although they are internal. */
  guardExemptAddresses?: readonly string[] | undefined;
}

export interface FetchOptions {
  passHeaders?: Record<string, string>;
  expectedSha256?: string;
  signal?: AbortSignal;
  prefixBytes?: number;
  inspectPrefix?: (prefix: Uint8Array, info: PrefixInfo) => void | Promise<void>;
  /** Filled in as the fetch goes, so a caller can report what a fetch got even when it fails. */
  progress?: FetchProgress;
  /** Charged with the body bytes as they are kept (see body-budget.ts). */
  reservation?: BodyReservation;
}

export interface FetchProgress extends BodyProgress {
  /** Status of the latest upstream response (each redirect's, then the final one's). */
  status: number | undefined;
}

export interface FetchedVersion {
  url: string;
  finalUrl: string;
  status: number;
  contentType: string | undefined;
  headers: Record<string, string>;
  /** The body after content decoding, as the chunks it arrived in (see src/body.ts). */
  body: Body;
  /** Bytes received for the final response body, before content decoding. */
  wireBytes: number;
  /** SHA-256 (hex) of `body`, computed as they were read (cache validators use it). */
  sha256: string;
}

export interface Fetcher {
  fetchVersion(url: string, options?: FetchOptions): Promise<FetchedVersion>;
  close(): Promise<void>;
}

const DEFAULT_PREFIX_BYTES = 4096;
/**
 * undici's own header and body timers run on coarse "fast timers" and were measured firing up to
 * ~200 ms early (an 800 ms headers timeout cut a 700 ms answer at 634 ms). Our exact timers (per-hop
 * headers, whole-fetch deadline) decide; undici's are kept one tick later, as a backstop only.
 */
const UNDICI_TIMER_SLACK_MS = 1_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** The setting that bounds each timeout phase, named in the error so an operator knows what to change. */
const TIMEOUT_SETTINGS: Record<string, string> = { connect: 'UPSTREAM_CONNECT_TIMEOUT_MS', headers: 'UPSTREAM_HEADERS_TIMEOUT_MS', body: 'UPSTREAM_BODY_TIMEOUT_MS' };

const TLS_ERROR_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'HOSTNAME_MISMATCH',
]);

function flattenHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Drops a response body we will not read; destroying closes the socket instead of draining it. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

function normalizeExpectedHash(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const hash = value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new BadRequestError('A hash must be 64 hexadecimal characters (SHA-256)', { param: 'hash', value });
  }
  return hash;
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // net.connect with autoSelectFamily reports every failed address in an AggregateError.
  const inner = (err as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errorCode(inner[0]) : undefined;
}

function isHttpParserError(err: unknown): err is Error {
  return err instanceof undiciErrors.HTTPParserError || (err instanceof Error && err.name === 'HTTPParserError');
}

/** "Response does not match the HTTP/1.1 protocol (Chunk size overflow)" → "Chunk size overflow". */
function parserProblem(err: Error): string {
  return /\(([^()]+)\)\s*$/.exec(err.message)?.[1] ?? 'malformed HTTP framing';
}

/** Maps an undici/system/zlib error to the service's typed errors (by `code`, never instanceof). */
export function mapFetchError(err: unknown, url: string, limits: IngestLimits): unknown {
  if (isDiffguardError(err)) {
    // Raised by the connector, which does not know the requested URL.
    if (err instanceof ForbiddenSourceError && err.details['url'] === undefined) {
      return new ForbiddenSourceError(err.message, { ...err.details, url }, { cause: err });
    }
    return err;
  }
  if (isDecodeFailure(err)) {
    return new UpstreamError(`Upstream ${url} sent a body that does not match its Content-Encoding`, {
      url,
      reason: 'invalid_content_encoding',
    }, { cause: err });
  }
  // undici's HTTP parser errors (llhttp) often carry no `code`: match them by class and name.
  if (isHttpParserError(err)) {
    return new UpstreamError(`Upstream ${url} sent an invalid HTTP response (${parserProblem(err)})`, {
      url,
      reason: 'invalid_response',
      parser_error: parserProblem(err),
    }, { cause: err });
  }
  const code = errorCode(err);
  if (code === undefined) return err; // not a network failure: a bug, let it surface as 500
  const timeout = (timeoutMs: number, phase: string): DiffguardError =>
    new UpstreamTimeoutError(`Upstream ${url} timed out (${phase}, ${timeoutMs} ms, ${TIMEOUT_SETTINGS[phase] ?? 'UPSTREAM_BODY_TIMEOUT_MS'})`, { url, timeout_ms: timeoutMs, phase }, { cause: err });
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return timeout(limits.connectTimeoutMs, 'connect');
    case 'UND_ERR_HEADERS_TIMEOUT':
      return timeout(limits.headersTimeoutMs, 'headers');
    case 'UND_ERR_BODY_TIMEOUT':
      return timeout(limits.bodyTimeoutMs, 'body');
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return new UpstreamTooLargeError(`Upstream ${url} is larger than the limit of ${limits.maxBodyBytes} bytes (MAX_BODY_BYTES)`, {
        url,
        max_size: limits.maxBodyBytes,
        reason: 'body_size',
      }, { cause: err });
    case 'UND_ERR_HEADERS_OVERFLOW':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INFO':
      return new UpstreamError(`Upstream ${url} sent an invalid HTTP response (${code})`, { url, reason: 'invalid_response', parser_error: code }, { cause: err });
  }
  if (code.startsWith('HPE_')) {
    return new UpstreamError(`Upstream ${url} sent an invalid HTTP response (${code})`, { url, reason: 'invalid_response', parser_error: code }, { cause: err });
  }
  if (TLS_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return new UpstreamUnreachableError(`Upstream ${url}: TLS connection failed (${code})`, { url, reason: 'tls', tls_error: code }, { cause: err });
  }
  if (code.startsWith('UND_ERR_INVALID') || code.startsWith('ERR_INVALID')) return err; // our bug, not the upstream's
  return new UpstreamUnreachableError(`Upstream ${url} could not be reached (${code})`, { url, reason: code }, { cause: err });
}

export function createFetcher(limits: IngestLimits): Fetcher {
  const guard = createAddressGuard(limits);
  const agent = new Agent({
    connect: createGuardedConnector({
      connectTimeoutMs: limits.connectTimeoutMs,
      verifyTls: limits.verifyTls,
      guard,
      lookup: limits.lookup,
    }),
    headersTimeout: limits.headersTimeoutMs + UNDICI_TIMER_SLACK_MS,
    // undici's bodyTimeout is an idle timer between chunks; our deadline below bounds the total.
    bodyTimeout: limits.bodyTimeoutMs + UNDICI_TIMER_SLACK_MS,
    // Backstop for the streaming wire cap in readBody.
    maxResponseSize: limits.maxBodyBytes,
    allowH2: false,
  });

  async function fetchHttp(
    url: URL,
    rawUrl: string,
    headers: Record<string, string>,
    signal: AbortSignal,
    abort: (reason: unknown) => void,
    bodyParams: { prefixBytes: number; inspectPrefix: FetchOptions['inspectPrefix']; progress: FetchProgress; reservation: BodyReservation | undefined },
  ): Promise<{ version: FetchedVersion; sha256: string }> {
    let current = url;
    const visited = new Set([withoutFragment(url)]);
    let redirects = 0;
    for (;;) {
      // undici's headersTimeout is coarse (see UNDICI_TIMER_SLACK_MS); this per-hop timer is exact.
      // It runs from sending the request, so it includes connecting on a new connection.
      const headersTimer = setTimeout(() => {
        abort(
          new UpstreamTimeoutError(`Upstream ${rawUrl} did not send response headers within ${limits.headersTimeoutMs} ms (UPSTREAM_HEADERS_TIMEOUT_MS)`, {
            url: rawUrl,
            timeout_ms: limits.headersTimeoutMs,
            phase: 'headers',
          }),
        );
      }, limits.headersTimeoutMs);
      let response;
      try {
        response = await agent.request({
          origin: current.origin,
          path: current.pathname + current.search,
          method: 'GET',
          headers: headersForHop(headers, url.origin, current.origin),
          signal,
          headersTimeout: limits.headersTimeoutMs + UNDICI_TIMER_SLACK_MS,
          bodyTimeout: limits.bodyTimeoutMs + UNDICI_TIMER_SLACK_MS,
        });
      } finally {
        clearTimeout(headersTimer);
      }
      const status = response.statusCode;
      bodyParams.progress.status = status;
      const responseHeaders = flattenHeaders(response.headers);
      const location = responseHeaders['location'];
      // An archive (Memento) serves its copy of an error page with the error status: that is content.
      const isMemento = responseHeaders['memento-datetime'] !== undefined;

      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        discard(response.body);
        if (redirects >= limits.maxRedirects) {
          throw new UpstreamError(`Upstream ${rawUrl} redirected more than ${limits.maxRedirects} times (UPSTREAM_MAX_REDIRECTS)`, {
            url: rawUrl,
            reason: 'too_many_redirects',
            max_redirects: limits.maxRedirects,
          });
        }
        const next = resolveRedirect(location, current, rawUrl, guard);
        const key = withoutFragment(next);
        if (visited.has(key)) {
          throw new UpstreamError(`Upstream ${rawUrl} redirects in a loop`, { url: rawUrl, reason: 'redirect_loop' });
        }
        visited.add(key);
        current = next;
        redirects += 1;
        continue;
      }

      if ((status < 200 || status >= 300) && !isMemento) {
        discard(response.body);
        throw new UpstreamError(`Upstream ${rawUrl} answered ${status}`, {
          url: rawUrl,
          upstream_code: status,
          ...(status >= 300 && status < 400 ? { reason: 'redirect_without_location' } : {}),
        });
      }

      const declaredLength = Number(responseHeaders['content-length']);
      if (Number.isFinite(declaredLength) && declaredLength > limits.maxBodyBytes) {
        discard(response.body);
        throw new UpstreamTooLargeError(`Upstream ${rawUrl} is larger than the limit of ${limits.maxBodyBytes} bytes (MAX_BODY_BYTES)`, {
          url: rawUrl,
          max_size: limits.maxBodyBytes,
          reason: 'content_length',
        });
      }

      let codings;
      try {
        codings = parseContentEncoding(responseHeaders['content-encoding'], rawUrl);
      } catch (err) {
        discard(response.body);
        throw err;
      }
      const contentType = responseHeaders['content-type'];
      let body: ReadBodyResult;
      try {
        body = await readBody(response.body, {
          url: rawUrl,
          maxBodyBytes: limits.maxBodyBytes,
          maxDecompressionRatio: limits.maxDecompressionRatio,
          contentCodings: codings,
          prefixBytes: bodyParams.prefixBytes,
          inspectPrefix: bodyParams.inspectPrefix,
          prefixInfo: { contentType, finalUrl: current.href, status },
          signal,
          progress: bodyParams.progress,
          reservation: bodyParams.reservation,
        });
      } catch (err) {
        throw truncatedBodyError(err, rawUrl, declaredLength, bodyParams.progress.wireBytes) ?? err;
      }
      return { version: toFetchedVersion(rawUrl, current.href, status, contentType, responseHeaders, body), sha256: body.sha256 };
    }
  }

  async function fetchVersion(rawUrl: string, options: FetchOptions = {}): Promise<FetchedVersion> {
    const url = validateSourceUrl(rawUrl, limits, 'url');
    const expectedHash = normalizeExpectedHash(options.expectedSha256);
    const headers = buildUpstreamHeaders(limits.userAgent, options.passHeaders);
    const callerSignal = options.signal;
    callerSignal?.throwIfAborted();

    // One controller for everything that ends the fetch early: the deadline and the caller.
    const controller = new AbortController();
    const deadline = setTimeout(() => {
      controller.abort(
        new UpstreamTimeoutError(`Upstream ${rawUrl} did not finish within ${limits.bodyTimeoutMs} ms (UPSTREAM_BODY_TIMEOUT_MS)`, {
          url: rawUrl,
          timeout_ms: limits.bodyTimeoutMs,
          phase: 'total',
        }),
      );
    }, limits.bodyTimeoutMs);
    const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

    // The caller's refusal is rethrown as is, whatever else happened after it.
    let inspectionFailure: { error: unknown } | undefined;
    const userInspect = options.inspectPrefix;
    const inspectPrefix =
      userInspect === undefined
        ? undefined
        : async (prefix: Uint8Array, info: PrefixInfo): Promise<void> => {
            try {
              await userInspect(prefix, info);
            } catch (error) {
              inspectionFailure = { error };
              throw error;
            }
          };
    const progress = options.progress ?? { status: undefined, wireBytes: 0, bytes: 0 };
    const bodyParams = { prefixBytes: options.prefixBytes ?? DEFAULT_PREFIX_BYTES, inspectPrefix, progress, reservation: options.reservation };

    try {
      let fetched: { version: FetchedVersion; sha256: string };
      if (url.protocol === 'file:') {
        const body = await readFileSource(url, rawUrl, {
          maxBodyBytes: limits.maxBodyBytes,
          maxDecompressionRatio: limits.maxDecompressionRatio,
          ...bodyParams,
          prefixInfo: { contentType: undefined, finalUrl: url.href, status: 200 },
          signal: controller.signal,
        });
        fetched = { version: toFetchedVersion(rawUrl, url.href, 200, undefined, {}, body), sha256: body.sha256 };
      } else {
        fetched = await fetchHttp(url, rawUrl, headers, controller.signal, (reason) => controller.abort(reason), bodyParams);
      }
      if (expectedHash !== undefined) {
        const actualHash = fetched.sha256;
        if (actualHash !== expectedHash) {
          throw new HashMismatchError(`The body of ${rawUrl} does not have the expected SHA-256`, {
            url: rawUrl,
            expected_hash: expectedHash,
            actual_hash: actualHash,
          });
        }
      }
      return fetched.version;
    } catch (err) {
      if (inspectionFailure !== undefined) throw inspectionFailure.error;
      if (controller.signal.aborted) throw controller.signal.reason;
      throw mapFetchError(err, rawUrl, limits);
    } finally {
      clearTimeout(deadline);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return {
    fetchVersion,
    close: () => agent.close(),
  };
}

function toFetchedVersion(
  url: string,
  finalUrl: string,
  status: number,
  contentType: string | undefined,
  headers: Record<string, string>,
  body: ReadBodyResult,
): FetchedVersion {
  return { url, finalUrl, status, contentType, headers, body: body.body, wireBytes: body.wireBytes, sha256: body.sha256 };
}

/**
 * The connection closed (or was reset) after the headers but before the body was complete: a
 * Content-Length that promised more than was sent, or a chunked body cut short. undici calls this
 * a socket error; it is the upstream's broken response, not an unreachable host.
 */
function truncatedBodyError(err: unknown, url: string, declaredLength: number, receivedBytes: number): UpstreamError | undefined {
  const code = errorCode(err);
  if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET') return undefined;
  const declared = Number.isFinite(declaredLength);
  const message = declared
    ? `Upstream ${url} closed the connection before sending the declared body (Content-Length ${declaredLength}, ${receivedBytes} bytes received)`
    : `Upstream ${url} closed the connection before the end of the body (${receivedBytes} bytes received)`;
  return new UpstreamError(message, {
    url,
    reason: 'truncated_body',
    ...(declared ? { declared_length: declaredLength } : {}),
    received_bytes: receivedBytes,
  }, { cause: err });
}

function withoutFragment(url: URL): string {
  return url.href.replace(/#.*$/, '');
}

function resolveRedirect(location: string, current: URL, rawUrl: string, guard: AddressGuard | null): URL {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new UpstreamError(`Upstream ${rawUrl} redirected to an invalid URL`, { url: rawUrl, reason: 'invalid_redirect' });
  }
  if (next.protocol === 'file:') {
    throw new ForbiddenSourceError(`Upstream ${rawUrl} redirected to a file:// URL`, { url: rawUrl, reason: 'redirect_to_file' });
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new UpstreamError(`Upstream ${rawUrl} redirected to a ${next.protocol} URL`, { url: rawUrl, reason: 'invalid_redirect' });
  }
  assertHostAllowed(next, guard, rawUrl);
  return next;
}
