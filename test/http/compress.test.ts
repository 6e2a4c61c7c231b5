// Compressed answers: gzip when asked, the same JSON, Vary, small answers as they are, and a client
// that stops reading a compressed answer is still cut off by the write timeout.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { COMPRESS_MIN_BYTES } from '../../src/http/compress.ts';
import { query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

const MiB = 1024 * 1024;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
  }
}

/** A GET whose body is read raw (node:http does not decompress). */
async function rawGet(url: string, headers: Record<string, string>): Promise<{ res: IncomingMessage; body: Buffer }> {
  const req = httpRequest(url, { headers });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { res, body: Buffer.concat(chunks) };
}

describe('compressed answers', () => {
  let upstream: Upstream;
  let service: TestService;
  const page = (words: string) => `<!doctype html><html><body>${Array.from({ length: 200 }, (_, i) => `<p>paragraph ${i} ${words}</p>`).join('\n')}</body></html>`;

  before(async () => {
    upstream = await startUpstream({
      '/a': serve(page('one two three'), 'text/html; charset=utf-8'),
      '/b': serve(page('one four three'), 'text/html; charset=utf-8'),
    });
    service = await startTestService();
  });
  after(async () => {
    await service?.close();
    await upstream?.close();
  });

  it('gzips an answer when asked: it decodes to the same JSON, and says Vary: Accept-Encoding', async () => {
    const url = `${service.base}/html_token?${query({ a: upstream.url('/a'), b: upstream.url('/b') })}`;
    const plain = await rawGet(url, {});
    const gzipped = await rawGet(url, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(plain.res.statusCode, 200);
    assert.equal(gzipped.res.statusCode, 200);
    assert.equal(plain.res.headers['content-encoding'], undefined);
    assert.equal(gzipped.res.headers['content-encoding'], 'gzip');
    for (const { res } of [plain, gzipped]) assert.match(String(res.headers.vary), /Accept-Encoding/i);
    assert.ok(plain.body.length >= COMPRESS_MIN_BYTES);
    assert.ok(gzipped.body.length < plain.body.length / 2, `${gzipped.body.length} gzipped of ${plain.body.length}`);
    assert.equal(gunzipSync(gzipped.body).toString('utf8'), plain.body.toString('utf8'));
    assert.equal(gzipped.res.headers['content-type'], 'application/json; charset=utf-8');
  });

  it('sends an answer as it is when gzip is refused or the answer is under the threshold', async () => {
    const refused = await rawGet(`${service.base}/html_token?${query({ a: upstream.url('/a'), b: upstream.url('/b') })}`, { 'Accept-Encoding': 'gzip;q=0, identity' });
    assert.equal(refused.res.headers['content-encoding'], undefined);
    JSON.parse(refused.body.toString('utf8'));
    const small = await rawGet(`${service.base}/length?${query({ a: upstream.url('/a'), b: upstream.url('/b') })}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(small.res.statusCode, 200);
    assert.ok(small.body.length < COMPRESS_MIN_BYTES);
    assert.equal(small.res.headers['content-encoding'], undefined);
    assert.match(String(small.res.headers.vary), /Accept-Encoding/i);
    assert.equal(Number(small.res.headers['content-length']), small.body.length);
    assert.equal(JSON.parse(small.body.toString('utf8')).diff, 200);
  });
});

describe('a client that stops reading a compressed answer', () => {
  it('is cut off by ANSWER_WRITE_TIMEOUT_MS, and the answer is given back', async () => {
    const service = await startTestService({ ANSWER_WRITE_TIMEOUT_MS: '1000' });
    try {
      // test_echo answers with version a: 9.3 MiB of random base64 (under MAX_BODY_BYTES) gzips to
      // ~7 MiB, far more than the loopback socket buffers take.
      const body = JSON.stringify({ a: { text: randomBytes(7 * MiB).toString('base64') }, b: { text: 'b' } });
      const socket = connect(Number(new URL(service.base).port), '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      let received = 0;
      let head = '';
      let reading = false;
      socket.on('data', (chunk: Buffer) => {
        if (head === '') head = chunk.toString('latin1').split('\r\n\r\n')[0]!;
        received += chunk.length;
        if (!reading) socket.pause();
      });
      socket.write(`POST /test_echo HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      socket.write(body);
      await waitFor(() => service.bodyBudget.heldBytes > 9 * MiB, 'the answer is being written and charged');
      await waitFor(() => service.bodyBudget.heldBytes === 0 && service.bodyBudget.openReservations === 0, 'the answer is given back');
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.match(head, /content-encoding: gzip/i);
      reading = true;
      socket.resume();
      await Promise.race([once(socket, 'close'), once(socket, 'end')]);
      // The whole gzipped answer is ~7 MiB; the client got what the socket buffers held when it was cut off.
      assert.ok(received < 6 * MiB, `received ${received}: the answer was cut off`);
      socket.destroy();
      assert.equal((await service.get('/healthz')).status, 200);
    } finally {
      await service.close();
    }
  });
});
