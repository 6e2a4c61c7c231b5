// The HTTP API end to end: real sockets, a local upstream, the real worker pool.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startUpstream, serve, type Upstream } from '../helpers/upstream.ts';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';

const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url));

describe('HTTP API', () => {
  let upstream: Upstream;
  let service: TestService;
  const pdf = fixture('encoding/simple.pdf');

  before(async () => {
    upstream = await startUpstream({
      '/asdf': serve('asdf', 'text/plain'),
      '/asd': serve('asd', 'text/plain'),
      '/Asdf': serve('Asdf', 'text/plain'),
      '/two-paragraphs.before': serve(fixture('examples/two-paragraphs.before'), 'text/html; charset=utf-8'),
      '/two-paragraphs.after': serve(fixture('examples/two-paragraphs.after'), 'text/html; charset=utf-8'),
      '/change-word.before': serve(fixture('examples/change-word-in-paragraph.before'), 'text/html'),
      '/change-word.after': serve(fixture('examples/change-word-in-paragraph.after'), 'text/html'),
      '/add-list.before': serve(fixture('examples/add-list.before'), 'text/html'),
      '/add-list.after': serve(fixture('examples/add-list.after'), 'text/html'),
      '/page.pdf': serve(pdf, 'application/pdf'),
      '/lying.pdf': serve(pdf, 'text/html'),
      '/html-as-octets': serve('<!doctype html><p>Hello there</p>', 'application/octet-stream'),
      '/gone': (_req, res) => void res.writeHead(404, { 'Content-Type': 'text/html' }).end('<p>Not found</p>'),
      '/archived-404': (_req, res) => void res.writeHead(404, { 'Content-Type': 'text/html', 'Memento-Datetime': 'Tue, 01 Jan 2019 00:00:00 GMT' }).end('<p>Archived error page</p>'),
      '/echo-headers': (req, res) => void res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`cookie=${req.headers.cookie ?? ''};x-other=${req.headers['x-other'] ?? ''}`),
      '/big.pdf': async (_req, res) => {
        // 50 MiB of PDF, chunked (no Content-Length), at ~25 MB/s with backpressure. The pace keeps
        // loopback's multi-MiB socket buffers out of the count, as a real network link would.
        res.writeHead(200, { 'Content-Type': 'application/pdf' });
        const chunk = Buffer.alloc(32 * 1024, 0x20);
        chunk.write('%PDF-1.7\n', 0);
        for (let sent = 0; sent < 50 * 1024 * 1024 && !res.destroyed; sent += chunk.length) {
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
          chunk.write('        ', 0);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        res.end();
      },
    });
    service = await startTestService();
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const diff = (type: string, params: Record<string, string>, init?: RequestInit) => service.get(`/${type}?${query(params)}`, init);

  it('GET / lists the diff types and the version', async () => {
    const res = await service.get('/');
    assert.equal(res.status, 200);
    const body = (await json(res)) as { diff_types: string[]; version: string };
    for (const type of ['length', 'identical_bytes', 'side_by_side_text', 'links', 'links_json', 'html_text_dmp', 'html_source_dmp', 'html_token']) {
      assert.ok(body.diff_types.includes(type), type);
    }
    assert.match(body.version, /^\d+\.\d+\.\d+/);
  });

  it('length and identical_bytes answer as web-monitoring-diff does', async () => {
    const length = await json(await diff('length', { a: upstream.url('/asdf'), b: upstream.url('/asd') }));
    assert.equal(length.type, 'length');
    assert.equal(length.diff, -1);
    assert.equal((await json(await diff('identical_bytes', { a: upstream.url('/asdf'), b: upstream.url('/asdf') }))).diff, true);
    assert.equal((await json(await diff('identical_bytes', { a: upstream.url('/asdf'), b: upstream.url('/Asdf') }))).diff, false);
  });

  it('html_text_dmp diffs the visible text, with the content types alongside', async () => {
    const res = await diff('html_text_dmp', { a: upstream.url('/two-paragraphs.before'), b: upstream.url('/two-paragraphs.after') });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), 'sandbox');
    const body = await json(res);
    assert.equal(body.change_count, 2);
    assert.deepEqual(body.diff, [[0, 'Unchanged \n     '], [-1, 'Delet'], [1, 'Add'], [0, 'ed']]);
    assert.equal(body.a_content_type.media_type, 'text/html');
    assert.equal(body.a_content_type.charset, 'utf-8');
  });

  it('html_token and links_json run through the pool', async () => {
    const tokenResponse = await diff('html_token', { a: upstream.url('/change-word.before'), b: upstream.url('/change-word.after'), include: 'all' });
    const raw = await tokenResponse.text();
    assert.doesNotMatch(raw, /[<>]/, 'markup inside the JSON is escaped');
    const token = JSON.parse(raw);
    assert.deepEqual([token.change_count, token.insertions_count, token.deletions_count], [2, 1, 1]);
    for (const view of ['combined', 'insertions', 'deletions']) assert.equal(typeof token[view], 'string', view);
    const links = await json(await diff('links_json', { a: upstream.url('/add-list.before'), b: upstream.url('/add-list.after') }));
    assert.equal(links.change_count, 1);
    assert.equal(links.diff.at(-1)[0], 1);
    assert.equal(links.diff.at(-1)[1].href, '/c');
    assert.equal(links.diff.at(-1)[1].resolved_href, upstream.url('/c'));
  });

  it('answers a missing parameter with 400 BAD_REQUEST', async () => {
    const res = await diff('length', { a: upstream.url('/asdf') });
    assert.equal(res.status, 400);
    const body = await json(res);
    assert.equal(body.code, 400);
    assert.equal(body.type, 'BAD_REQUEST');
    assert.deepEqual(body.missing, ['b']);
    assert.equal(body.stack, undefined);
  });

  it('refuses non-http schemes (400), file:// (403) and bad parameter values (400)', async () => {
    assert.equal((await diff('length', { a: 'ftp://example.com/x', b: upstream.url('/asdf') })).status, 400);
    const file = await diff('length', { a: 'file:///etc/passwd', b: upstream.url('/asdf') });
    assert.equal(file.status, 403);
    assert.equal((await json(file)).type, 'FORBIDDEN_SOURCE');
    assert.equal((await diff('length', { a: upstream.url('/asdf'), b: upstream.url('/asd'), content_type_options: 'sometimes' })).status, 400);
    assert.equal((await diff('html_token', { a: upstream.url('/asdf'), b: upstream.url('/asd'), include: 'everything' })).status, 400);
    assert.equal((await diff('length', { a: upstream.url('/asdf'), b: upstream.url('/asd'), a_hash: 'xyz' })).status, 400);
  });

  it('never takes content from the query string', async () => {
    const res = await diff('length', { a: upstream.url('/asdf'), b: upstream.url('/asd'), a_body: 'injected' });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).param, 'a_body');
  });

  it('answers an unknown diff type with 404 pointing at the index', async () => {
    const res = await service.get('/no_such_diff?a=x&b=y');
    assert.equal(res.status, 404);
    const body = await json(res);
    assert.equal(body.type, 'UNKNOWN_DIFF_TYPE');
    assert.match(body.error, /GET \//);
  });

  it('answers a method a known path does not serve with 405 and Allow, and keeps 404 for unknown paths', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/length', 'GET, HEAD, POST, OPTIONS'],
      ['DELETE', '/html_token', 'GET, HEAD, POST, OPTIONS'],
      ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
      ['PATCH', '/', 'GET, HEAD, OPTIONS'],
    ] as const) {
      const res = await service.get(path, { method });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), allow);
      const body = await json(res);
      assert.equal(body.type, 'METHOD_NOT_ALLOWED');
      assert.equal(body.allow, allow);
    }
    const unknown = await service.get('/no_such_diff', { method: 'PUT' });
    assert.equal(unknown.status, 404);
    assert.equal((await json(unknown)).type, 'UNKNOWN_DIFF_TYPE');
  });

  it('uses the last value of a repeated parameter', async () => {
    const res = await service.get(`/length?a=${encodeURIComponent('http://ignored.invalid/')}&a=${encodeURIComponent(upstream.url('/asdf'))}&b=${encodeURIComponent(upstream.url('/asd'))}`);
    assert.equal(res.status, 200);
    assert.equal((await json(res)).diff, -1);
  });

  it('sends a weak ETag and answers If-None-Match with 304 (more in caching.test.ts)', async () => {
    const params = { a: upstream.url('/asdf'), b: upstream.url('/Asdf') };
    const first = await diff('identical_bytes', params);
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^W\/"/);
    const second = await diff('identical_bytes', params, { headers: { 'If-None-Match': etag! } });
    assert.equal(second.status, 304);
    const other = await diff('identical_bytes', { ...params, b: upstream.url('/asd') }, { headers: { 'If-None-Match': etag! } });
    assert.equal(other.status, 200);
  });

  it('changes the ETag when settings that shape the output change, so a stale answer is never revalidated', async () => {
    const params = { a: upstream.url('/asdf'), b: upstream.url('/Asdf') };
    const etag = (await diff('identical_bytes', params)).headers.get('etag')!;
    const recoloured = await startTestService({ DIFFER_COLOR_INSERTION: '#00ff00' });
    try {
      const res = await recoloured.get(`/identical_bytes?${query(params)}`, { headers: { 'If-None-Match': etag } });
      assert.equal(res.status, 200);
      assert.notEqual(res.headers.get('etag'), etag);
    } finally {
      await recoloured.close();
    }
  });

  it('validates the request before answering If-None-Match (a missing `b` is 400, not 304)', async () => {
    const res = await diff('length', { a: upstream.url('/asdf') }, { headers: { 'If-None-Match': '*' } });
    assert.equal(res.status, 400);
    assert.deepEqual((await json(res)).missing, ['b']);
    const badHash = await diff('length', { a: upstream.url('/asdf'), b: upstream.url('/asd'), a_hash: 'xyz' }, { headers: { 'If-None-Match': '*' } });
    assert.equal(badHash.status, 400);
  });

  it('answers HEAD like GET: the same ETag, no body, and 304 on a match', async () => {
    const params = { a: upstream.url('/asdf'), b: upstream.url('/asd') };
    const get = await diff('length', params);
    await get.arrayBuffer();
    const head = await diff('length', params, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('etag'), get.headers.get('etag'));
    assert.equal(await head.text(), '');
    const cached = await diff('length', params, { method: 'HEAD', headers: { 'If-None-Match': get.headers.get('etag')! } });
    assert.equal(cached.status, 304);
    assert.equal((await diff('length', { a: params.a }, { method: 'HEAD' })).status, 400);
  });

  it('refuses a PDF against HTML with 422 UNDIFFABLE_CONTENT naming both sides, however it is labelled', async () => {
    for (const path of ['/page.pdf', '/lying.pdf']) {
      const res = await diff('html_source_dmp', { a: upstream.url(path), b: upstream.url('/two-paragraphs.after') });
      assert.equal(res.status, 422, path);
      const body = await json(res);
      assert.equal(body.type, 'UNDIFFABLE_CONTENT');
      assert.equal(body.a_content_type.media_type, 'application/pdf');
      assert.match(body.error, /`a` is application\/pdf/);
    }
    // length and identical_bytes accept anything.
    assert.equal((await diff('length', { a: upstream.url('/page.pdf'), b: upstream.url('/two-paragraphs.after') })).status, 200);
    // content_type_options=ignore lifts the check (the limits still apply).
    assert.equal((await diff('html_source_dmp', { a: upstream.url('/lying.pdf'), b: upstream.url('/two-paragraphs.after'), content_type_options: 'ignore', ignore_decoding_errors: 'true' })).status, 200);
  });

  it('accepts HTML served as application/octet-stream (the bytes decide)', async () => {
    const res = await diff('html_text_dmp', { a: upstream.url('/html-as-octets'), b: upstream.url('/two-paragraphs.after') });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).a_content_type.source, 'sniffed');
  });

  it('refuses a 50 MiB PDF for html_source_dmp before 1 MiB of it was sent', async () => {
    const res = await diff('html_source_dmp', { a: upstream.url('/big.pdf'), b: upstream.url('/two-paragraphs.after') });
    assert.equal(res.status, 422);
    assert.equal((await json(res)).type, 'UNDIFFABLE_CONTENT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sent = upstream.bytesSent.get('/big.pdf') ?? 0;
    assert.ok(sent < 1024 * 1024, `upstream sent ${sent} bytes`);
  });

  it('answers an upstream 404 with 502 UPSTREAM_ERROR, but diffs an archived (Memento-Datetime) 404', async () => {
    const gone = await diff('html_text_dmp', { a: upstream.url('/gone'), b: upstream.url('/two-paragraphs.after') });
    assert.equal(gone.status, 502);
    const body = await json(gone);
    assert.equal(body.type, 'UPSTREAM_ERROR');
    assert.equal(body.upstream_code, 404);
    const archived = await diff('side_by_side_text', { a: upstream.url('/archived-404'), b: upstream.url('/two-paragraphs.after') });
    assert.equal(archived.status, 200);
    assert.equal((await json(archived)).diff.a_text, 'Archived error page');
  });

  it('checks a_hash and b_hash', async () => {
    const sha = createHash('sha256').update('asdf').digest('hex');
    assert.equal((await diff('length', { a: upstream.url('/asdf'), b: upstream.url('/asd'), a_hash: sha })).status, 200);
    const res = await diff('length', { a: upstream.url('/asdf'), b: upstream.url('/asd'), b_hash: sha });
    assert.equal(res.status, 502);
    const body = await json(res);
    assert.equal(body.type, 'HASH_MISMATCH');
    assert.equal(body.expected_hash, sha);
  });

  it('passes only the named request headers upstream', async () => {
    const res = await diff(
      'side_by_side_text',
      { a: upstream.url('/echo-headers'), b: upstream.url('/asdf'), pass_headers: 'Cookie', content_type_options: 'ignore' },
      { headers: { Cookie: 'session=1', 'X-Other': 'no' } },
    );
    assert.equal(res.status, 200);
    assert.equal((await json(res)).diff.a_text, 'cookie=session=1;x-other=');
  });

  it('takes both versions inline as multipart/form-data', async () => {
    const form = new FormData();
    form.append('a', new Blob([fixture('examples/two-paragraphs.before')], { type: 'text/html' }), 'a.html');
    form.append('b', new Blob([fixture('examples/two-paragraphs.after')], { type: 'text/html' }), 'b.html');
    const res = await service.get('/html_text_dmp', { method: 'POST', body: form });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).change_count, 2);
  });

  it('takes both versions inline as JSON, and refuses a PDF there too', async () => {
    const post = (body: unknown) => service.get('/html_source_dmp', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const ok = await post({ a: { text: '<p>Deleted</p><p>Unchanged</p>', content_type: 'text/html' }, b: { text: '<p>Added</p><p>Unchanged</p>' } });
    assert.equal(ok.status, 200);
    assert.deepEqual((await json(ok)).diff, [[0, '<p>'], [-1, 'Delet'], [1, 'Add'], [0, 'ed</p><p>Unchanged</p>']]);
    const refused = await post({ a: { content_base64: pdf.toString('base64'), content_type: 'text/html' }, b: { text: '<p>x</p>' } });
    assert.equal(refused.status, 422);
    assert.equal((await post({ a: { text: 'x' } })).status, 400);
  });

  it('refuses a POST body over the limit with 413 TOO_LARGE', async (t) => {
    const small = await startTestService({ MAX_BODY_BYTES: '2048', MAX_POST_BODY_BYTES: '8192' });
    t.after(() => small.close());
    const post = (a: string) => small.get('/length', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ a: { text: a }, b: { text: 'x' } }) });
    assert.equal((await post('x'.repeat(2048))).status, 200);
    const side = await post('x'.repeat(2049));
    assert.equal(side.status, 413);
    assert.equal((await json(side)).type, 'TOO_LARGE');
    assert.equal((await post('x'.repeat(9000))).status, 413);
  });

  it('answers CORS preflights on every route for allowed origins only', async (t) => {
    const cors = await startTestService({ CORS_ALLOWED_ORIGINS: 'https://ui.example' });
    t.after(() => cors.close());
    const preflight = await cors.get('/html_token', { method: 'OPTIONS', headers: { Origin: 'https://ui.example', 'Access-Control-Request-Method': 'GET' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://ui.example');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /GET.*POST.*OPTIONS/);
    const other = await cors.get('/html_token', { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
    assert.equal(other.status, 204);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('serves /healthz, /healthcheck, /readyz and /metrics', async () => {
    assert.deepEqual(await json(await service.get('/healthz')), { status: 'ok' });
    assert.deepEqual(await json(await service.get('/healthcheck')), {});
    const ready = await service.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal((await json(ready)).status, 'ready');
    const metrics = await (await service.get('/metrics')).text();
    for (const name of ['diffguard_requests_total', 'diffguard_job_duration_seconds', 'diffguard_job_cpu_seconds', 'diffguard_queue_depth', 'diffguard_active_jobs', 'diffguard_content_refusals_total', 'nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes', 'process_cpu_seconds_total', 'http_request_duration_seconds', 'diffguard_build_info']) {
      assert.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(metrics, /diffguard_content_refusals_total\{diff_type="html_source_dmp",media_type="application\/pdf"\} [1-9]/);
  });
});

describe('SSRF guard (on by default)', () => {
  it('refuses loopback and metadata addresses with 403 FORBIDDEN_SOURCE', async (t) => {
    const guarded = await startTestService({ ALLOW_PRIVATE_UPSTREAMS: 'false' });
    t.after(() => guarded.close());
    for (const target of ['http://127.0.0.1:1/x', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://localhost/']) {
      const res = await guarded.get(`/length?${query({ a: target, b: 'http://example.invalid/' })}`);
      assert.equal(res.status, 403, target);
      assert.equal((await json(res)).type, 'FORBIDDEN_SOURCE');
    }
  });
});
