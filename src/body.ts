// A version's body as the chunks it arrived in. The main process never joins a body into one
// buffer: joining is a copy of the whole body in one event-loop turn (with fresh pages to fault in,
// ~10 ms for 20 MB), a second copy held for that span, and, for every ordinary page, more external
// memory for V8 to account (the main process's mark-compacts are started by it: ~530 KB of
// ArrayBuffers per html_source_dmp request before this, a third of it the join). The sniffer needs
// only the first bytes, the hashes are computed per chunk, and the worker receives the chunks as
// one frame payload (src/pool/frame.ts), assembled there, where a long turn stalls no one else.

export interface Body {
  readonly chunks: readonly Uint8Array[];
  /** Total bytes of `chunks`. */
  readonly byteLength: number;
}

/** A body of one buffer (POSTed versions, tests). */
export function bodyOf(bytes: Uint8Array): Body {
  return { chunks: bytes.byteLength === 0 ? [] : [bytes], byteLength: bytes.byteLength };
}

/** The first `maxBytes` bytes: a view when the first chunk holds them, else a copy of just those. */
export function bodyPrefix(body: Body, maxBytes: number): Uint8Array {
  const length = Math.min(maxBytes, body.byteLength);
  const first = body.chunks[0];
  if (first !== undefined && first.byteLength >= length) return first.subarray(0, length);
  const prefix = new Uint8Array(length);
  let offset = 0;
  for (const chunk of body.chunks) {
    if (offset === length) break;
    const take = Math.min(chunk.byteLength, length - offset);
    prefix.set(chunk.subarray(0, take), offset);
    offset += take;
  }
  return prefix;
}

/** The whole body in one buffer: a copy unless it is one chunk. For tests and tools, not the request path. */
export function joinBody(body: Body): Uint8Array {
  if (body.chunks.length === 1) return body.chunks[0]!;
  return Buffer.concat(body.chunks, body.byteLength);
}

/** Below this, a chunk is copied into a block rather than kept (see BodyCollector). */
export const KEPT_CHUNK_MIN_BYTES = 4 * 1024;
/** Small chunks are copied into blocks of this size. */
export const BODY_BLOCK_BYTES = 64 * 1024;

/**
 * Gathers a body's chunks without joining them. A chunk is kept as it is (no copy) when it is at
 * least KEPT_CHUNK_MIN_BYTES and at least half of the memory it is a view of, so what is held is
 * never more than about twice what is counted. Any other chunk is copied into 64 KiB blocks: keeping
 * small chunks would cost an object per chunk, each holding on to the socket read (or zlib output
 * buffer) it is a view of; a client sending a multipart part as 1-byte HTTP chunks once made the
 * main process hold ~250 MiB per MiB sent.
 */
export class BodyCollector {
  readonly #chunks: Uint8Array[] = [];
  #block: Buffer | undefined;
  #used = 0;
  byteLength = 0;

  add(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.byteLength += chunk.byteLength;
    if (chunk.byteLength >= KEPT_CHUNK_MIN_BYTES && chunk.byteLength * 2 >= chunk.buffer.byteLength) {
      this.#closeBlock();
      this.#chunks.push(chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.#block === undefined || this.#used === this.#block.byteLength) {
        this.#closeBlock();
        this.#block = Buffer.allocUnsafe(BODY_BLOCK_BYTES);
      }
      const take = Math.min(chunk.byteLength - offset, this.#block.byteLength - this.#used);
      this.#block.set(chunk.subarray(offset, offset + take), this.#used);
      this.#used += take;
      offset += take;
    }
  }

  /** The body gathered so far; the collector starts empty again. */
  take(): Body {
    this.#closeBlock();
    this.#block = undefined;
    const body: Body = { chunks: this.#chunks.splice(0), byteLength: this.byteLength };
    this.byteLength = 0;
    return body;
  }

  /**
   * Ends the current block: what it holds becomes a chunk. A block less than half full gives a copy
   * of what it holds and is kept for the next small chunks, so small chunks between kept ones
   * (1 byte, then 4 KiB, then 1 byte…) never hold a mostly empty 64 KiB block each.
   */
  #closeBlock(): void {
    const block = this.#block;
    if (block === undefined || this.#used === 0) return;
    if (this.#used * 2 >= block.byteLength) {
      this.#chunks.push(block.subarray(0, this.#used));
      this.#block = undefined;
    } else {
      this.#chunks.push(Buffer.from(block.subarray(0, this.#used)));
    }
    this.#used = 0;
  }
}
