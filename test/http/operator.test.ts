// What operators rely on: request IDs in answers and logs, standard metric names, errors that name
// the setting to change, one field name for parameter errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { captureLogs, json, query, startTestService, type CapturedLogs, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('operator conveniences', () => {
  let upstream: Upstream;
  let service: TestService;
  let logs: CapturedLogs;

  before(async () => {
    upstream = await startUpstream({
      '/a.txt': serve('one two', 'text/plain'),
      '/b.txt': serve('one three', 'text/plain'),
      '/a.html': serve('<p>one two</p>', 'text/html'),
      '/huge.txt': serve('x'.repeat(4096), 'text/plain'),
    });
    logs = captureLogs();
    service = await startTestService({ MAX_BODY_BYTES: '2048', CORS_ALLOWED_ORIGINS: 'https://ui.example' }, { logger: logs.logger });
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const lengthOf = (headers: Record<string, string> = {}) => service.get(`/length?${query({ a: upstream.url('/a.txt'), b: upstream.url('/b.txt') })}`, { headers });

  it('accepts a sane X-Request-Id, returns it, and puts it in the request log line', async () => {
    const res = await lengthOf({ 'X-Request-Id': 'edge-7f3a:42/retry=1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'edge-7f3a:42/retry=1');
    const line = await logs.waitFor((l) => l.msg === 'request' && l.request_id === 'edge-7f3a:42/retry=1');
    assert.equal(line.status, 200);
  });

  it('generates an ID when none, or no sane one, is given', async () => {
    const none = await lengthOf();
    assert.match(none.headers.get('x-request-id') ?? '', UUID);
    for (const bad of ['has spaces in it', 'x'.repeat(129), 'quote"d', 'new\u0085line']) {
      const res = await lengthOf({ 'X-Request-Id': bad }).catch(() => undefined);
      if (res === undefined) continue; // a header fetch itself refuses to send
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, UUID, JSON.stringify(bad));
    }
    const cors = await lengthOf({ Origin: 'https://ui.example' });
    assert.match(cors.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/);
  });

  it('carries the request ID in every log line of a request, the internal error line included', async () => {
    const res = await service.get(`/test_throw?${query({ a: upstream.url('/a.txt'), b: upstream.url('/b.txt') })}`, { headers: { 'X-Request-Id': 'req-internal-1' } });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-request-id'), 'req-internal-1');
    await logs.waitFor((l) => l.msg === 'request' && l.request_id === 'req-internal-1');
    const errorLine = await logs.waitFor((l) => l.msg === 'internal error');
    assert.equal(errorLine.request_id, 'req-internal-1');
  });

  it('exports the request histogram by route and status, build info, and Node defaults under their standard names', async () => {
    await (await lengthOf()).arrayBuffer();
    await (await service.get('/healthz')).arrayBuffer();
    const text = await (await service.get('/metrics')).text();
    assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
    assert.match(text, /^http_request_duration_seconds_count\{route="\/length",status="200"\} [1-9]/m);
    assert.match(text, /^http_request_duration_seconds_count\{route="\/healthz",status="200"\} [1-9]/m);
    assert.match(text, new RegExp(`^diffguard_build_info\\{version="\\d+\\.\\d+\\.\\d+[^"]*",node="${process.version.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.doesNotMatch(text, /^diffguard_(process|nodejs)_/m, 'no prefixed Node defaults');
  });

  it('names the setting that lifts a refusal or a limit', async () => {
    const guarded = await startTestService({ ALLOW_PRIVATE_UPSTREAMS: 'false' });
    try {
      const loopback = await json(await guarded.get(`/length?${query({ a: 'http://127.0.0.1:1/', b: 'http://127.0.0.1:1/' })}`));
      assert.equal(loopback.type, 'FORBIDDEN_SOURCE');
      assert.match(loopback.error, /ALLOW_PRIVATE_UPSTREAMS/);
      const file = await json(await guarded.get(`/length?${query({ a: 'file:///etc/hostname', b: 'file:///etc/hostname' })}`));
      assert.equal(file.type, 'FORBIDDEN_SOURCE');
      assert.match(file.error, /ALLOW_FILE_URLS/);
    } finally {
      await guarded.close();
    }
    const huge = await json(await service.get(`/length?${query({ a: upstream.url('/huge.txt'), b: upstream.url('/a.txt') })}`));
    assert.equal(huge.type, 'UPSTREAM_TOO_LARGE');
    assert.match(huge.error, /MAX_BODY_BYTES/);
  });

  it('says `param` for every parameter error', async () => {
    const html = { a: upstream.url('/a.html'), b: upstream.url('/a.html') };
    const cases: [string, Record<string, string>, string][] = [
      ['html_token', { ...html, include: 'everything' }, 'include'],
      ['html_token', { ...html, url_rules: 'nope' }, 'url_rules'],
      ['html_text_dmp', { ...html, granularity: 'paragraph' }, 'granularity'],
      ['html_text_dmp', { ...html, timeout_ms: '0' }, 'timeout_ms'],
      ['length', { ...html, content_type_options: 'maybe' }, 'content_type_options'],
      ['length', { ...html, a_hash: 'xyz' }, 'a_hash'],
    ];
    for (const [type, params, name] of cases) {
      const body = await json(await service.get(`/${type}?${query(params)}`));
      assert.equal(body.type, 'BAD_REQUEST', name);
      assert.equal(body.param, name, name);
      assert.equal(body.parameter, undefined, name);
    }
  });
});
