// Getting both versions of a diff request, identified and checked before any heavy work:
// GET fetches both URLs in parallel and sniffs each body's first bytes as they arrive, so a
// refused pair is answered (and both downloads aborted) after a few KiB; POST reads them inline.
import type { Request } from 'express';
import busboy from 'busboy';
import { BadRequestError, TooLargeError, isDiffguardError, type DiffguardError } from '../errors.ts';
import type { Fetcher, IngestLimits } from '../ingest/index.ts';
import { validateSourceUrl } from '../ingest/index.ts';
import { SNIFF_WINDOW_BYTES, identifyContent, refusalReason, undiffableContentError } from '../sniff/index.ts';
import type { AcceptedContent, ContentTypeInfo, ContentTypeOption } from '../sniff/types.ts';
import type { JobSide } from '../pool/index.ts';

export type Side = 'a' | 'b';

export interface LoadedVersion extends JobSide {
  info: ContentTypeInfo;
  /** Bytes read from the wire (compressed), for logs. */
  wireBytes: number;
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

  constructor(check: VersionCheck) {
    this.#check = check;
  }

  async inspect(side: Side, contentType: string | undefined, prefix: Uint8Array): Promise<void> {
    const info = await identifyContent(contentType, prefix, this.#check.option);
    this.infos[side] = info;
    if (refusalReason(this.#check.accepts, info, this.#check.option) !== null) {
      this.#check.onRefused?.(side, info);
      throw undiffableContentError(this.#check.diffType, this.#check.accepts, this.infos, this.#check.option);
    }
  }
}

export interface FetchRequest {
  urls: Record<Side, string>;
  hashes: Partial<Record<Side, string>>;
  passHeaders: Record<string, string>;
  signal: AbortSignal;
}

export async function fetchVersions(fetcher: Fetcher, request: FetchRequest, check: VersionCheck): Promise<Record<Side, LoadedVersion>> {
  const guard = new PairGuard(check);
  // One side failing (refused, unreachable, too large) aborts the other download at once.
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(request.signal.reason);
  request.signal.addEventListener('abort', onClientAbort, { once: true });
  const fetchSide = async (side: Side): Promise<LoadedVersion> => {
    try {
      const hash = request.hashes[side];
      const fetched = await fetcher.fetchVersion(request.urls[side], {
        passHeaders: request.passHeaders,
        ...(hash === undefined ? {} : { expectedSha256: hash }),
        signal: controller.signal,
        prefixBytes: SNIFF_WINDOW_BYTES,
        inspectPrefix: (prefix, { contentType }) => guard.inspect(side, contentType, prefix),
      });
      return {
        bytes: fetched.bytes,
        ...(fetched.contentType === undefined ? {} : { contentType: fetched.contentType }),
        url: fetched.finalUrl,
        info: guard.infos[side]!,
        wireBytes: fetched.wireBytes,
      };
    } catch (err) {
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

interface InlineVersion {
  bytes: Uint8Array;
  contentType?: string;
  url?: string;
}

/** POST: both versions inline, as multipart parts `a`/`b` or JSON `{a: {...}, b: {...}}`. */
export async function readInlineVersions(req: Request, maxBodyBytes: number, maxPostBytes: number, check: VersionCheck): Promise<Record<Side, LoadedVersion>> {
  const declaredLength = Number(req.headers['content-length']);
  if (Number.isFinite(declaredLength) && declaredLength > maxPostBytes) {
    throw new TooLargeError(`The request body is larger than ${maxPostBytes} bytes (MAX_POST_BODY_BYTES)`, { limit: 'post_body', max_size: maxPostBytes });
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  let versions: Partial<Record<Side, InlineVersion>>;
  if (mediaType === 'multipart/form-data') versions = await readMultipart(req, maxBodyBytes, maxPostBytes);
  else if (mediaType === 'application/json') versions = parseJsonVersions(await readBody(req, maxPostBytes), maxBodyBytes);
  else throw new BadRequestError('POST a diff as multipart/form-data (parts `a` and `b`) or application/json ({"a": {...}, "b": {...}})');
  const guard = new PairGuard(check);
  const loaded = {} as Record<Side, LoadedVersion>;
  for (const side of ['a', 'b'] as const) {
    const version = versions[side];
    if (version === undefined) throw new BadRequestError(`Missing version \`${side}\` in the request body`, { missing: [side] });
    await guard.inspect(side, version.contentType, version.bytes.subarray(0, SNIFF_WINDOW_BYTES));
    loaded[side] = { ...version, info: guard.infos[side]!, wireBytes: version.bytes.byteLength };
  }
  return loaded;
}

function tooLargeSide(side: string, maxBodyBytes: number): TooLargeError {
  return new TooLargeError(`Version \`${side}\` is larger than ${maxBodyBytes} bytes (MAX_BODY_BYTES)`, { limit: 'body', side, max_size: maxBodyBytes });
}

async function readBody(req: Request, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      req.destroy();
      throw new TooLargeError(`The request body is larger than ${maxBytes} bytes (MAX_POST_BODY_BYTES)`, { limit: 'post_body', max_size: maxBytes });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function parseJsonVersions(body: Buffer, maxBodyBytes: number): Partial<Record<Side, InlineVersion>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequestError('The request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object') throw new BadRequestError('The JSON body must be an object {"a": {...}, "b": {...}}');
  const versions: Partial<Record<Side, InlineVersion>> = {};
  for (const side of ['a', 'b'] as const) {
    const raw = (parsed as Record<string, unknown>)[side];
    if (raw === undefined) continue;
    if (raw === null || typeof raw !== 'object') throw new BadRequestError(`\`${side}\` must be an object with content_base64 or text`);
    const { content_base64: base64, text, content_type: contentType, url } = raw as Record<string, unknown>;
    let bytes: Uint8Array;
    if (typeof base64 === 'string') bytes = Buffer.from(base64, 'base64');
    else if (typeof text === 'string') bytes = Buffer.from(text, 'utf8');
    else throw new BadRequestError(`\`${side}\` needs content_base64 or text`);
    if (bytes.byteLength > maxBodyBytes) throw tooLargeSide(side, maxBodyBytes);
    if (contentType !== undefined && typeof contentType !== 'string') throw new BadRequestError(`\`${side}.content_type\` must be a string`);
    if (url !== undefined && typeof url !== 'string') throw new BadRequestError(`\`${side}.url\` must be a string`);
    versions[side] = {
      bytes,
      // Without a declared type the bytes decide (JSON `text` is UTF-8, which decoding detects).
      ...(typeof contentType === 'string' ? { contentType } : {}),
      ...(typeof url === 'string' ? { url } : {}),
    };
  }
  return versions;
}

function readMultipart(req: Request, maxBodyBytes: number, maxPostBytes: number): Promise<Partial<Record<Side, InlineVersion>>> {
  return new Promise((resolve, reject) => {
    const versions: Partial<Record<Side, InlineVersion>> = {};
    let failed: DiffguardError | undefined;
    let total = 0;
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxBodyBytes, files: 2, fields: 4, parts: 6, fieldSize: maxBodyBytes } });
    } catch {
      reject(new BadRequestError('Malformed multipart/form-data request'));
      return;
    }
    const fail = (err: DiffguardError) => {
      if (failed) return;
      failed = err;
      req.unpipe(parser);
      req.resume();
      reject(err);
    };
    const accept = (name: string, bytes: Buffer, contentType: string | undefined) => {
      if (name !== 'a' && name !== 'b') return;
      versions[name] = { bytes, ...(contentType ? { contentType } : {}) };
    };
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        total += chunk.byteLength;
        if (total > maxPostBytes) fail(new TooLargeError(`The request body is larger than ${maxPostBytes} bytes (MAX_POST_BODY_BYTES)`, { limit: 'post_body', max_size: maxPostBytes }));
        chunks.push(chunk);
      });
      stream.on('limit', () => fail(tooLargeSide(name, maxBodyBytes)));
      // busboy says application/octet-stream for a part without a type; sniffing treats that as "unknown" anyway.
      stream.on('end', () => accept(name, Buffer.concat(chunks), info.mimeType));
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(tooLargeSide(name, maxBodyBytes));
      accept(name, Buffer.from(value, 'utf8'), undefined);
    });
    parser.on('error', () => fail(new BadRequestError('Malformed multipart/form-data request')));
    parser.on('close', () => {
      if (!failed) resolve(versions);
    });
    req.pipe(parser);
  });
}
