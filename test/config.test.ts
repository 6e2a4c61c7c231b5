import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, effectiveMaxPostBodyBytes, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('uses safe defaults when nothing is set', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8888);
    assert.equal(config.maxBodyBytes, 10 * 1024 * 1024);
    assert.equal(config.jobCpuLimitMs, 10_000);
    assert.equal(config.jobDeadlineMs, 30_000);
    assert.equal(config.workerHeapMib, 160);
    assert.equal(config.workerRssLimitMib, 256);
    assert.equal(config.allowPrivateUpstreams, false);
    assert.equal(config.allowFileUrls, false);
    assert.equal(config.verifyUpstreamTls, true);
    assert.deepEqual(config.corsAllowedOrigins, []);
    assert.ok(Object.isFrozen(config));
  });

  it('reads every setting from its environment variable', () => {
    const config = loadConfig({ PORT: '9000', ALLOW_PRIVATE_UPSTREAMS: 'true', CORS_ALLOWED_ORIGINS: 'https://a.example, https://b.example', LOG_LEVEL: 'DEBUG', DIFFER_COLOR_INSERTION: '#00ff00' });
    assert.equal(config.port, 9000);
    assert.equal(config.allowPrivateUpstreams, true);
    assert.deepEqual(config.corsAllowedOrigins, ['https://a.example', 'https://b.example']);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.insertionColor, '#00ff00');
  });

  it('reports every bad value at once', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', MAX_BODY_BYTES: '12', DEBUG: 'maybe', LOG_LEVEL: 'loud', DIFFER_COLOR_DELETION: 'red;} body{display:none' }),
      (err: ConfigError) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 5);
        for (const name of ['PORT', 'MAX_BODY_BYTES', 'DEBUG', 'LOG_LEVEL', 'DIFFER_COLOR_DELETION']) {
          assert.ok(err.problems.some((p) => p.startsWith(name)), `${name} reported`);
        }
        return true;
      },
    );
  });

  it('refuses limits that contradict each other', () => {
    assert.throws(() => loadConfig({ WORKER_HEAP_MIB: '300', WORKER_RSS_LIMIT_MIB: '256' }), /WORKER_RSS_LIMIT_MIB/);
    assert.throws(() => loadConfig({ JOB_CPU_LIMIT_MS: '20000', JOB_DEADLINE_MS: '10000' }), /JOB_DEADLINE_MS/);
  });

  it('accepts each limit at its bound and refuses it just past', () => {
    assert.equal(loadConfig({ MAX_BODY_BYTES: '1024' }).maxBodyBytes, 1024);
    assert.throws(() => loadConfig({ MAX_BODY_BYTES: '1023' }), /MAX_BODY_BYTES must be at least 1024/);
    assert.equal(loadConfig({ UPSTREAM_MAX_REDIRECTS: '20' }).upstreamMaxRedirects, 20);
    assert.throws(() => loadConfig({ UPSTREAM_MAX_REDIRECTS: '21' }), /at most 20/);
  });

  it('derives the POST body cap from the per-side limit unless set', () => {
    assert.equal(effectiveMaxPostBodyBytes({ maxPostBodyBytes: 0, maxBodyBytes: 1000 }), 2000 + 64 * 1024);
    assert.equal(effectiveMaxPostBodyBytes({ maxPostBodyBytes: 5000, maxBodyBytes: 1000 }), 5000);
  });
});
