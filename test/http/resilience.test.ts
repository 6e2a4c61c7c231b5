// The service keeps answering while jobs are killed, sheds load with 503, and drains on shutdown.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

/** Polls /healthz every 50 ms until stopped; returns the slowest answer in ms. */
function pollHealth(service: TestService): { stop(): Promise<{ max: number; count: number; failures: number }> } {
  let running = true;
  let max = 0;
  let count = 0;
  let failures = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const res = await service.get('/healthz').catch(() => undefined);
      if (res?.status === 200) await res.arrayBuffer();
      else failures += 1;
      max = Math.max(max, performance.now() - started);
      count += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { max, count, failures };
    },
  };
}

describe('resilience', () => {
  let upstream: Upstream;
  let service: TestService;

  before(async () => {
    upstream = await startUpstream({
      '/text': serve('hello', 'text/plain'),
      '/sleep-300': serve('300', 'text/plain'),
      '/sleep-1000': serve('1000', 'text/plain'),
      '/page.before': serve('<p>Deleted</p><p>Unchanged</p>', 'text/html'),
      '/page.after': serve('<p>Added</p><p>Unchanged</p>', 'text/html'),
    });
    service = await startTestService();
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const hostile = (type: string, a = '/text') => service.get(`/${type}?${query({ a: upstream.url(a), b: upstream.url('/text') })}`);
  const normal = () => service.get(`/html_text_dmp?${query({ a: upstream.url('/page.before'), b: upstream.url('/page.after') })}`);

  for (const [type, limit] of [
    ['test_spin', 'cpu'],
    ['test_big_array', 'memory'],
    ['test_buffers', 'memory'],
  ] as const) {
    it(`answers ${type} with 422 LIMIT_EXCEEDED (${limit}) while /healthz keeps answering, then serves normal diffs`, async () => {
      const health = pollHealth(service);
      const res = await hostile(type);
      const stats = await health.stop();
      assert.equal(res.status, 422);
      const body = await json(res);
      assert.equal(body.type, 'LIMIT_EXCEEDED');
      assert.equal(body.limit, limit);
      assert.ok(stats.count >= 2, 'health was polled during the job');
      assert.equal(stats.failures, 0);
      // A generous bound: the precise latency target lives in `npm run hostile`.
      assert.ok(stats.max < 1000, `slowest /healthz took ${stats.max} ms`);
      const next = await normal();
      assert.equal(next.status, 200);
      assert.equal((await json(next)).change_count, 2);
    });
  }

  it('sheds load beyond the queue with 503 OVERLOADED and Retry-After, and readiness fails meanwhile', async () => {
    // One worker, two queue slots: the fourth concurrent job is refused at once.
    const inFlight = [hostile('test_sleep', '/sleep-1000'), hostile('test_sleep', '/sleep-300'), hostile('test_sleep', '/sleep-300')];
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ready = await service.get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.headers.get('retry-after'), '5');
    const refused = await hostile('test_echo');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal((await json(refused)).type, 'OVERLOADED');
    const results = await Promise.all(inFlight);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
    assert.equal((await service.get('/readyz')).status, 200);
  });

  it('takes a place in the pool before fetching: an overloaded service does not touch upstreams', async () => {
    const slow = await startUpstream({
      '/slow': async (_req, res) => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('slow');
      },
      '/untouched': serve('never fetched', 'text/plain'),
    });
    try {
      const fetching = [1, 2, 3].map(() => service.get(`/length?${query({ a: slow.url('/slow'), b: slow.url('/slow') })}`));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const refused = await service.get(`/length?${query({ a: slow.url('/untouched'), b: slow.url('/untouched') })}`);
      assert.equal(refused.status, 503);
      assert.equal(slow.hits.get('/untouched'), undefined);
      assert.deepEqual((await Promise.all(fetching)).map((r) => r.status), [200, 200, 200]);
    } finally {
      await slow.close();
    }
  });

  it('answers a worker crash with 500 INTERNAL without internals, and recovers', async () => {
    const res = await hostile('test_exit');
    assert.equal(res.status, 500);
    const body = await json(res);
    assert.equal(body.type, 'INTERNAL');
    assert.equal(body.stack, undefined);
    assert.equal(body.worker_output, undefined);
    assert.equal((await normal()).status, 200);
  });
});

describe('graceful shutdown', () => {
  it('answers every accepted request, fails readiness, and refuses new diffs while draining', async () => {
    const upstream = await startUpstream({ '/sleep-400': serve('400', 'text/plain'), '/text': serve('x', 'text/plain') });
    const service = await startTestService({ SHUTDOWN_DELAY_MS: '300' });
    try {
      const url = `/test_sleep?${query({ a: upstream.url('/sleep-400'), b: upstream.url('/text') })}`;
      const inFlight = [service.get(url), service.get(url), service.get(url)];
      await new Promise((resolve) => setTimeout(resolve, 150));
      const shutdown = service.shutdown();
      assert.equal(service.state.shuttingDown, true);
      // During SHUTDOWN_DELAY_MS the listener is open but the pod is draining.
      assert.equal((await service.get('/readyz')).status, 503);
      const late = await service.get(url);
      assert.equal(late.status, 503);
      assert.equal((await json(late)).type, 'OVERLOADED');
      const results = await Promise.all(inFlight);
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
      for (const res of results) assert.equal((await json(res)).diff, 'woke');
      await shutdown;
      await assert.rejects(service.get('/healthz'), 'the listener is closed after the drain');
    } finally {
      await upstream.close();
    }
  });

  it('exits 0 on SIGTERM after finishing an in-flight request', async (t) => {
    // A slow upstream keeps the request in flight when the signal arrives.
    const upstream = await startUpstream({
      '/slow': async (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('slow ');
        await new Promise((resolve) => setTimeout(resolve, 600));
        res.end('body');
      },
      '/text': serve('x', 'text/plain'),
    });
    t.after(() => upstream.close());
    const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ALLOW_PRIVATE_UPSTREAMS: 'true', WORKERS: '1', MEMORY_LIMIT_MIB: '4096', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"port":(\d+)[^\n]*diffguard listening/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', () => reject(new Error(`service exited early: ${output}`)));
    });
    const request = fetch(`http://127.0.0.1:${port}/length?${query({ a: upstream.url('/slow'), b: upstream.url('/text') })}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGTERM');
    const res = await request;
    assert.equal(res.status, 200);
    assert.equal((await json(res)).diff, 1 - 'slow body'.length);
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.match(output, /shutdown complete/);
  });
});
