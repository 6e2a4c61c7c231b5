// The hostile *clients* of `npm run hostile`: requests that attack the service's front door
// rather than its upstreams. Raw sockets where an HTTP client library would not misbehave as asked:
// readers that take a few bytes a second, POSTs that stop after their headers, bodies in 1-byte
// chunks. Every loop here stops by itself (a deadline), and every socket is destroyed at the end.
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const KiB = 1024;

/** The JSON POST bombs: a normal pair of versions plus an `extra` field of 20 MB. */
export function jsonBombs(): { nested: Buffer; flat: Buffer } {
  const head = '{"a":{"text":"<p>before</p>","content_type":"text/html"},"b":{"text":"<p>after</p>","content_type":"text/html"},"extra":';
  const depth = 10_000_000;
  const nested = Buffer.concat([Buffer.from(head), Buffer.alloc(depth, '['), Buffer.alloc(depth, ']'), Buffer.from('}')]);
  // 10 million one-digit values: "0,0,0,…".
  const values = 10_000_000;
  const flat = Buffer.concat([Buffer.from(`${head}[`), Buffer.alloc(values * 2 - 1, '0,'), Buffer.from(']}')]);
  return { nested, flat };
}

function parseStatus(head: string): number {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  return match ? Number(match[1]) : 0;
}

function openSocket(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress, noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

// ---- slow readers

export interface SlowReaderResult {
  /** Status of the answer's first line, 0 when none was read. */
  status: number;
  bytesRead: number;
  /** When the service closed its end of the connection (ms after the request), undefined if it never did. */
  closedByServiceMs: number | undefined;
  error: string | undefined;
}

/**
 * The service's end of one loopback connection, from /proc/net/tcp: a socket the service has closed
 * is gone or orphaned (inode 0) even while its unsent answer still waits in the kernel for a reader
 * that never reads, so the client alone could not see the hang-up for minutes.
 */
async function serviceSideOpen(servicePort: number, clientPort: number): Promise<boolean> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [local, remote, state, , , , , , , inode] = fields.slice(1) as string[];
    if (local!.endsWith(`:${hexPort(servicePort)}`) && remote!.endsWith(`:${hexPort(clientPort)}`)) {
      // 01 = ESTABLISHED; an orphan (closed by its process) has inode 0.
      return state === '01' && inode !== '0';
    }
  }
  return false;
}

/**
 * `count` clients ask for `path` (a large answer), one every `staggerMs`, then read `bytesPerSecond`
 * each. Ends when the service has closed every connection or after `maxMs`.
 * `whileWaiting` runs once every reader has its status line (the answer is being held).
 */
export async function slowReaders(options: {
  port: number;
  path: string;
  count: number;
  bytesPerSecond: number;
  staggerMs: number;
  maxMs: number;
  localAddress: string;
  whileWaiting?: () => Promise<void>;
}): Promise<SlowReaderResult[]> {
  const started = Date.now();
  const deadline = started + options.maxMs;
  const readers: Array<{ socket: Socket | undefined; sentAt: number; head: string; result: SlowReaderResult }> = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    for (let i = 0; i < options.count; i++) {
      const reader = { socket: undefined as Socket | undefined, sentAt: Date.now(), head: '', result: { status: 0, bytesRead: 0, closedByServiceMs: undefined, error: undefined } as SlowReaderResult };
      readers.push(reader);
      try {
        const socket = await openSocket(options.port, options.localAddress);
        reader.socket = socket;
        socket.on('error', (err: NodeJS.ErrnoException) => {
          reader.result.error ??= err.code ?? err.message;
        });
        socket.pause();
        reader.sentAt = Date.now();
        socket.write(`GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        // A few bytes a second, taken from what the socket has buffered: the kernel's receive window
        // closes and the service's writes back up.
        const perTick = Math.max(1, Math.round(options.bytesPerSecond / 4));
        timers.push(
          setInterval(() => {
            const chunk = socket.read(perTick) as Buffer | null;
            if (chunk === null) return;
            reader.result.bytesRead += chunk.length;
            if (reader.head.length < 64) {
              reader.head += chunk.toString('latin1');
              reader.result.status = parseStatus(reader.head);
            }
          }, 250),
        );
      } catch (err) {
        reader.result.error = (err as NodeJS.ErrnoException).code ?? String(err);
      }
      await sleep(options.staggerMs);
    }
    // Every reader has read its status line (12 bytes) or given up.
    while (Date.now() < deadline && readers.some((r) => r.result.status === 0 && r.result.error === undefined && r.socket !== undefined && !r.socket.destroyed)) {
      await sleep(250);
    }
    await options.whileWaiting?.();
    // At least one look, however long the above took; then once a second until the deadline.
    for (let first = true; first || Date.now() < deadline; first = false) {
      const open = readers.filter((r) => r.socket !== undefined && r.result.closedByServiceMs === undefined);
      if (open.length === 0) break;
      for (const reader of open) {
        const socket = reader.socket!;
        const closed = socket.destroyed || !(await serviceSideOpen(options.port, socket.localPort!));
        if (closed) reader.result.closedByServiceMs = Date.now() - reader.sentAt;
      }
      if (Date.now() < deadline) await sleep(1000);
    }
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const reader of readers) reader.socket?.destroy();
  }
  return readers.map((r) => r.result);
}

// ---- idle POSTs (slowloris)

export interface IdlePostResult {
  status: number;
  /** When the connection ended (ms after the byte was sent), undefined if still open at the deadline. */
  closedMs: number | undefined;
  error: string | undefined;
}

/** Holds `count` POSTs that announce `contentLength` bytes and send one; `whileHeld` runs meanwhile. */
export async function idlePosts(options: {
  port: number;
  path: string;
  count: number;
  contentLength: number;
  maxMs: number;
  localAddress: string;
  whileHeld?: () => Promise<void>;
}): Promise<IdlePostResult[]> {
  const deadline = Date.now() + options.maxMs;
  const sockets: Socket[] = [];
  const results: IdlePostResult[] = [];
  try {
    await Promise.all(
      Array.from({ length: options.count }, async () => {
        const result: IdlePostResult = { status: 0, closedMs: undefined, error: undefined };
        results.push(result);
        try {
          const socket = await openSocket(options.port, options.localAddress);
          sockets.push(socket);
          let head = '';
          let sentAt = Date.now();
          socket.on('data', (chunk: Buffer) => {
            if (head.length < 64) {
              head += chunk.toString('latin1');
              result.status = parseStatus(head);
            }
          });
          socket.on('error', (err: NodeJS.ErrnoException) => {
            result.error ??= err.code ?? err.message;
          });
          socket.on('close', () => {
            result.closedMs = Date.now() - sentAt;
          });
          socket.write(`POST ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${options.contentLength}\r\n\r\n{`);
          sentAt = Date.now();
        } catch (err) {
          result.error = (err as NodeJS.ErrnoException).code ?? String(err);
        }
      }),
    );
    await options.whileHeld?.();
    while (Date.now() < deadline && results.some((r) => r.closedMs === undefined && r.error === undefined)) await sleep(250);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  return results;
}

// ---- bodies in 1-byte chunks

export interface TinyChunkResult {
  status: number;
  ms: number;
  /** Body bytes sent as 1-byte HTTP chunks before switching to large ones (bounded in time). */
  tinyBytes: number;
  /** The `limit` an error answer names (e.g. `body_chunks`). */
  limit: string | undefined;
  error: string | undefined;
}

/**
 * One multipart POST of two `partBytes` versions with chunked transfer coding: the first
 * `tinyBytes` of the body as 1-byte HTTP chunks (each a separate body event in the service's
 * parser), the rest in 64 KiB chunks. The 1-byte phase stops after `tinyMaxMs` to bound the run.
 */
export async function tinyChunkPost(options: { port: number; path: string; part: Buffer; tinyBytes: number; tinyMaxMs: number; timeoutMs: number; localAddress: string }): Promise<TinyChunkResult> {
  const started = performance.now();
  const boundary = 'diffguard-hostile-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="a"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n`),
    options.part,
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="b"; filename="b.txt"\r\nContent-Type: text/plain\r\n\r\n`),
    options.part,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const result: TinyChunkResult = { status: 0, ms: 0, tinyBytes: 0, limit: undefined, error: undefined };
  let socket: Socket | undefined;
  try {
    socket = await openSocket(options.port, options.localAddress);
    const s = socket;
    let head = '';
    const answered = new Promise<void>((resolve) => {
      s.on('data', (chunk: Buffer) => {
        if (head.length < 4096) {
          head += chunk.toString('latin1');
          result.status = parseStatus(head);
          result.limit = /"limit":"([^"]+)"/.exec(head)?.[1];
        }
        // The status line and the JSON body's end (an answer's limit is read from it).
        if (result.status !== 0 && /\r\n\r\n[\s\S]*\}/.test(head)) resolve();
      });
      s.on('close', () => resolve());
      s.on('error', (err: NodeJS.ErrnoException) => {
        result.error ??= err.code ?? err.message;
        resolve();
      });
    });
    const write = async (data: Buffer | string): Promise<boolean> => {
      if (s.destroyed || result.status !== 0) return false;
      if (!s.write(data)) await Promise.race([new Promise((resolve) => s.once('drain', resolve)), answered]);
      return !s.destroyed && result.status === 0;
    };
    if (!(await write(`POST ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`))) throw new Error('closed early');
    let offset = 0;
    const tinyUntil = performance.now() + options.tinyMaxMs;
    // 1-byte chunks, 2048 of them per write (one TCP segment carries many; the parser still sees each).
    while (offset < options.tinyBytes && offset < body.length && performance.now() < tinyUntil) {
      const frames: string[] = [];
      for (let i = 0; i < 2048 && offset < options.tinyBytes; i++, offset++) frames.push(`1\r\n${String.fromCharCode(body[offset]!)}\r\n`);
      if (!(await write(Buffer.from(frames.join(''), 'latin1')))) break;
    }
    result.tinyBytes = offset;
    while (offset < body.length && result.status === 0 && !s.destroyed) {
      const piece = body.subarray(offset, offset + 64 * KiB);
      offset += piece.length;
      if (!(await write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])))) break;
    }
    if (offset >= body.length) await write('0\r\n\r\n');
    await Promise.race([answered, sleep(options.timeoutMs)]);
  } catch (err) {
    result.error ??= (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  } finally {
    socket?.destroy();
  }
  result.ms = performance.now() - started;
  return result;
}
