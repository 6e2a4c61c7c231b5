// The one log line per request: per-side upstream status, bytes and fetch time, on success and on
// failure; a client that goes away is a 499 (in the log and in the metrics), never an internal error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { captureLogs, json, query, startTestService, type CapturedLogs, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms; the test's own timeout bounds the wait. */
async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(20);
}

describe('request log and metrics', () => {
  let upstream: Upstream;
  let service: TestService;
  let logs: CapturedLogs;

  before(async () => {
    upstream = await startUpstream({
      '/a.txt': serve('a'.repeat(1000), 'text/plain'),
      '/b.txt': serve('b'.repeat(1500), 'text/plain'),
      '/gone-later': async (_req, res) => {
        await sleep(300);
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not here');
      },
      // 500 bytes at once, then nothing: cut by the whole-fetch deadline.
      '/stalls': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('s'.repeat(500));
      },
      '/hangs': () => {},
    });
    logs = captureLogs();
    service = await startTestService({ UPSTREAM_BODY_TIMEOUT_MS: '800' }, { logger: logs.logger });
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const diff = (params: Record<string, string>, init?: RequestInit) => service.get(`/length?${query(params)}`, init);
  /** The request line on /length with this status (each test below ends with a different one). */
  const lineOf = (status: number) => logs.waitFor((line) => line.path === '/length' && line.status === status);

  it('a successful diff logs each side\'s status, bytes and fetch time, and the job time', async () => {
    const res = await diff({ a: upstream.url('/a.txt'), b: upstream.url('/b.txt') });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const line = await lineOf(200);
    assert.equal(line.msg, 'request');
    assert.equal(line.a_status, 200);
    assert.equal(line.b_status, 200);
    assert.equal(line.a_bytes, 1000);
    assert.equal(line.b_bytes, 1500);
    assert.equal(line.a_wire_bytes, 1000);
    for (const field of ['a_fetch_ms', 'b_fetch_ms', 'fetch_ms', 'job_ms']) assert.equal(typeof line[field], 'number', field);
    assert.equal(line.a_error, undefined);
  });

  it('a 502 line still has both sides: the failed one with its upstream status and error, the other with its sizes', async () => {
    const res = await diff({ a: upstream.url('/gone-later'), b: upstream.url('/b.txt') });
    assert.equal(res.status, 502);
    await res.arrayBuffer();
    const line = await lineOf(502);
    assert.equal(line.error_type, 'UPSTREAM_ERROR');
    assert.equal(line.a_status, 404);
    assert.equal(line.a_error, 'UPSTREAM_ERROR');
    assert.equal(typeof line.a_fetch_ms, 'number');
    assert.ok(line.a_fetch_ms >= 250, `a_fetch_ms ${line.a_fetch_ms}`);
    assert.equal(line.b_status, 200);
    assert.equal(line.b_bytes, 1500);
    assert.equal(typeof line.fetch_ms, 'number');
  });

  it('a 504 line says how far the timed-out side got', async () => {
    const res = await diff({ a: upstream.url('/stalls'), b: upstream.url('/a.txt') });
    assert.equal(res.status, 504);
    assert.equal((await json(res)).type, 'UPSTREAM_TIMEOUT');
    const line = await lineOf(504);
    assert.equal(line.a_status, 200);
    assert.equal(line.a_wire_bytes, 500);
    assert.equal(line.a_error, 'UPSTREAM_TIMEOUT');
    assert.ok(line.a_fetch_ms >= 700, `a_fetch_ms ${line.a_fetch_ms}`);
    assert.equal(line.b_bytes, 1000);
  });

  it('a client leaving mid-fetch is a 499 in the log and the metrics, not an internal error', async () => {
    const controller = new AbortController();
    const pending = diff({ a: upstream.url('/hangs'), b: upstream.url('/a.txt') }, { signal: controller.signal }).catch(() => undefined);
    // Leave once b is in (its 1000 bytes are held) while a still hangs.
    await waitUntil(async () => /^diffguard_input_bytes 1000$/m.test(await (await service.get('/metrics')).text()));
    controller.abort();
    await pending;
    const line = await lineOf(499);
    assert.equal(line.msg, 'request aborted by client');
    assert.equal(line.b_bytes, 1000);
    assert.equal(line.a_error, 'stopped');
    await sleep(50);
    assert.deepEqual(logs.lines.filter((l) => l.level >= 50), [], 'no error logged');
    const metrics = await (await service.get('/metrics')).text();
    assert.match(metrics, /diffguard_requests_total\{diff_type="length",status="499"\} 1/);
    assert.doesNotMatch(metrics, /diffguard_requests_total\{diff_type="length",status="200"\} 2/, 'the aborted request is not counted as a 200');
  });

  it('a client leaving mid-job is a 499 too, and its place is given back', async () => {
    const controller = new AbortController();
    const body = JSON.stringify({ a: { text: '3000' }, b: { text: 'x' } });
    const pending = service.get('/test_sleep', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, signal: controller.signal }).catch(() => undefined);
    await waitUntil(() => service.pool.active > 0);
    controller.abort();
    await pending;
    const line = await logs.waitFor((l) => l.path === '/test_sleep');
    assert.equal(line.status, 499);
    await sleep(50);
    assert.deepEqual(logs.lines.filter((l) => l.level >= 50), [], 'no error logged');
    await waitUntil(() => service.pool.admitted === 0);
  });
});
