// Getting both versions of a diff request, identified and checked before any heavy work:
// GET fetches both URLs in parallel and sniffs each body's first bytes as they arrive, so a
// refused pair is answered (and both downloads aborted) after a few KiB; POST reads them inline.
import { Transform, type Readable } from 'node:stream';
import type { Request } from 'express';
import { bodyPrefix } from '../body.ts';
import { BadRequestError, RequestTimeoutError, TooLargeError, UndiffableContentError, isDiffguardError } from '../errors.ts';
import type { BodyReservation, FetchProgress, Fetcher, IngestLimits } from '../ingest/index.ts';
import { validateSourceUrl } from '../ingest/index.ts';
import { SNIFF_WINDOW_BYTES, identifyContent, refusalReason, undiffableContentError } from '../sniff/index.ts';
import type { AcceptedContent, ContentTypeInfo, ContentTypeOption } from '../sniff/types.ts';
import type { JobSide } from '../pool/index.ts';
import { readJsonVersions, type InlineVersion } from './json-versions.ts';
import { readMultipartVersions } from './multipart.ts';
import { stopSocketReads } from './lingering-close.ts';

export type Side = 'a' | 'b';

export interface LoadedVersion extends JobSide {
  info: ContentTypeInfo;
  /** Bytes read from the wire (compressed), for logs. */
  wireBytes: number;
  /** SHA-256 (hex) of a fetched body (the ETag is derived from it); absent for inline versions. */
  sha256?: string;
}

export interface VersionCheck {
  diffType: string;
  accepts: AcceptedContent;
  option: ContentTypeOption;
  /** Called once per refused side, for metrics. */
  onRefused?(side: Side, info: ContentTypeInfo): void;
}

/** Identifies both sides and refuses the pair if either side is unacceptable (shared by GET and POST). */
class PairGuard {
  readonly infos: { a?: ContentTypeInfo; b?: ContentTypeInfo } = {};
  readonly #check: VersionCheck;
  readonly #counted = new Set<Side>();

  constructor(check: VersionCheck) {
    this.#check = check;
  }

  async identify(side: Side, contentType: string | undefined, prefix: Uint8Array): Promise<void> {
    this.infos[side] = await identifyContent(contentType, prefix, this.#check.option);
  }

  /** Throws the 422 if an identified side is refused; the message and details name both sides. */
  refuseIfUnacceptable(): void {
    const refused = SIDES.filter((side) => {
      const info = this.infos[side];
      return info !== undefined && refusalReason(this.#check.accepts, info, this.#check.option) !== null;
    });
    if (refused.length === 0) return;
    for (const side of refused) {
      // Both GET sides may reach this with the same refused side; count each refusal once.
      if (!this.#counted.has(side)) this.#check.onRefused?.(side, this.infos[side]!);
      this.#counted.add(side);
    }
    const identified = undiffableContentError(this.#check.diffType, this.#check.accepts, this.infos, this.#check.option);
    const unidentified = SIDES.find((side) => this.infos[side] === undefined);
    if (unidentified === undefined) throw identified;
    // A GET refuses at the first bad side's first bytes, without waiting for the other download:
    // say so rather than leave that side out. (The sniff layer names only identified sides.)
    const [subject, ...rest] = identified.message.split('; ');
    throw new UndiffableContentError(
      [`${subject}, \`${unidentified}\` was not identified before the download was stopped`, ...rest].join('; '),
      { ...identified.details, [`${unidentified}_content_type`]: null },
    );
  }

  /** GET: identify one side from its first bytes and refuse at once if it is unacceptable. */
  async inspect(side: Side, contentType: string | undefined, prefix: Uint8Array): Promise<void> {
    await this.identify(side, contentType, prefix);
    this.refuseIfUnacceptable();
  }
}

const SIDES = ['a', 'b'] as const;

/** What one side's fetch got, reported as soon as it settles (for the request log). */
export interface SideFetchOutcome {
  status: number | undefined;
  bytes: number;
  wireBytes: number;
  fetchMs: number;
  /** The error type this side failed with, `stopped` when it was cut short because the other side failed. */
  error?: string;
}

export interface FetchRequest {
  urls: Record<Side, string>;
  hashes: Partial<Record<Side, string>>;
  passHeaders: Record<string, string>;
  signal: AbortSignal;
  /** Charged with both bodies as they arrive (the service-wide input budget). */
  reservation?: BodyReservation;
  onSettled?(side: Side, outcome: SideFetchOutcome): void;
}

export async function fetchVersions(fetcher: Fetcher, request: FetchRequest, check: VersionCheck): Promise<Record<Side, LoadedVersion>> {
  const guard = new PairGuard(check);
  // One side failing (refused, unreachable, too large) aborts the other download at once.
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(request.signal.reason);
  request.signal.addEventListener('abort', onClientAbort, { once: true });
  const fetchSide = async (side: Side): Promise<LoadedVersion> => {
    const started = Date.now();
    const progress: FetchProgress = { status: undefined, wireBytes: 0, bytes: 0 };
    const settled = (error?: string) =>
      request.onSettled?.(side, { status: progress.status, bytes: progress.bytes, wireBytes: progress.wireBytes, fetchMs: Date.now() - started, ...(error === undefined ? {} : { error }) });
    try {
      const hash = request.hashes[side];
      const fetched = await fetcher.fetchVersion(request.urls[side], {
        passHeaders: request.passHeaders,
        ...(hash === undefined ? {} : { expectedSha256: hash }),
        signal: controller.signal,
        prefixBytes: SNIFF_WINDOW_BYTES,
        inspectPrefix: (prefix, { contentType }) => guard.inspect(side, contentType, prefix),
        progress,
        reservation: request.reservation,
      });
      settled();
      return {
        body: fetched.body,
        ...(fetched.contentType === undefined ? {} : { contentType: fetched.contentType }),
        url: fetched.finalUrl,
        info: guard.infos[side]!,
        wireBytes: fetched.wireBytes,
        sha256: fetched.sha256,
      };
    } catch (err) {
      settled(controller.signal.aborted ? 'stopped' : isDiffguardError(err) ? err.type : 'INTERNAL');
      controller.abort(err);
      throw err;
    }
  };
  try {
    const [a, b] = await settleBoth(fetchSide('a'), fetchSide('b'));
    return { a, b };
  } finally {
    request.signal.removeEventListener('abort', onClientAbort);
  }
}

/** Like Promise.all, but when both fail, the original failure wins over the abort it caused in the other. */
async function settleBoth<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([first, second]);
  if (x.status === 'fulfilled' && y.status === 'fulfilled') return [x.value, y.value];
  const failures = [x, y].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  throw failures.find((reason) => isDiffguardError(reason)) ?? failures[0];
}

export function validateSources(params: Record<string, string>, limits: Pick<IngestLimits, 'allowFileUrls' | 'allowPrivateUpstreams'>): Record<Side, string> {
  const missing = (['a', 'b'] as const).filter((side) => !params[side]);
  if (missing.length > 0) {
    throw new BadRequestError(`Missing required parameter${missing.length > 1 ? 's' : ''}: ${missing.map((m) => `\`${m}\``).join(' and ')} (URLs of the two versions)`, {
      missing,
    });
  }
  return {
    a: validateSourceUrl(params.a!, limits, 'a').href,
    b: validateSourceUrl(params.b!, limits, 'b').href,
  };
}

export interface InlineLimits {
  /** Largest version (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Largest request body, everything read from the socket counted (MAX_POST_BODY_BYTES). */
  maxPostBytes: number;
  /** Charged with every byte read (the service-wide input budget). */
  reservation?: BodyReservation;
  /** Time the whole body may take to arrive (POST_BODY_TIMEOUT_MS): 408 after it. */
  bodyTimeoutMs?: number;
  /** Smallest average size of the body's chunks once more than BODY_CHUNKS_BEFORE_CHECK arrived (MIN_UPLOAD_CHUNK_BYTES; 0: any). */
  minAverageChunkBytes?: number;
}

/**
 * Chunks a body may send before its average chunk size is checked: a small body in tiny pieces is
 * served; a large one is not (see capRequestBody).
 */
export const BODY_CHUNKS_BEFORE_CHECK = 4096;

/**
 * POST: both versions inline, as multipart parts `a`/`b` or JSON `{a: {...}, b: {...}}`.
 * Rejects with ClientDisconnectedError (the signal's reason) if the client goes away mid-upload.
 */
export async function readInlineVersions(req: Request, limits: InlineLimits, check: VersionCheck, signal: AbortSignal): Promise<Record<Side, LoadedVersion>> {
  const { maxBodyBytes, maxPostBytes } = limits;
  const declaredLength = Number(req.headers['content-length']);
  if (Number.isFinite(declaredLength) && declaredLength > maxPostBytes) throw postBodyTooLarge(maxPostBytes);
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'multipart/form-data' && mediaType !== 'application/json') {
    throw new BadRequestError('POST a diff as multipart/form-data (parts `a` and `b`) or application/json ({"a": {...}, "b": {...}})');
  }
  const body = capRequestBody(req, limits, signal);
  const versions =
    mediaType === 'multipart/form-data'
      ? await readMultipartVersions(body, req.headers['content-type'], maxBodyBytes)
      : // Raw chunks are charged as they arrive and given back once parsed: what stays is the decoded versions.
        await readJsonVersions(body, { maxBodyBytes, reservation: limits.reservation, onChunkConsumed: (bytes) => limits.reservation?.refund(bytes) });
  const missing = SIDES.filter((side) => versions[side] === undefined);
  if (missing.length > 0) {
    throw new BadRequestError(`Missing version${missing.length > 1 ? 's' : ''} ${missing.map((m) => `\`${m}\``).join(' and ')} in the request body`, { missing });
  }
  // Both bodies are in memory: identify both before refusing, so a refusal names both.
  const guard = new PairGuard(check);
  for (const side of SIDES) await guard.identify(side, versions[side]!.contentType, bodyPrefix(versions[side]!.body, SNIFF_WINDOW_BYTES));
  guard.refuseIfUnacceptable();
  const loaded = (side: Side): LoadedVersion => ({ ...versions[side]!, info: guard.infos[side]!, wireBytes: versions[side]!.body.byteLength });
  return { a: loaded('a'), b: loaded('b') };
}

function postBodyTooLarge(maxPostBytes: number): TooLargeError {
  return new TooLargeError(`The request body is larger than ${maxPostBytes} bytes (MAX_POST_BODY_BYTES)`, { limit: 'post_body', max_size: maxPostBytes });
}

/** The 400 for a body sent in tiny chunks; the error handler closes such a connection without reading on. */
function bodyChunksTooSmall(minAverageChunkBytes: number, chunks: number, bytes: number): BadRequestError {
  return new BadRequestError(
    `The request body arrives in chunks of ${Math.floor(bytes / chunks)} bytes on average (${chunks} chunks); send it in chunks of at least ${minAverageChunkBytes} bytes on average (MIN_UPLOAD_CHUNK_BYTES), or with a Content-Length`,
    { limit: 'body_chunks', min_average_chunk_bytes: minAverageChunkBytes },
  );
}

/**
 * The request body as it comes off the socket, every byte counted (part headers, boundaries,
 * fields, padding): past the cap it fails with 413. On any failure the request is unpiped and the
 * rest of its body discarded; the error handler answers and lingers or closes the connection.
 *
 * Chunks are counted too. Node's HTTP parser costs the main process ~2 µs per body chunk, whatever
 * its size, so 16 MB sent as 1-byte chunks is ~30 s of the control plane's CPU (measured: /healthz
 * waited 0.4 s behind four such uploads). A body whose average chunk is under
 * `minAverageChunkBytes` once it has sent more than BODY_CHUNKS_BEFORE_CHECK chunks is refused
 * (400, `limit: body_chunks`). No common client sends chunks that small (curl, undici and requests
 * send what the application writes, kilobytes at a time).
 */
function discardChunk(): void {}

function capRequestBody(req: Request, limits: InlineLimits, signal: AbortSignal): Readable {
  const { maxPostBytes, reservation, bodyTimeoutMs: timeoutMs, minAverageChunkBytes = 0 } = limits;
  let total = 0;
  let chunks = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.byteLength;
      chunks += 1;
      if (total > maxPostBytes) {
        callback(postBodyTooLarge(maxPostBytes));
        return;
      }
      if (chunks > BODY_CHUNKS_BEFORE_CHECK && total < chunks * minAverageChunkBytes) {
        // Stop the socket's reads now: the parser would otherwise go on through every chunk sent.
        stopSocketReads(req.socket);
        callback(bodyChunksTooSmall(minAverageChunkBytes, chunks, total));
        return;
      }
      try {
        reservation?.charge(chunk.byteLength);
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback(null, chunk);
    },
    // On any end, the rest of the body is discarded as it comes: Node's parser goes on handing out
    // what it has read whatever the request's stream does, and a paused request would buffer each
    // chunk (with a nextTick of its own: ~0.36 s of the main process in a profile of four 1-byte-chunk
    // uploads after their refusal). The error handler then lingers or closes.
    destroy(err, callback) {
      req.unpipe(counted);
      req.on('data', discardChunk);
      req.resume();
      callback(err);
    },
  });
  const onAbort = () => counted.destroy(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  // Slowloris: headers and a byte, then nothing. The body has its own short deadline, whatever the
  // server's request timeout; no pool place is taken while it arrives.
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          counted.destroy(new RequestTimeoutError(`The request body did not arrive within ${timeoutMs} ms (POST_BODY_TIMEOUT_MS)`, { timeout_ms: timeoutMs, received_bytes: total }));
        }, timeoutMs);
  req.once('end', () => clearTimeout(timer));
  counted.once('close', () => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  });
  req.pipe(counted);
  return counted;
}
