import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError, effectiveMaxPostBodyBytes, loadConfig, resolveAnchorAliases, settings, type Config } from '../src/config.ts';

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

interface SettingCase {
  /** A value that loads, and what it loads as (at a bound where the setting has one). */
  valid: string;
  expected: unknown;
  /** Values that must be reported: out of range, not a number, not one of the choices. */
  invalid: string[];
  /** Other settings the valid value needs to pass the cross-checks. */
  context?: Record<string, string>;
}

// One row per setting: the Record type makes a new setting without a row a type error.
const settingCases: { [K in keyof Config]: SettingCase } = {
  port: { valid: '65535', expected: 65535, invalid: ['65536', '-1', 'http', '80.5'] },
  host: { valid: ' 127.0.0.1 ', expected: '127.0.0.1', invalid: ['', '   '] },
  logLevel: { valid: 'WARN', expected: 'warn', invalid: ['loud', 'verbose'] },
  debug: { valid: 'yes', expected: true, invalid: ['maybe', '2'] },
  // Any text is a (possibly empty) list of origins: there is no invalid value.
  corsAllowedOrigins: { valid: 'https://a.example,, https://b.example ', expected: ['https://a.example', 'https://b.example'], invalid: [] },
  allowFileUrls: { valid: 'on', expected: true, invalid: ['sometimes'] },
  allowPrivateUpstreams: { valid: '1', expected: true, invalid: ['ok'] },
  verifyUpstreamTls: { valid: 'false', expected: false, invalid: ['nope'] },
  upstreamConnectTimeoutMs: { valid: '1', expected: 1, invalid: ['0', '5s'] },
  upstreamHeadersTimeoutMs: { valid: '1', expected: 1, invalid: ['0', '1.5'] },
  upstreamBodyTimeoutMs: { valid: '1', expected: 1, invalid: ['0', 'ten'] },
  upstreamMaxRedirects: { valid: '0', expected: 0, invalid: ['21', '-1', 'many'] },
  maxBodyBytes: { valid: '1024', expected: 1024, invalid: ['1023', '10MB'] },
  maxDecompressionRatio: { valid: '1', expected: 1, invalid: ['0', '1e3'] },
  maxPostBodyBytes: { valid: '0', expected: 0, invalid: ['-1', '99999999999999999999'] },
  workers: { valid: '256', expected: 256, invalid: ['257', 'all'] },
  maxQueuedJobs: { valid: '0', expected: 0, invalid: ['-1', 'lots'] },
  smallJobQueuePlaces: { valid: '0', expected: 0, invalid: ['-2', 'x'] },
  jobCpuLimitMs: { valid: '50', expected: 50, invalid: ['49', ''] },
  jobDeadlineMs: { valid: '100', expected: 100, invalid: ['99', '30s'], context: { JOB_CPU_LIMIT_MS: '50' } },
  workerHeapMib: { valid: '32', expected: 32, invalid: ['31', '160MiB'] },
  workerRssLimitMib: { valid: '64', expected: 64, invalid: ['63', 'lots'], context: { WORKER_HEAP_MIB: '32' } },
  workerMaxJobs: { valid: '1', expected: 1, invalid: ['0', 'forever'] },
  workerNiceness: { valid: '19', expected: 19, invalid: ['-1', '20', 'low'] },
  heavyJobBytes: { valid: '1048576', expected: 1048576, invalid: ['1023', '2MiB'] },
  memoryLimitMib: { valid: '0', expected: 0, invalid: ['-1', '4GiB'] },
  drainTimeoutMs: { valid: '0', expected: 0, invalid: ['-1', 'soon'] },
  shutdownDelayMs: { valid: '0', expected: 0, invalid: ['-1', 'later'] },
  retryAfterSeconds: { valid: '1', expected: 1, invalid: ['0', 'never'] },
  dmpTimeoutMs: { valid: '1', expected: 1, invalid: ['0', '2.5'] },
  htmlTokenMaxTokens: { valid: '1', expected: 1, invalid: ['0', 'all'] },
  maxInFlightRequests: { valid: '0', expected: 0, invalid: ['-1', 'many'] },
  maxInFlightPerClient: { valid: '0', expected: 0, invalid: ['-1', 'some'] },
  maxConnectionsPerClient: { valid: '1', expected: 1, invalid: ['0', 'lots'] },
  postBodyTimeoutMs: { valid: '100', expected: 100, invalid: ['99', ''] },
  minUploadChunkBytes: { valid: '0', expected: 0, invalid: ['-1', '1.5'] },
  maxAnswerBytes: { valid: '1024', expected: 1024, invalid: ['1023', '1e6'] },
  answerWriteTimeoutMs: { valid: '100', expected: 100, invalid: ['99', 'soon'] },
  maxTextChars: { valid: '1', expected: 1, invalid: ['0', 'all'] },
  maxChangedChars: { valid: '1', expected: 1, invalid: ['0', 'all'] },
  maxHtmlChars: { valid: '1', expected: 1, invalid: ['0', 'all'] },
  maxHtmlNodes: { valid: '1', expected: 1, invalid: ['0', 'all'] },
  sentryDsn: { valid: ' https://key@sentry.example/42 ', expected: 'https://key@sentry.example/42', invalid: ['not a url', 'ftp://key@host/1'] },
  maxPdfPages: { valid: '1', expected: 1, invalid: ['0', 'all'] },
  insertionColor: { valid: ' rgb(1, 2, 3) ', expected: 'rgb(1, 2, 3)', invalid: ['red;} body{display:none', 'url(x)'] },
  deletionColor: { valid: '#abc', expected: '#abc', invalid: ['#ab', 'expression(alert(1))'] },
};

describe("web-monitoring-diff's environment variables", () => {
  it('are honoured as aliases of the same settings', () => {
    const config = loadConfig({
      DIFFER_PARALLELISM: '3',
      MAX_DIFFS_PER_WORKER: '50',
      DIFFER_MAX_BODY_SIZE: '2048',
      DIFFING_SERVER_DEBUG: 'true',
      ACCESS_CONTROL_ALLOW_ORIGIN_HEADER: '*',
      VALIDATE_TARGET_CERTIFICATES: 'false',
    });
    assert.equal(config.workers, 3);
    assert.equal(config.workerMaxJobs, 50);
    assert.equal(config.maxBodyBytes, 2048);
    assert.equal(config.debug, true);
    assert.deepEqual(config.corsAllowedOrigins, ['*']);
    assert.equal(config.verifyUpstreamTls, false);
  });

  it("let diffguard's own name win, and report what was mapped, overridden or ignored", () => {
    const env = { DIFFER_PARALLELISM: '3', WORKERS: '2', DIFFER_MAX_BODY_SIZE: '0', WEB_MONITORING_APP_ENV: 'production', MAX_DIFFS_PER_WORKER: '7' };
    const config = loadConfig(env);
    assert.equal(config.workers, 2);
    assert.equal(config.maxBodyBytes, 10 * 1024 * 1024, "the anchor's 0 (no limit) keeps diffguard's limit");
    assert.equal(config.allowFileUrls, false);
    const { report } = resolveAnchorAliases(env);
    assert.deepEqual(report.mapped, { MAX_DIFFS_PER_WORKER: 'WORKER_MAX_JOBS', WEB_MONITORING_APP_ENV: 'ALLOW_FILE_URLS' });
    assert.deepEqual(report.overridden, { DIFFER_PARALLELISM: 'WORKERS' });
    assert.deepEqual(Object.keys(report.ignored), ['DIFFER_MAX_BODY_SIZE']);
    // production forbids file:// even where the anchor would; any other environment leaves diffguard's default.
    assert.equal(loadConfig({ WEB_MONITORING_APP_ENV: 'production', ALLOW_FILE_URLS: 'true' }).allowFileUrls, true, 'own name wins');
    assert.equal(loadConfig({ WEB_MONITORING_APP_ENV: 'development' }).allowFileUrls, false);
  });

  it('name the anchor variable when its value is bad', () => {
    assert.throws(
      () => loadConfig({ DIFFER_PARALLELISM: 'many' }),
      (err: ConfigError) => {
        assert.match(err.problems[0]!, /^DIFFER_PARALLELISM \(web-monitoring-diff's name for WORKERS\) must be a whole number/);
        return true;
      },
    );
  });
});

describe('every setting', () => {
  it('has a row in the table below', () => {
    assert.deepEqual(Object.keys(settingCases).sort(), Object.keys(settings).sort());
  });

  for (const [key, spec] of Object.entries(settings) as [keyof Config, (typeof settings)[keyof Config]][]) {
    const row = settingCases[key];
    it(`${spec.env}: ${JSON.stringify(row.valid)} loads; ${row.invalid.map((v) => JSON.stringify(v)).join(', ') || 'nothing'} is reported`, () => {
      assert.deepEqual(loadConfig({ ...row.context, [spec.env]: row.valid })[key], row.expected);
      for (const bad of row.invalid) {
        assert.throws(
          () => loadConfig({ ...row.context, [spec.env]: bad }),
          (err: unknown) => {
            assert.ok(err instanceof ConfigError, `${spec.env}=${JSON.stringify(bad)}: ${String(err)}`);
            assert.equal(err.problems.length, 1, err.problems.join('; '));
            assert.ok(err.problems[0]!.startsWith(`${spec.env} `), err.problems[0]);
            return true;
          },
          `${spec.env}=${JSON.stringify(bad)} is refused`,
        );
      }
    });
  }
});

describe('node src/main.ts with a bad configuration', () => {
  it('exits with status 2 and lists every problem', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const bad = { PORT: 'http', MAX_BODY_BYTES: '12', DEBUG: 'maybe', WORKERS: 'all', DIFFER_COLOR_INSERTION: 'red;}' };
    const child = spawn(process.execPath, ['src/main.ts'], { cwd: root, env: { PATH: process.env.PATH ?? '', ...bad }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 2, output);
    for (const name of Object.keys(bad)) assert.match(output, new RegExp(`^\\s+- ${name} `, 'm'), `${name} is listed in:\n${output}`);
  });
});
