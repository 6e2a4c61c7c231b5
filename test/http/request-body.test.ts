import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { Request } from 'express';
import { capRequestBody } from '../../src/http/load-versions.ts';

test('a body sent as 1-byte HTTP chunks reaches the body readers coalesced, one piece per socket read', async () => {
  const bodyBytes = 20_000;
  let pieces = 0;
  let received = '';
  const done = new Promise<void>((resolve, reject) => {
    const server = http.createServer((req, res) => {
      const body = capRequestBody(req as Request, 1024 * 1024, new AbortController().signal, undefined, 60_000);
      body.on('data', (chunk: Buffer) => {
        pieces += 1;
        received += chunk.toString('latin1');
      });
      body.on('error', reject);
      body.on('end', () => {
        res.end('ok');
        server.close();
        resolve();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const socket = net.connect(port, '127.0.0.1', () => {
        const frames: string[] = [];
        for (let i = 0; i < bodyBytes; i++) frames.push(`1\r\n${String.fromCharCode(97 + (i % 26))}\r\n`);
        socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${frames.join('')}0\r\n\r\n`);
      });
      socket.on('error', reject);
      socket.resume();
    });
  });
  await done;
  assert.equal(received.length, bodyBytes);
  assert.equal(received.slice(0, 28), 'abcdefghijklmnopqrstuvwxyzab');
  // 20 000 chunks in ~120 KB of frames: a few socket reads. Piped, it was one piece per chunk.
  assert.ok(pieces < 500, `${pieces} pieces for ${bodyBytes} 1-byte chunks`);
});

test('a body over the cap fails with 413 and the request stops being read', async () => {
  const failure = new Promise<Error>((resolve) => {
    const server = http.createServer((req, res) => {
      const body = capRequestBody(req as Request, 1000, new AbortController().signal, undefined, 60_000);
      body.on('data', () => {});
      body.on('error', (err) => {
        res.statusCode = 413;
        res.end();
        server.close();
        resolve(err);
      });
    });
    server.listen(0, '127.0.0.1', async () => {
      const { port } = server.address() as net.AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: Buffer.alloc(1001, 1) }).catch(() => undefined);
      await answer?.arrayBuffer();
    });
  });
  const err = await failure;
  assert.match(err.message, /larger than 1000 bytes/);
});
