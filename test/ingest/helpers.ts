// Shared fixtures of the ingest tests: local upstream servers on port 0 and test limits.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { createFetcher, type Fetcher, type IngestLimits } from '../../src/ingest/index.ts';

export interface TestServer {
  server: Server;
  port: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  close(): Promise<void>;
}

export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  host = '127.0.0.1',
): Promise<TestServer> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    origin: `http://${host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function testLimits(overrides: Partial<IngestLimits> = {}): IngestLimits {
  return {
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 2_000,
    bodyTimeoutMs: 5_000,
    maxRedirects: 5,
    maxBodyBytes: 1024 * 1024,
    maxDecompressionRatio: 100,
    allowPrivateUpstreams: true,
    allowFileUrls: false,
    verifyTls: true,
    userAgent: 'diffguard/0.0.0-test',
    ...overrides,
  };
}

export async function withFetcher<T>(limits: IngestLimits, run: (fetcher: Fetcher) => Promise<T>): Promise<T> {
  const fetcher = createFetcher(limits);
  try {
    return await run(fetcher);
  } finally {
    await fetcher.close();
  }
}

/**
 * Writes `total` bytes in `chunkSize` pieces, respecting backpressure, yielding to the event loop
 * between pieces so the client's reaction is visible; returns how many bytes were handed to the socket.
 * `pauseMs` > 0 waits that long between pieces, as a real link would: without it, loopback's
 * multi-MiB socket buffers absorb whatever the server writes while the client is busy (a loaded CI
 * machine), and a count of bytes written measures the kernel's buffering, not the client.
 */
export async function writePaced(res: ServerResponse, total: number, chunkSize = 16 * 1024, fill = 0x61, pauseMs = 0): Promise<number> {
  const chunk = Buffer.alloc(chunkSize, fill);
  let written = 0;
  while (written < total && !res.destroyed && !res.writableEnded) {
    const piece = total - written >= chunkSize ? chunk : chunk.subarray(0, total - written);
    const ok = res.write(piece);
    written += piece.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
    await new Promise((resolve) => (pauseMs > 0 ? setTimeout(resolve, pauseMs) : setImmediate(resolve)));
  }
  if (!res.destroyed) res.end();
  return written;
}

/**
 * A TCP server that answers each request with the raw bytes given for its path (empty for an
 * unknown path), then closes: for responses no HTTP server would write.
 */
export async function startRawServer(responses: Readonly<Record<string, string | Buffer>>): Promise<{ origin: string; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', (data) => {
      const path = /^GET (\S+)/.exec(data.toString('latin1'))?.[1] ?? '';
      socket.end(responses[path] ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
