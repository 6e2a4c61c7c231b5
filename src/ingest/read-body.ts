// Streams one response body into memory under the size, decoded-size and decompression-ratio
// caps, decoding Content-Encoding with node:zlib streams, and lets the caller inspect the first
// bytes before the rest is pulled.
//
// Why node:zlib streams and not undici's decompress interceptor: the interceptor is experimental
// (prints an ExperimentalWarning), applies no ratio cap, and its maxSize defaults to unlimited.
// zlib streams honour backpressure inside a single input chunk (measured: a 64 MiB-of-zeros gzip
// written in one chunk leaves only 16 KiB buffered until read), so counting decoded bytes as we
// pull them stops a bomb after at most one extra 16 KiB chunk, with memory staying flat.

import { createHash } from 'node:crypto';
import { Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { BodyCollector, bodyPrefix, type Body } from '../body.ts';
import { UpstreamError, UpstreamTooLargeError } from '../errors.ts';
import type { BodyReservation } from './body-budget.ts';

/** Below this many decoded bytes the ratio cap is not applied: tiny, very compressible pages are normal. */
export const RATIO_CHECK_FLOOR_BYTES = 1024 * 1024;
const MAX_CONTENT_CODINGS = 3;

export type ContentCoding = 'gzip' | 'deflate' | 'br';

export interface PrefixInfo {
  contentType: string | undefined;
  finalUrl: string;
  status: number;
}

export interface ReadBodyParams {
  /** The URL the caller asked for, for error details. */
  url: string;
  maxBodyBytes: number;
  maxDecompressionRatio: number;
  /** Codings in the order the server applied them (the Content-Encoding header order). */
  contentCodings: readonly ContentCoding[];
  prefixBytes: number;
  inspectPrefix: ((prefix: Uint8Array, info: PrefixInfo) => void | Promise<void>) | undefined;
  prefixInfo: PrefixInfo;
  signal: AbortSignal;
  /** Counters kept current while reading, so a failed read can still say how far it got. */
  progress?: BodyProgress | undefined;
  /** Charged each decoded chunk kept: the service-wide bound on bodies held (503 past it). */
  reservation?: BodyReservation | undefined;
}

export interface BodyProgress {
  /** Body bytes received, before content decoding. */
  wireBytes: number;
  /** Body bytes after content decoding. */
  bytes: number;
}

export interface ReadBodyResult {
  /** The decoded body, as the chunks it arrived in (see src/body.ts). */
  body: Body;
  wireBytes: number;
  sha256: string;
}

const decodeFailures = new WeakSet<object>();

/** True for an error raised by a Content-Encoding decoder: the encoded body is corrupt. */
export function isDecodeFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && decodeFailures.has(err);
}

/** Parses a Content-Encoding header; throws UpstreamError for codings we did not offer. */
export function parseContentEncoding(header: string | undefined, url: string): ContentCoding[] {
  if (header === undefined) return [];
  const codings: ContentCoding[] = [];
  for (const raw of header.split(',')) {
    const coding = raw.trim().toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    if (coding === 'gzip' || coding === 'x-gzip') codings.push('gzip');
    else if (coding === 'deflate' || coding === 'br') codings.push(coding);
    else {
      throw new UpstreamError(`Upstream ${url} used an unsupported Content-Encoding: ${coding}`, {
        url,
        reason: 'unsupported_content_encoding',
        content_encoding: coding,
      });
    }
  }
  if (codings.length > MAX_CONTENT_CODINGS) {
    throw new UpstreamError(`Upstream ${url} stacked too many Content-Encodings`, { url, reason: 'unsupported_content_encoding' });
  }
  return codings;
}

/**
 * HTTP "deflate" should be zlib-wrapped, but some servers send raw deflate; pick the decoder from the
 * first two bytes (RFC 1950 header check). Hand-written because zlib has no auto-detect for raw
 * deflate, and it keeps backpressure (undici's equivalent pushes without it).
 */
class DeflateDecoder extends Duplex {
  #inner: zlib.Inflate | zlib.InflateRaw | undefined;
  #head: Buffer = Buffer.alloc(0);

  #start(head: Buffer): zlib.Inflate | zlib.InflateRaw {
    const first = head[0] ?? 0;
    const second = head[1] ?? 0;
    const zlibWrapped = (first & 0x0f) === 8 && ((first << 8) | second) % 31 === 0;
    const inner = zlibWrapped ? zlib.createInflate() : zlib.createInflateRaw();
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    this.#inner = inner;
    return inner;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let inner = this.#inner;
    if (inner === undefined) {
      const head = Buffer.concat([this.#head, chunk]);
      if (head.length < 2) {
        this.#head = head;
        callback();
        return;
      }
      inner = this.#start(head);
      chunk = head;
    }
    inner.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#inner !== undefined) this.#inner.end();
    else if (this.#head.length > 0) this.#start(this.#head).end(this.#head); // one byte: zlib reports it as corrupt
    else this.push(null);
    callback();
  }

  /** Compressed bytes consumed by the inflater so far (zlib's own counter). */
  get bytesWritten(): number {
    return this.#inner?.bytesWritten ?? 0;
  }

  override _read(): void {
    this.#inner?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner?.destroy();
    callback(error);
  }
}

function createDecoder(coding: ContentCoding): Duplex {
  if (coding === 'gzip') return zlib.createGunzip();
  if (coding === 'br') return zlib.createBrotliDecompress();
  return new DeflateDecoder();
}

export async function readBody(source: Readable, params: ReadBodyParams): Promise<ReadBodyResult> {
  const { url, maxBodyBytes, maxDecompressionRatio, prefixBytes, inspectPrefix } = params;
  const encoded = params.contentCodings.length > 0;
  let wireBytes = 0;
  let decodedBytes = 0;
  const collected = new BodyCollector();
  /** The chunks as they came, until the first `prefixBytes` have been inspected. */
  const head: Buffer[] = [];
  const hash = createHash('sha256');
  let inspected = inspectPrefix === undefined;
  const progress = params.progress ?? { wireBytes: 0, bytes: 0 };

  const tooLarge = (reason: string): UpstreamTooLargeError =>
    new UpstreamTooLargeError(`Upstream ${url} is larger than the limit of ${maxBodyBytes} bytes (MAX_BODY_BYTES)`, { url, max_size: maxBodyBytes, reason });

  async function* countWireBytes(wire: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of wire) {
      wireBytes += chunk.length;
      progress.wireBytes = wireBytes;
      // Catches a missing or lying Content-Length: the cap holds whatever the headers said.
      if (wireBytes > maxBodyBytes) throw tooLarge('body_size');
      yield chunk;
    }
  }

  const runInspection = async (): Promise<void> => {
    inspected = true;
    const prefix = bodyPrefix({ chunks: head, byteLength: decodedBytes }, prefixBytes);
    head.length = 0;
    if (inspectPrefix === undefined) return;
    await inspectPrefix(prefix, params.prefixInfo);
  };

  // The pipeline destroys every stage with the first error, so a decoder also emits the errors of
  // the wire (undici's size cap, a reset): only the ones it raised itself mean a corrupt encoding.
  const wireFailures = new WeakSet<object>();
  source.once('error', (err) => wireFailures.add(err));
  // Decoding runs in the reverse order of application.
  const decoders = params.contentCodings.toReversed().map((coding) => {
    const decoder = createDecoder(coding);
    decoder.once('error', (err) => {
      if (!wireFailures.has(err)) decodeFailures.add(err);
    });
    return decoder;
  });
  // The ratio is measured against the compressed bytes the first decoder has actually consumed
  // (zlib's bytesWritten), not against what was pulled off the socket into stream buffers ahead of it.
  const firstDecoder = decoders[0] as (Duplex & { bytesWritten?: number }) | undefined;
  const compressedBytesConsumed = (): number => firstDecoder?.bytesWritten ?? wireBytes;

  async function collect(decoded: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of decoded) {
      decodedBytes += chunk.length;
      progress.bytes = decodedBytes;
      if (decodedBytes > maxBodyBytes) throw tooLarge(encoded ? 'decoded_size' : 'body_size');
      if (encoded && decodedBytes > RATIO_CHECK_FLOOR_BYTES && decodedBytes > maxDecompressionRatio * compressedBytesConsumed()) {
        throw new UpstreamTooLargeError(`Upstream ${url} decompresses more than ${maxDecompressionRatio}× (MAX_DECOMPRESSION_RATIO): a decompression bomb?`, {
          url,
          max_size: maxBodyBytes,
          max_ratio: maxDecompressionRatio,
          reason: 'decompression_ratio',
        });
      }
      params.reservation?.charge(chunk.length);
      collected.add(chunk);
      if (!inspected) head.push(chunk);
      hash.update(chunk);
      // Awaiting here pauses the pipeline: nothing more is pulled from the socket meanwhile.
      if (!inspected && decodedBytes >= prefixBytes) await runInspection();
    }
    if (!inspected) await runInspection();
  }

  // The typings have no overload for a variable number of stages; the runtime accepts any.
  const runPipeline = pipeline as (...stages: unknown[]) => Promise<void>;
  try {
    await runPipeline(source, countWireBytes, ...decoders, collect, { signal: params.signal });
  } catch (err) {
    // An empty body labelled gzip/br/deflate is common (and accepted by browsers): zlib calls it truncated.
    if (!(isDecodeFailure(err) && wireBytes === 0)) throw err;
    if (!inspected) await runInspection();
  }

  return { body: collected.take(), wireBytes, sha256: hash.digest('hex') };
}
