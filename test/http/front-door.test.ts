// The front door (issue 13): hostile JSON bodies are refused at their first bad chunk, idle uploads
// hold no pool place, one client cannot take every place, answers are capped and a client that
// stops reading is cut off with its memory given back, and a refused upload still gets its answer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request as undiciRequest } from 'undici';
import { ClientLimits, clientAddressKey } from '../../src/http/client-limits.ts';
import { BODY_CHUNKS_BEFORE_CHECK } from '../../src/http/load-versions.ts';
import { OverloadedError } from '../../src/errors.ts';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

const MiB = 1024 * 1024;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
  }
}

interface StreamedPost {
  status: number;
  body: any;
  /** Body bytes handed to the socket when the answer's headers arrived. */
  writtenWhenAnswered: number;
  total: number;
}

/**
 * POSTs `total` bytes made by `chunkAt(offset)` (64 KiB pieces, waiting for the socket to drain),
 * stopping once the answer arrives: shows whether the server answered before reading it all.
 */
function postStreamed(service: TestService, path: string, contentType: string, total: number, chunkAt: (offset: number, size: number) => Buffer): Promise<StreamedPost> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = httpRequest(`${service.base}${path}`, { method: 'POST', agent: false, headers: { 'Content-Type': contentType, 'Content-Length': String(total) } });
    req.on('response', (res) => {
      answered = true;
      const writtenWhenAnswered = written;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()), writtenWhenAnswered, total }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    void (async () => {
      while (written < total && !answered && !req.destroyed) {
        const size = Math.min(64 * 1024, total - written);
        const ok = req.write(chunkAt(written, size));
        written += size;
        if (!ok) await Promise.race([once(req, 'drain'), once(req, 'close'), new Promise((resolve) => req.once('response', resolve))]);
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

/** Polls /healthz until stopped; counts answers and failures (no timing asserted here: see `npm run hostile`). */
function pollHealth(service: TestService): { stop(): Promise<{ ok: number; failed: number }> } {
  let running = true;
  let ok = 0;
  let failed = 0;
  const loop = (async () => {
    while (running) {
      const res = await service.get('/healthz').catch(() => undefined);
      if (res?.status === 200) {
        ok += 1;
        await res.arrayBuffer();
      } else failed += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ok, failed };
    },
  };
}

/** A raw connection that sends a POST's headers and `sent` body bytes of `declared`, then nothing. */
async function idlePost(service: TestService, path: string, declared = 100_000, sent = 1): Promise<Socket & { received: () => string }> {
  const socket = connect(Number(new URL(service.base).port), '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.write(`POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${'{'.repeat(sent)}`);
  return Object.assign(socket, { received: () => received });
}

/**
 * POSTs `body` with Transfer-Encoding: chunked, `chunkBytes` per HTTP chunk (512 chunks per write,
 * waiting for the socket to drain), until it is all sent or an answer or close arrives.
 */
async function chunkedPost(service: TestService, path: string, contentType: string, body: Buffer, chunkBytes: number): Promise<{ status: number; text: string; sentBytes: number; closed: boolean }> {
  const socket = connect(Number(new URL(service.base).port), '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  const answered = () => /\r\n\r\n[\s\S]*\}/.test(text) || closed;
  socket.write(`POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`);
  let sent = 0;
  while (sent < body.length && !answered()) {
    const frames: Buffer[] = [];
    for (let i = 0; i < 512 && sent < body.length; i += 1) {
      const piece = body.subarray(sent, sent + chunkBytes);
      frames.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
      sent += piece.length;
    }
    // (Not events.once: it rejects on the EPIPE a refused upload meets.)
    if (!socket.write(Buffer.concat(frames))) await new Promise((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
  }
  if (!answered() && !socket.destroyed) socket.write('0\r\n\r\n');
  await waitFor(answered, 'an answer or a close');
  // The body of the answer, then (for a refused upload) the server's close.
  await waitFor(() => closed || /^HTTP\/1\.1 200 /.test(text), 'the connection closed after a refusal');
  socket.destroy();
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, sentBytes: sent, closed };
}

const normalJson = JSON.stringify({ a: { text: '<p>Deleted</p>', content_type: 'text/html' }, b: { text: '<p>Added</p>', content_type: 'text/html' } });
const postNormal = (service: TestService) => service.get('/html_text_dmp', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: normalJson });

describe('hostile JSON bodies', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(() => service.close());

  const prefix = Buffer.from('{"a": {"text": "x"}, "b": {"text": "y"}, "x": ');
  const cases = [
    { name: '20 MB nested 10⁷ deep', limit: 'json_depth', fill: (offset: number) => (offset < 10_000_000 ? 0x5b : 0x5d) },
    { name: '20 MB of millions of small values', limit: 'json_values', fill: (offset: number) => (offset === 0 ? 0x5b : offset % 2 === 1 ? 0x31 : 0x2c) },
  ];
  for (const { name, limit, fill } of cases) {
    it(`refuses ${name} with 400 at its first chunk past the limit, without reading the rest, while /healthz answers`, async () => {
      const total = prefix.length + 20_000_000;
      const health = pollHealth(service);
      const answer = await postStreamed(service, '/length', 'application/json', total, (offset, size) => {
        const chunk = Buffer.alloc(size);
        for (let i = 0; i < size; i += 1) {
          const at = offset + i;
          chunk[i] = at < prefix.length ? prefix[at]! : fill(at - prefix.length);
        }
        return chunk;
      });
      const polls = await health.stop();
      assert.equal(answer.status, 400);
      assert.equal(answer.body.type, 'BAD_REQUEST');
      assert.equal(answer.body.limit, limit);
      assert.ok(answer.writtenWhenAnswered < answer.total / 2, `answered after ${answer.writtenWhenAnswered} of ${answer.total} bytes`);
      assert.equal(polls.failed, 0);
      assert.ok(polls.ok >= 1);
      await waitFor(() => service.bodyBudget.heldBytes === 0 && service.bodyBudget.openReservations === 0, 'the request gives back what it held');
      assert.equal((await postNormal(service)).status, 200);
    });
  }
});

describe('admission of uploads', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream({
      '/page.before': serve('<p>Deleted</p><p>Unchanged</p>', 'text/html'),
      '/page.after': serve('<p>Added</p><p>Unchanged</p>', 'text/html'),
    });
  });
  after(() => upstream.close());
  const getNormal = (service: TestService) => service.get(`/html_text_dmp?${query({ a: upstream.url('/page.before'), b: upstream.url('/page.after') })}`);

  it('64 idle POSTs hold no pool place: normal diffs, GET and POST, still go through and /readyz stays ready', async () => {
    // Four pool places in all: before, the 64 uploads each took one and everything else got 503.
    const service = await startTestService({ MAX_IN_FLIGHT_REQUESTS: '4', MAX_IN_FLIGHT_PER_CLIENT: '100', POST_BODY_TIMEOUT_MS: '60000' });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 64; i += 1) idle.push(await idlePost(service, '/length'));
      await waitFor(() => service.bodyBudget.openReservations === 64, 'the 64 uploads are being read');
      assert.equal(service.pool.admitted, 0);
      assert.equal((await service.get('/readyz')).status, 200);
      const viaGet = await getNormal(service);
      assert.equal(viaGet.status, 200, JSON.stringify(await viaGet.clone().json()));
      const viaPost = await postNormal(service);
      assert.equal(viaPost.status, 200, JSON.stringify(await viaPost.clone().json()));
    } finally {
      for (const socket of idle) socket.destroy();
      await service.close();
    }
  });

  it('an upload that stalls after its headers and one byte gets 408 within POST_BODY_TIMEOUT_MS, and gives back what it held', async () => {
    const service = await startTestService({ POST_BODY_TIMEOUT_MS: '300' });
    try {
      const socket = await idlePost(service, '/length');
      await waitFor(() => socket.received().includes('\r\n\r\n'), 'the 408 answer');
      assert.match(socket.received(), /^HTTP\/1\.1 408 /);
      assert.match(socket.received(), /"type":"REQUEST_TIMEOUT"/);
      await waitFor(() => service.bodyBudget.openReservations === 0, 'the reservation is closed');
      // The client sends nothing more: the lingering close gives up and closes the connection.
      await waitFor(() => socket.destroyed || socket.readableEnded, 'the connection is closed');
      socket.destroy();
    } finally {
      await service.close();
    }
  });

  it('a body sent in tiny chunks is refused (400, limit body_chunks) once it has sent more than 4096, and the connection closed without reading on', async () => {
    const service = await startTestService({ MIN_UPLOAD_CHUNK_BYTES: '64' });
    try {
      // A valid JSON diff padded with spaces to the exact size: 4096 chunks of 1 byte
      // (BODY_CHUNKS_BEFORE_CHECK, the figure the README and MIN_UPLOAD_CHUNK_BYTES's text give) are
      // served, one more is refused.
      assert.equal(BODY_CHUNKS_BEFORE_CHECK, 4096, 'the README and the setting\'s description say 4096');
      const padded = (size: number) => Buffer.from(normalJson.slice(0, -1) + ' '.repeat(size - normalJson.length) + '}');
      const served = await chunkedPost(service, '/html_text_dmp', 'application/json', padded(BODY_CHUNKS_BEFORE_CHECK), 1);
      assert.equal(served.status, 200, served.text);
      const refused = await chunkedPost(service, '/html_text_dmp', 'application/json', padded(BODY_CHUNKS_BEFORE_CHECK + 1), 1);
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.text, /"limit":"body_chunks"/);
      assert.match(refused.text, /"min_average_chunk_bytes":64/);
      assert.match(refused.text, /connection: close/i);
      // A large upload in 1-byte chunks: refused after the first reads, not parsed to its end.
      const large = await chunkedPost(service, '/length', 'application/json', padded(4 * MiB), 1);
      assert.equal(large.status, 400, large.text);
      assert.ok(large.closed, 'the service closed the connection');
      assert.ok(large.sentBytes < 2 * MiB, `sent ${large.sentBytes} bytes before the refusal`);
      // The same body in ordinary chunks is served, and /healthz answered throughout.
      assert.equal((await chunkedPost(service, '/html_text_dmp', 'application/json', padded(300_000), 16 * 1024)).status, 200);
      await waitFor(() => service.bodyBudget.openReservations === 0, 'the reservations are closed');
    } finally {
      await service.close();
    }
  });

  it('MIN_UPLOAD_CHUNK_BYTES=0 serves a body in 1-byte chunks', async () => {
    const service = await startTestService({ MIN_UPLOAD_CHUNK_BYTES: '0' });
    try {
      const body = Buffer.from(normalJson.slice(0, -1) + ' '.repeat(20_000) + '}');
      const served = await chunkedPost(service, '/html_text_dmp', 'application/json', body, 1);
      assert.equal(served.status, 200, served.text);
    } finally {
      await service.close();
    }
  });

  it('one client may have only MAX_IN_FLIGHT_PER_CLIENT diffs in flight: 503 with scope client and Retry-After', async () => {
    const service = await startTestService({ MAX_IN_FLIGHT_PER_CLIENT: '2', POST_BODY_TIMEOUT_MS: '60000' });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 2; i += 1) idle.push(await idlePost(service, '/length'));
      await waitFor(() => service.bodyBudget.openReservations === 2, 'the two uploads are being read');
      const refused = await getNormal(service);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '5');
      const body = await json(refused);
      assert.equal(body.type, 'OVERLOADED');
      assert.equal(body.scope, 'client');
      assert.equal(body.max_in_flight_per_client, 2);
      assert.equal((await service.get('/healthz')).status, 200, 'health checks are not diffs');
      for (const socket of idle) socket.destroy();
      await waitFor(() => service.bodyBudget.openReservations === 0, 'the uploads are gone');
      assert.equal((await getNormal(service)).status, 200);
    } finally {
      for (const socket of idle) socket.destroy();
      await service.close();
    }
  });

  it('one client may have only MAX_CONNECTIONS_PER_CLIENT connections: a request on one more gets 503 and the connection is closed', async () => {
    const service = await startTestService({ MAX_CONNECTIONS_PER_CLIENT: '3' });
    const sockets: Socket[] = [];
    const ask = async (socket: Socket): Promise<string> => {
      let text = '';
      const onData = (chunk: Buffer) => (text += chunk.toString('latin1'));
      socket.on('data', onData);
      socket.write('GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n');
      await waitFor(() => /\r\n\r\n[\s\S]*\}/.test(text), 'an answer');
      socket.removeListener('data', onData);
      return text;
    };
    try {
      for (let i = 0; i < 4; i += 1) {
        const socket = connect(Number(new URL(service.base).port), '127.0.0.1');
        socket.on('error', () => {});
        await once(socket, 'connect');
        sockets.push(socket);
      }
      for (const socket of sockets.slice(0, 3)) assert.match(await ask(socket), /^HTTP\/1\.1 200 /);
      const refused = await ask(sockets[3]!);
      assert.match(refused, /^HTTP\/1\.1 503 /);
      assert.match(refused, /connection: close/i);
      assert.match(refused, /"scope":"client"/);
      // The three counted connections keep working; closing one makes room.
      assert.match(await ask(sockets[0]!), /^HTTP\/1\.1 200 /);
      const fresh = connect(Number(new URL(service.base).port), '127.0.0.1');
      fresh.on('error', () => {});
      sockets.push(fresh);
      await once(fresh, 'connect');
      // The refused connection is closed by the server, which counts it out.
      await waitFor(() => sockets[3]!.readableEnded || sockets[3]!.destroyed, 'the refused connection is closed');
      // (A closed connection is counted out when the server sees it close; allow it that moment.)
      sockets[1]!.destroy();
      await new Promise((resolve) => setImmediate(resolve));
      let answer = await ask(fresh);
      for (let attempt = 0; attempt < 20 && /^HTTP\/1\.1 503 /.test(answer); attempt += 1) {
        // A refused connection stays refused: ask on a new one.
        fresh.destroy();
        const retry = connect(Number(new URL(service.base).port), '127.0.0.1');
        retry.on('error', () => {});
        sockets.push(retry);
        await once(retry, 'connect');
        answer = await ask(retry);
      }
      assert.match(answer, /^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of sockets) socket.destroy();
      await service.close();
    }
  });
});

describe('ClientLimits', () => {
  const fakeRequest = (remoteAddress: string) => {
    const socket = Object.assign(new (class extends (Object as any) {})(), { remoteAddress, once() {} });
    return { socket } as any;
  };

  it('counts each client separately, and gives places back once', () => {
    const limits = new ClientLimits({ maxConnections: 10, maxInFlight: 2, retryAfterSeconds: 3 });
    const a1 = limits.admit(fakeRequest('192.0.2.1'));
    limits.admit(fakeRequest('192.0.2.1'));
    assert.throws(() => limits.admit(fakeRequest('192.0.2.1')), (err: unknown) => err instanceof OverloadedError && err.details.scope === 'client' && err.details.retry_after_seconds === 3);
    limits.admit(fakeRequest('192.0.2.2'));
    assert.equal(limits.inFlightOf('192.0.2.2'), 1, 'another client is not affected');
    a1();
    a1();
    assert.equal(limits.inFlightOf('192.0.2.1'), 1, 'release is idempotent');
    limits.admit(fakeRequest('::ffff:192.0.2.1'));
    assert.equal(limits.inFlightOf('192.0.2.1'), 2, 'an IPv4-mapped address is the same client');
  });

  it('takes an IPv6 client as its /64', () => {
    const key = (address: string) => clientAddressKey(fakeRequest(address));
    assert.equal(key('2001:db8:1:2::5'), '2001:db8:1:2::/64');
    assert.equal(key('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(key('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(key('::1'), '0:0:0:0::/64');
    assert.equal(key('203.0.113.9'), '203.0.113.9');
  });
});

describe('answers', () => {
  it('refuses an answer over MAX_ANSWER_BYTES with 413, limit answer', async () => {
    const service = await startTestService({ MAX_ANSWER_BYTES: '4096' });
    try {
      const post = (text: string) => service.get('/test_echo', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ a: { text }, b: { text: 'b' } }) });
      assert.equal((await post('x'.repeat(1000))).status, 200);
      const refused = await post('x'.repeat(5000));
      assert.equal(refused.status, 413);
      const body = await json(refused);
      assert.equal(body.type, 'TOO_LARGE');
      assert.equal(body.limit, 'answer');
      assert.equal(body.max_size, 4096);
      await waitFor(() => service.bodyBudget.heldBytes === 0, 'nothing held after');
    } finally {
      await service.close();
    }
  });

  it('disconnects a client that stops reading its answer within ANSWER_WRITE_TIMEOUT_MS, and gives back the answer it held', async () => {
    const service = await startTestService({ ANSWER_WRITE_TIMEOUT_MS: '1000' });
    try {
      // test_echo answers with version a: 4 MiB of `<`, escaped as \u003c, is a 24 MiB answer, far
      // more than the loopback socket buffers take.
      const body = JSON.stringify({ a: { text: '<'.repeat(4 * MiB) }, b: { text: 'b' } });
      const socket = connect(Number(new URL(service.base).port), '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      let received = 0;
      let headers = '';
      let reading = false;
      socket.on('data', (chunk: Buffer) => {
        if (headers === '') headers = chunk.toString('latin1').split('\r\n\r\n')[0]!;
        received += chunk.length;
        // Reads the first piece, then stops reading until told to.
        if (!reading) socket.pause();
      });
      socket.write(`POST /test_echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      socket.write(body);
      await waitFor(() => service.bodyBudget.heldBytes > 20 * MiB, 'the answer is being written and charged');
      // The client reads nothing more: within the timeout it is cut off and the answer let go.
      await waitFor(() => service.bodyBudget.heldBytes === 0 && service.bodyBudget.openReservations === 0, 'the answer is given back');
      assert.match(headers, /^HTTP\/1\.1 200 /);
      const declared = Number(/content-length: (\d+)/i.exec(headers)?.[1]);
      assert.ok(declared > 24 * MiB);
      reading = true;
      socket.resume();
      await Promise.race([once(socket, 'close'), once(socket, 'end')]);
      assert.ok(received < declared, `received ${received} of ${declared}: the answer was cut off`);
      socket.destroy();
      assert.equal((await service.get('/healthz')).status, 200);
    } finally {
      await service.close();
    }
  });
});

describe('a refused upload is still answered', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(() => service.close());
  const thirtyMB = Buffer.alloc(30_000_000, 0x61);

  it('undici request sending 30 MB over MAX_POST_BODY_BYTES gets the 413, not ECONNRESET', async () => {
    const res = await undiciRequest(`${service.base}/length`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: thirtyMB });
    assert.equal(res.statusCode, 413);
    // The connection closes after the lingering: a keep-alive client must not send its next request on it.
    assert.equal(res.headers.connection, 'close');
    const body = (await res.body.json()) as any;
    assert.equal(body.limit, 'post_body');
  });

  it('fetch sending 30 MB, chunked without a length, gets the 413 once the cap is passed, not a reset', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 30; i += 1) controller.enqueue(thirtyMB.subarray(i * 1_000_000, (i + 1) * 1_000_000));
        controller.close();
      },
    });
    const res = await fetch(`${service.base}/length`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as any).limit, 'post_body');
  });

  it('undici request sending a 30 MB JSON body refused at its first chunk (400) gets the 400', async () => {
    const body = Buffer.concat([Buffer.from('{"x": '), Buffer.alloc(20_000_000, 0x5b)]);
    const res = await undiciRequest(`${service.base}/length`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.statusCode, 400);
    assert.equal(((await res.body.json()) as any).limit, 'json_depth');
  });

  const hasCurl = (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, 'curl')));
  it('curl sending 30 MB gets the 413', { skip: hasCurl ? false : 'curl is not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diffguard-curl-'));
    try {
      const file = join(dir, 'body.json');
      writeFileSync(file, thirtyMB);
      const output = await new Promise<string>((resolve, reject) => {
        execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Content-Type: application/json', '--data-binary', `@${file}`, `${service.base}/length`], (err, stdout, stderr) => {
          if (err) reject(new Error(`curl failed: ${stderr || err.message}`));
          else resolve(stdout);
        });
      });
      assert.equal(output, '413');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('large pages while fetching', () => {
  it('a heavy GET past large jobs\' share is refused with 503 while its bodies arrive, not after downloading them', async () => {
    // 1 worker + 2 queued = 3 places: heavy jobs may hold 2. Upstream bodies of 1 MiB, of which the
    // first 128 KiB arrive at once and the rest only when the test lets them go.
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const sent: number[] = [];
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(MiB) });
      const head = Buffer.alloc(128 * 1024, 'a');
      head.write('<p>');
      res.write(head);
      const index = sent.push(head.length) - 1;
      void gate.then(() => {
        if (res.destroyed) return;
        sent[index]! += MiB - head.length;
        res.end(Buffer.alloc(MiB - head.length, 'b'));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const service = await startTestService({ WORKERS: '1', MAX_QUEUED_JOBS: '2', HEAVY_JOB_BYTES: String(128 * 1024), MAX_IN_FLIGHT_PER_CLIENT: '100' });
    try {
      const ask = (i: number) => service.get(`/html_source_dmp?${query({ a: `${upstream}/a${i}`, b: `${upstream}/b${i}` })}`);
      const first = [ask(1), ask(2)];
      // Both have their first 128 KiB on each side: both are heavy and hold the two places.
      await waitFor(() => sent.length === 4, 'the first two requests are fetching');
      // (Without the early refusal it would wait for its bodies, held back: bound the wait.)
      const bound = new AbortController();
      const refused = await Promise.race([ask(3), delay(30_000, undefined, { signal: bound.signal }).catch(() => undefined)]);
      bound.abort();
      assert.ok(refused !== undefined, 'the third request was not answered while its bodies were held back');
      assert.equal(refused.status, 503);
      const body = await json(refused);
      assert.match(body.error, /large jobs hold their share/);
      assert.ok(sent.length <= 6 && sent.slice(4).every((bytes) => bytes < MiB), 'the refused request did not download its bodies');
      letGo();
      for (const answer of await Promise.all(first)) assert.equal(answer.status, 200, JSON.stringify(await answer.clone().json()));
      // The places are given back: a heavy request goes through again.
      assert.equal((await ask(4)).status, 200);
    } finally {
      letGo();
      server.closeAllConnections();
      server.close();
      await service.close();
    }
  });
});
