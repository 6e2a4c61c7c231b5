// Frames on the data channel between the pool and a worker (a socket pair on the worker's fd 4):
//   [u32 BE header bytes][u32 BE payload bytes][header: JSON, UTF-8][payload: raw bytes]
// The header is a small message (a job's parameters, an outcome); the payload is what is big — the
// two bodies of a job, the JSON text of a result — and travels as raw bytes, never serialised.
//
// Why a socket pair rather than structured-clone IPC, a tmpfs file or shared memory (measured on
// Node 24, 2 × 10 MiB bodies per job, on the loaded 2-core machine):
// - IPC (`serialization: 'advanced'`): 80–115 ms of main-process CPU per job, and `send()` blocks the
//   event loop 85–175 ms while it serialises the whole message;
// - a socket pair, written with back-pressure: 10–28 ms of CPU (the kernel's copies), no call
//   blocking longer than 4 ms; the bodies are written from the request's own buffers, no copy in JS;
// - a tmpfs file: 13–15 ms of CPU but a 20–25 ms blocking step, tmpfs pages charged to the container
//   while the file exists, a writable tmpfs required (read-only root filesystems have none by
//   default) and files to clean up after a crash;
// - shared memory: Node cannot share memory between processes (a SharedArrayBuffer stays in one).
// The same channel brings results back as Buffer chunks, which the HTTP layer can write to the socket
// as they are, without concatenating or parsing them.

const PREFIX_BYTES = 8;
/** Headers are small messages; a larger one means a corrupt stream. */
const MAX_HEADER_BYTES = 1024 * 1024;

/** The bytes of one frame, ready for `socket.write` (the payload buffers are not copied). */
export function encodeFrame(header: unknown, payload: readonly Uint8Array[] = []): Uint8Array[] {
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  let payloadBytes = 0;
  for (const part of payload) payloadBytes += part.byteLength;
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32BE(headerBytes.length, 0);
  prefix.writeUInt32BE(payloadBytes, 4);
  return [prefix, headerBytes, ...payload.filter((part) => part.byteLength > 0)];
}

export interface Frame {
  header: unknown;
  /** `chunks` mode: the payload as received (views of the socket's chunks, no copy). */
  chunks: Buffer[];
  /** `contiguous` mode: the payload in one buffer (one copy, made as it arrives). */
  payload: Buffer;
  payloadBytes: number;
}

/**
 * Reassembles frames from a byte stream. `chunks` keeps each payload as the chunks it arrived in
 * (no copy: for results passed on to a socket); `contiguous` copies it into one buffer allocated
 * when its header arrives (for bodies a diff needs in one piece, without holding them twice).
 */
export class FrameReader {
  readonly #mode: 'chunks' | 'contiguous';
  readonly #onFrame: (frame: Frame) => void;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #current: { header: unknown; payloadBytes: number; received: number; chunks: Buffer[]; payload: Buffer } | undefined;

  constructor(mode: 'chunks' | 'contiguous', onFrame: (frame: Frame) => void) {
    this.#mode = mode;
    this.#onFrame = onFrame;
  }

  /** Feeds bytes; throws on a corrupt stream (the channel is then unusable). */
  push(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.#current === undefined) {
        rest = this.#readHeader(rest);
        continue;
      }
      const current = this.#current;
      const take = Math.min(rest.length, current.payloadBytes - current.received);
      const part = rest.subarray(0, take);
      if (this.#mode === 'chunks') current.chunks.push(part);
      else part.copy(current.payload, current.received);
      current.received += take;
      rest = rest.subarray(take);
      if (current.received === current.payloadBytes) this.#finish();
    }
  }

  /** Buffers bytes until a whole prefix and header have arrived; returns what follows them. */
  #readHeader(chunk: Buffer): Buffer {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < PREFIX_BYTES) return Buffer.alloc(0);
    const joined = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    const headerBytes = joined.readUInt32BE(0);
    const payloadBytes = joined.readUInt32BE(4);
    if (headerBytes > MAX_HEADER_BYTES) throw new Error(`corrupt frame: a ${headerBytes}-byte header`);
    if (joined.length < PREFIX_BYTES + headerBytes) {
      this.#pending = [joined];
      return Buffer.alloc(0);
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    const header: unknown = JSON.parse(joined.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerBytes));
    this.#current = {
      header,
      payloadBytes,
      received: 0,
      chunks: [],
      payload: this.#mode === 'contiguous' ? Buffer.allocUnsafe(payloadBytes) : Buffer.alloc(0),
    };
    if (payloadBytes === 0) this.#finish();
    return joined.subarray(PREFIX_BYTES + headerBytes);
  }

  #finish(): void {
    const current = this.#current!;
    this.#current = undefined;
    this.#onFrame({ header: current.header, chunks: current.chunks, payload: current.payload, payloadBytes: current.payloadBytes });
  }
}
