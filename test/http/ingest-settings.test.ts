// The ingest settings reach the fetcher through the service: MAX_BODY_BYTES and the upstream
// timeouts set from the environment hold over HTTP (just under passes, just over is refused), and
// upstreams that lie about their Content-Length get the right answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, serveRaw, startUpstream, type Upstream } from '../helpers/upstream.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ingest settings over HTTP', () => {
  let upstream: Upstream;
  let service: TestService;

  before(async () => {
    upstream = await startUpstream({
      '/small': serve('x', 'text/plain'),
      '/length-2048': serve('a'.repeat(2048), 'text/plain'),
      '/length-2049': serve('a'.repeat(2049), 'text/plain'),
      '/chunked-2048': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('a'.repeat(1024));
        res.end('a'.repeat(1024));
      },
      '/chunked-2049': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('a'.repeat(1024));
        res.end('a'.repeat(1025));
      },
      '/headers-after-300': async (_req, res) => {
        await sleep(300);
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('late but in time');
      },
      '/headers-after-2500': async (_req, res) => {
        await sleep(2500);
        if (!res.destroyed) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('too late');
      },
      '/body-done-at-300': async (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('slow ');
        await sleep(300);
        res.end('body');
      },
      '/body-never-done': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('started, never finished');
      },
      '/declares-more': serveRaw('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten!!'),
      '/declares-less': serveRaw('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nasdfEXTRA BYTES NOBODY ANNOUNCED'),
    });
    service = await startTestService({ MAX_BODY_BYTES: '2048', UPSTREAM_HEADERS_TIMEOUT_MS: '1000', UPSTREAM_BODY_TIMEOUT_MS: '1200' });
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const length = (a: string) => service.get(`/length?${query({ a: upstream.url(a), b: upstream.url('/small') })}`);

  for (const framing of ['length', 'chunked']) {
    it(`MAX_BODY_BYTES: a ${framing}-framed body of exactly 2048 bytes passes, 2049 is 502 UPSTREAM_TOO_LARGE`, async () => {
      const atLimit = await length(`/${framing}-2048`);
      assert.equal(atLimit.status, 200);
      assert.equal((await json(atLimit)).diff, 1 - 2048);
      const over = await length(`/${framing}-2049`);
      assert.equal(over.status, 502);
      const body = await json(over);
      assert.equal(body.type, 'UPSTREAM_TOO_LARGE');
      assert.equal(body.max_size, 2048);
    });
  }

  it('UPSTREAM_HEADERS_TIMEOUT_MS: headers in time pass, late headers are 504 UPSTREAM_TIMEOUT (headers)', async () => {
    const inTime = await length('/headers-after-300');
    assert.equal(inTime.status, 200);
    await inTime.arrayBuffer();
    const late = await length('/headers-after-2500');
    assert.equal(late.status, 504);
    const body = await json(late);
    assert.equal(body.type, 'UPSTREAM_TIMEOUT');
    assert.equal(body.phase, 'headers');
    assert.equal(body.timeout_ms, 1000);
  });

  it('UPSTREAM_BODY_TIMEOUT_MS: a body done in time passes, one never finished is 504 UPSTREAM_TIMEOUT', async () => {
    const inTime = await length('/body-done-at-300');
    assert.equal(inTime.status, 200);
    assert.equal((await json(inTime)).diff, 1 - 'slow body'.length);
    const never = await length('/body-never-done');
    assert.equal(never.status, 504);
    const body = await json(never);
    assert.equal(body.type, 'UPSTREAM_TIMEOUT');
    assert.equal(body.timeout_ms, 1200);
  });

  it('a Content-Length declaring more than is sent is 502 UPSTREAM_ERROR: closed before the declared body', async () => {
    const res = await length('/declares-more');
    assert.equal(res.status, 502);
    const body = await json(res);
    assert.equal(body.type, 'UPSTREAM_ERROR');
    assert.equal(body.reason, 'truncated_body');
    assert.match(body.error, /closed the connection before sending the declared body/);
  });

  it('a Content-Length declaring less than is sent: only the declared bytes are diffed', async () => {
    const res = await length('/declares-less');
    assert.equal(res.status, 200);
    assert.equal((await json(res)).diff, 1 - 'asdf'.length);
  });
});
