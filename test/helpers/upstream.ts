// A local upstream for HTTP tests: routes map to handlers; counts requests and bytes sent.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Upstream {
  url(path: string): string;
  hits: Map<string, number>;
  /** Body bytes written per path. */
  bytesSent: Map<string, number>;
  close(): Promise<void>;
}

export async function startUpstream(routes: Record<string, Handler>): Promise<Upstream> {
  const hits = new Map<string, number>();
  const bytesSent = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const write = res.write.bind(res) as (chunk: Uint8Array | string, ...rest: unknown[]) => boolean;
    res.write = ((chunk: Uint8Array | string, ...rest: unknown[]) => {
      bytesSent.set(path, (bytesSent.get(path) ?? 0) + Buffer.byteLength(chunk));
      return write(chunk, ...rest);
    }) as typeof res.write;
    const handler = routes[path];
    if (handler === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits,
    bytesSent,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function serve(body: string | Uint8Array, contentType?: string, extraHeaders: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { ...(contentType === undefined ? {} : { 'Content-Type': contentType }), ...extraHeaders });
    res.end(body);
  };
}

/** Writes `raw` bytes straight to the socket and closes it: for responses no HTTP server would send. */
export function serveRaw(raw: string | Uint8Array): Handler {
  return (_req, res) => {
    res.socket?.end(raw);
  };
}
