// A loopback HTTP server for in-memory files (the corpus and the synthetic pages).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

export interface StaticServer {
  baseUrl: string;
  files: Map<string, StaticFile>;
  /** Body bytes handed to the socket so far. */
  bytesSent(): number;
  close(): Promise<void>;
}

export async function startStaticServer(files: Map<string, StaticFile> = new Map()): Promise<StaticServer> {
  let sent = 0;
  const server: Server = createServer((req, res) => {
    const file = files.get((req.url ?? '/').split('?')[0]!);
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.body.byteLength });
    res.end(file.body, () => {
      sent += file.body.byteLength;
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    files,
    bytesSent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
