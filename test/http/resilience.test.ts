// The service keeps answering while jobs are killed, sheds load with 503, and drains on shutdown.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMetrics } from '../../src/http/metrics.ts';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

/**
 * Polls /healthz every 50 ms until stopped; returns the slowest answer in ms, and the longest
 * event-loop stall seen meanwhile (the service runs in this process, and a poller that is itself
 * blocked does not see a stall that began between two polls).
 */
function pollHealth(service: TestService): { stop(): Promise<{ max: number; count: number; failures: number; stallMs: number }> } {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
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
      loopDelay.disable();
      return { max, count, failures, stallMs: loopDelay.max / 1e6 };
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
      '/sleep-5000': serve('5000', 'text/plain'),
      '/sleep-60000': serve('60000', 'text/plain'),
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

  const hostileCases: [type: string, status: number, errorType: string, limit?: string][] = [
    ['test_spin', 422, 'LIMIT_EXCEEDED', 'cpu'],
    ['test_regex', 422, 'LIMIT_EXCEEDED', 'cpu'],
    ['test_small_objects', 422, 'LIMIT_EXCEEDED', 'memory'],
    ['test_big_array', 422, 'LIMIT_EXCEEDED', 'memory'],
    ['test_buffers', 422, 'LIMIT_EXCEEDED', 'memory'],
    ['test_alloc_unsafe', 422, 'LIMIT_EXCEEDED', 'memory'],
    ['test_throw', 500, 'INTERNAL'],
    ['test_abort', 500, 'INTERNAL'],
    ['test_exit', 500, 'INTERNAL'],
  ];
  for (const [type, status, errorType, limit] of hostileCases) {
    it(`answers ${type} with ${status} ${errorType}${limit === undefined ? '' : ` (${limit})`} while /healthz keeps answering, then serves normal diffs`, async () => {
      const health = pollHealth(service);
      const res = await hostile(type);
      const stats = await health.stop();
      assert.equal(res.status, status);
      const body = await json(res);
      assert.equal(body.type, errorType);
      assert.equal(body.limit, limit);
      // No internals leak, even from a crashed worker.
      assert.equal(body.stack, undefined);
      assert.equal(body.worker_output, undefined);
      // Quick failures (throw, abort) end within one polling interval.
      assert.ok(stats.count >= (status === 422 ? 2 : 1), 'health was polled during the job');
      assert.equal(stats.failures, 0);
      // Generous bounds (a machine at load 20 took 1.9 s): they catch a loop blocked for the job's
      // whole run; the precise latency targets live in `npm run hostile`.
      assert.ok(stats.max < 5000, `slowest /healthz took ${stats.max} ms`);
      assert.ok(stats.stallMs < 5000, `the event loop stalled for ${stats.stallMs} ms`);
      const next = await normal();
      assert.equal(next.status, 200);
      assert.equal((await json(next)).change_count, 2);
    });
  }

  it('kills the job of a client that went away, and recovers', async () => {
    const abortedKills = async () => Number(/^diffguard_worker_restarts_total\{reason="aborted"\} (\d+)$/m.exec(await (await service.get('/metrics')).text())?.[1] ?? 0);
    const before = await abortedKills();
    const client = new AbortController();
    const request = service.get(`/test_sleep?${query({ a: upstream.url('/sleep-60000'), b: upstream.url('/text') })}`, { signal: client.signal });
    request.catch(() => {});
    await waitFor(() => service.pool.active === 1);
    // `active` counts from taking a worker; let the job reach it (acknowledged within milliseconds).
    // A job stopped before that never ran, and no worker needs killing.
    await new Promise((resolve) => setTimeout(resolve, 250));
    client.abort();
    await waitFor(() => service.pool.active === 0 && service.pool.admitted === 0);
    // The job's worker was killed (not left running a 60 s job) and replaced.
    await waitForAsync(async () => (await abortedKills()) === before + 1);
    assert.equal((await normal()).status, 200);
  });

  it('exports the admitted requests, including one still fetching its inputs', async () => {
    const slow = await startUpstream({
      '/slow': async (_req, res) => {
        await new Promise((resolve) => setTimeout(resolve, 800));
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('slow');
      },
    });
    try {
      const fetching = service.get(`/length?${query({ a: slow.url('/slow'), b: slow.url('/slow') })}`);
      await waitFor(() => service.pool.admitted === 1);
      const metrics = await (await service.get('/metrics')).text();
      assert.match(metrics, /^diffguard_admitted_requests 1$/m);
      assert.match(metrics, /^diffguard_queue_depth 0$/m);
      assert.match(metrics, /^diffguard_active_jobs 0$/m);
      assert.equal((await fetching).status, 200);
    } finally {
      await slow.close();
    }
  });

  it('sheds load beyond the queue with 503 OVERLOADED and Retry-After, and readiness fails meanwhile', async () => {
    // One worker, two queue slots: the fourth concurrent job is refused at once.
    // The running job (sent first, seen running) sleeps 5 s: time enough, on a loaded machine, to see the queue full.
    const running = hostile('test_sleep', '/sleep-5000');
    await waitFor(() => service.pool.active === 1);
    const inFlight = [running, hostile('test_sleep', '/sleep-300'), hostile('test_sleep', '/sleep-300')];
    await waitFor(() => service.pool.queued === 2);
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

  it('keeps serving while requests wait on a slow upstream: fetching takes no queue slot', async () => {
    // One worker and two queue slots. Three requests held by a slow archive used to take every place
    // (a place per request, from before fetching), and everything else got 503.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = await startUpstream({
      '/slow': async (_req, res) => {
        await held;
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('slow');
      },
    });
    try {
      const waiting = [1, 2, 3].map(() => service.get(`/length?${query({ a: slow.url('/slow'), b: slow.url('/slow') })}`));
      await waitFor(() => service.pool.admitted === 3);
      assert.equal((await service.get('/readyz')).status, 200);
      const res = await normal();
      assert.equal(res.status, 200, JSON.stringify(await res.clone().json()));
      release();
      // Released together, their three jobs fit the worker and the two queue slots.
      assert.deepEqual((await Promise.all(waiting)).map((r) => r.status), [200, 200, 200]);
    } finally {
      release();
      await slow.close();
    }
  });

  it('refuses at once, without touching upstreams, while the queue is full', async () => {
    const untouched = await startUpstream({ '/untouched': serve('never fetched', 'text/plain') });
    try {
      const busy = [hostile('test_sleep', '/sleep-1000'), hostile('test_sleep', '/sleep-300'), hostile('test_sleep', '/sleep-300')];
      await waitFor(() => service.pool.queued === 2);
      const refused = await service.get(`/length?${query({ a: untouched.url('/untouched'), b: untouched.url('/untouched') })}`);
      assert.equal(refused.status, 503);
      assert.match((await json(refused)).error, /queue full/);
      assert.equal(untouched.hits.get('/untouched'), undefined);
      assert.deepEqual((await Promise.all(busy)).map((r) => r.status), [200, 200, 200]);
    } finally {
      await untouched.close();
    }
  });
});

describe('admission by requests in flight and by body bytes', () => {
  const KiB = 1024;
  let release = () => {};
  let held = Promise.resolve();
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream({
      '/slow': async (_req, res) => {
        await held;
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('slow');
      },
      // 60 KiB at once, then the rest only when released: the request holds 60 KiB meanwhile.
      '/half': async (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('x'.repeat(60 * KiB));
        await held;
        res.end('x');
      },
      '/text': serve('hello', 'text/plain'),
      '/untouched': serve('never fetched', 'text/plain'),
    });
  });
  after(() => upstream.close());
  const hold = () => {
    held = new Promise<void>((resolve) => (release = resolve));
  };

  it('refuses beyond MAX_IN_FLIGHT_REQUESTS without touching upstreams', async () => {
    const service = await startTestService({ MAX_IN_FLIGHT_REQUESTS: '2' });
    hold();
    try {
      const waiting = [1, 2].map(() => service.get(`/length?${query({ a: upstream.url('/slow'), b: upstream.url('/slow') })}`));
      await waitFor(() => service.pool.admitted === 2);
      const refused = await service.get(`/length?${query({ a: upstream.url('/untouched'), b: upstream.url('/untouched') })}`);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '5');
      assert.match((await json(refused)).error, /too many requests in flight/);
      assert.equal(upstream.hits.get('/untouched'), undefined);
      release();
      assert.deepEqual((await Promise.all(waiting)).map((r) => r.status), [200, 200]);
    } finally {
      release();
      await service.close();
    }
  });

  it('answers 503 past the body budget, by bytes held, and gives the bytes back when requests end', async () => {
    // Budget: (1 worker + 1 queue slot) × 2 versions × 64 KiB = 256 KiB. Two requests holding
    // 2 × 60 KiB each fit; a third one's bytes do not.
    const service = await startTestService({ MAX_QUEUED_JOBS: '1', MAX_BODY_BYTES: String(64 * KiB) });
    hold();
    try {
      const url = `/length?${query({ a: upstream.url('/half'), b: upstream.url('/half') })}`;
      const holding = [service.get(url), service.get(url)];
      const held = async () => Number(/^diffguard_input_bytes (\d+)$/m.exec(await (await service.get('/metrics')).text())?.[1]);
      await waitForAsync(async () => (await held()) === 4 * 60 * KiB);
      const refused = await service.get(url);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '5');
      const body = await json(refused);
      assert.equal(body.type, 'OVERLOADED');
      assert.equal(body.scope, 'input_budget');
      assert.equal(body.input_budget_bytes, 256 * KiB);
      release();
      assert.deepEqual((await Promise.all(holding)).map((r) => r.status), [200, 200]);
      assert.equal(await held(), 0);
      assert.equal((await service.get(`/length?${query({ a: upstream.url('/text'), b: upstream.url('/text') })}`)).status, 200);
    } finally {
      release();
      await service.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('answers every accepted request, fails readiness, and refuses new diffs while draining', async () => {
    const upstream = await startUpstream({ '/sleep-400': serve('400', 'text/plain'), '/text': serve('x', 'text/plain') });
    // Long enough for the two requests below to reach the still-open listener on a loaded machine.
    const service = await startTestService({ SHUTDOWN_DELAY_MS: '3000' });
    try {
      const url = `/test_sleep?${query({ a: upstream.url('/sleep-400'), b: upstream.url('/text') })}`;
      const inFlight = [service.get(url), service.get(url), service.get(url)];
      await waitFor(() => service.pool.admitted === 3);
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

  it('answers the requests left when the drain timeout runs out with 503 and Retry-After, not a dropped socket', async () => {
    const upstream = await startUpstream({ '/sleep-10000': serve('10000', 'text/plain'), '/text': serve('x', 'text/plain') });
    const service = await startTestService({ DRAIN_TIMEOUT_MS: '1000' });
    try {
      const url = `/test_sleep?${query({ a: upstream.url('/sleep-10000'), b: upstream.url('/text') })}`;
      const running = service.get(url);
      await waitFor(() => service.pool.active === 1);
      const queued = service.get(url);
      await waitFor(() => service.pool.queued === 1);
      await service.shutdown();
      // Both jobs outlast the drain; another replica may well run them, so: 503 + Retry-After.
      for (const res of await Promise.all([running, queued])) {
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '5');
        assert.equal((await json(res)).type, 'OVERLOADED');
      }
      await assert.rejects(service.get('/healthz'), 'the listener is closed');
    } finally {
      await upstream.close();
    }
  });

  it('exits 0 on SIGTERM after finishing a request still fetching its inputs', async (t) => {
    // A slow upstream keeps the request in flight when the signal arrives. The production entry point.
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
    const service = await spawnService(t, {}, fileURLToPath(new URL('../../src/main.ts', import.meta.url)));
    const request = service.get(`/length?${query({ a: upstream.url('/slow'), b: upstream.url('/text') })}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    service.child.kill('SIGTERM');
    const res = await request;
    assert.equal(res.status, 200);
    assert.equal((await json(res)).diff, 1 - 'slow body'.length);
    assert.equal(await service.exitCode, 0);
    assert.match(service.output(), /shutdown complete/);
  });

  it('exits 0 on SIGTERM after finishing a running job', async (t) => {
    const upstream = await startUpstream({ '/sleep-1000': serve('1000', 'text/plain'), '/text': serve('x', 'text/plain') });
    t.after(() => upstream.close());
    const service = await spawnService(t);
    const request = service.get(`/test_sleep?${query({ a: upstream.url('/sleep-1000'), b: upstream.url('/text') })}`);
    await waitForAsync(async () => (await json(await service.get('/readyz'))).active_jobs === 1);
    service.child.kill('SIGTERM');
    const res = await request;
    assert.equal(res.status, 200);
    assert.equal((await json(res)).diff, 'woke');
    assert.equal(await service.exitCode, 0);
  });

  it('exits 1 at once on a second signal, and leaves no worker running, busy ones included', async (t) => {
    const upstream = await startUpstream({ '/text': serve('x', 'text/plain') });
    t.after(() => upstream.close());
    const service = await spawnService(t, { JOB_CPU_LIMIT_MS: '60000', JOB_DEADLINE_MS: '60000', DRAIN_TIMEOUT_MS: '30000' });
    const diff = (type: string) => service.get(`/${type}?${query({ a: upstream.url('/text'), b: upstream.url('/text') })}`);
    // A worker spinning in a loop never notices that its parent has gone.
    diff('test_spin').catch(() => {});
    await waitForAsync(async () => (await json(await service.get('/readyz'))).active_jobs === 1);
    // Every worker of the service (the busy one, the idle ones and the spare), as the kernel lists them.
    const workerPids = readFileSync(`/proc/${service.child.pid}/task/${service.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.ok(workerPids.length >= 2, `workers: ${workerPids.join(', ')}`);
    t.after(() => {
      for (const pid of workerPids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    });
    service.child.kill('SIGTERM');
    await waitFor(() => service.output().includes('shutting down'));
    service.child.kill('SIGTERM');
    assert.equal(await service.exitCode, 1);
    await waitFor(() => workerPids.every((pid) => !isRunning(pid)));
  });
});

describe('metrics', () => {
  it('do not count workers stopped at shutdown as restarts', async () => {
    const metrics = createMetrics();
    metrics.poolObserver.workerExited?.({ reason: 'cpu', pid: 1, output: '', replaced: true });
    metrics.poolObserver.workerExited?.({ reason: 'shutdown', pid: 2, output: '', replaced: false });
    const text = await metrics.registry.metrics();
    assert.match(text, /^diffguard_worker_restarts_total\{reason="cpu"\} 1$/m);
    assert.doesNotMatch(text, /reason="shutdown"/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  await waitForAsync(async () => condition(), timeoutMs);
}

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether a process exists and is not a zombie (an exited child waiting to be reaped). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

interface SpawnedService {
  child: ChildProcess;
  get(path: string): Promise<Response>;
  output(): string;
  exitCode: Promise<number | null>;
}

const hostileMain = fileURLToPath(new URL('../helpers/hostile-main.ts', import.meta.url));

/** The service as its own process (signals and exit codes are main()'s), on a free port. */
async function spawnService(t: TestContext, env: Record<string, string> = {}, entry = hostileMain): Promise<SpawnedService> {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ALLOW_PRIVATE_UPSTREAMS: 'true', WORKERS: '1', MEMORY_LIMIT_MIB: '4096', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exitCode = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*diffguard listening/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    void exitCode.then(() => reject(new Error(`service exited early: ${output}`)));
  });
  return { child, get: (path) => fetch(`http://127.0.0.1:${port}${path}`), output: () => output, exitCode };
}
