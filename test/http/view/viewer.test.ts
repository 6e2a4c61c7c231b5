// The viewer's pages over HTTP (no browser): routes, headers, escaping, errors as pages.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { prepareFrameDocument, renderResult } from '../../../src/http/view/render.ts';
import { query, startTestService, type TestService } from '../../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../../helpers/upstream.ts';

let service: TestService;
let upstream: Upstream;

before(async () => {
  upstream = await startUpstream({
    '/a.html': serve('<html><head><title>A</title></head><body><p>Hello <b>old</b> world</p></body></html>', 'text/html'),
    '/b.html': serve('<html><head><title>B</title></head><body><p>Hello <b>new</b> world</p><p>"><script>alert(1)</script></p></body></html>', 'text/html'),
    '/doc.pdf': serve('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF', 'application/pdf'),
  });
  service = await startTestService();
});

after(async () => {
  await service?.close();
  await upstream?.close();
});

const both = () => ({ a: upstream.url('/a.html'), b: upstream.url('/b.html') });

describe('GET /', () => {
  test('a browser is sent to the viewer; API clients keep the JSON index', async () => {
    const browser = await service.get('/', { headers: { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }, redirect: 'manual' });
    assert.equal(browser.status, 303);
    assert.equal(browser.headers.get('location'), 'view');
    assert.match(browser.headers.get('vary') ?? '', /Accept/);
    for (const accept of [undefined, '*/*', 'application/json']) {
      const res = await service.get('/', accept === undefined ? {} : { headers: { Accept: accept } });
      assert.equal(res.status, 200, String(accept));
      assert.ok(Array.isArray(((await res.json()) as { diff_types: unknown }).diff_types));
    }
  });
});

describe('/view', () => {
  test('without versions: the form alone, under a CSP that allows only the viewer script', async () => {
    const res = await service.get('/view');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const page = await res.text();
    assert.match(page, /<form class="dg-form" method="get" action="\/view">/);
    assert.doesNotMatch(page, /<iframe/);
  });

  test('the form redirects to the diff type page', async () => {
    const res = await service.get(`/view?${query({ type: 'html_text_dmp', ...both() })}`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `/view/html_text_dmp?${query(both())}`);
  });

  test("the script's CSP hash and integrity match the script served", async () => {
    const res = await service.get(`/view/html_token?${query(both())}`);
    assert.equal(res.status, 200);
    const page = await res.text();
    const script = await (await service.get('/view/assets/viewer.js')).text();
    const hash = `sha256-${createHash('sha256').update(script).digest('base64')}`;
    assert.ok((res.headers.get('content-security-policy') ?? '').includes(`script-src '${hash}'`));
    assert.ok(page.includes(`integrity="${hash}"`));
    // Styles and images only from the versions' own origin, the base only there too.
    const origin = new URL(upstream.url('/')).origin;
    assert.match(res.headers.get('content-security-policy') ?? '', new RegExp(`img-src data: ${origin.replaceAll('.', '\\.')}(;|$)`));
    assert.match(res.headers.get('content-security-policy') ?? '', new RegExp(`base-uri ${origin.replaceAll('.', '\\.')}(;|$)`));
  });

  test('html_token: the page in a sandboxed srcdoc frame without allow-scripts; page text escaped', async () => {
    const page = await (await service.get(`/view/html_token?${query(both())}`)).text();
    const frame = /<iframe id="dg-frame"[^>]*>/.exec(page)?.[0] ?? '';
    assert.match(frame, /sandbox="allow-same-origin"/);
    assert.doesNotMatch(frame, /allow-scripts/);
    assert.match(frame, /credentialless/);
    assert.match(frame, /referrerpolicy="no-referrer"/);
    // Everything of the diffed page lives inside the srcdoc attribute: no raw markup of it outside.
    assert.doesNotMatch(page.replace(/srcdoc="[^"]*"/, ''), /alert\(1\)/);
    assert.match(page, /<strong>2<\/strong> changes/);
  });

  test('user input is escaped in the form and the links', async () => {
    const evil = `${upstream.url('/a.html')}?x="><script>alert(2)</script>`;
    const page = await (await service.get(`/view/length?${query({ a: evil, b: upstream.url('/b.html') })}`)).text();
    assert.doesNotMatch(page, /<script>alert\(2\)/);
    assert.match(page, /&quot;&gt;&lt;script&gt;alert\(2\)/);
  });

  test('an unknown diff type is a 404 page; a refused pair is a 422 page with the API error', async () => {
    const unknown = await service.get(`/view/nope<b>?${query(both())}`);
    assert.equal(unknown.status, 404);
    const unknownPage = await unknown.text();
    assert.match(unknownPage, /UNKNOWN_DIFF_TYPE/);
    assert.doesNotMatch(unknownPage, /nope<b>/);
    const refused = await service.get(`/view/html_text_dmp?${query({ a: upstream.url('/doc.pdf'), b: upstream.url('/b.html') })}`);
    assert.equal(refused.status, 422);
    assert.match(refused.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await refused.text(), /UNDIFFABLE_CONTENT/);
    const bad = await service.get(`/view/html_token?${query({ a: upstream.url('/a.html') })}`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /Missing required parameter/);
  });

  test('text diffs: both line numbers; deletions as <del>', async () => {
    const page = await (await service.get(`/view/html_text_dmp?${query(both())}`)).text();
    assert.match(page, /<table class="dg-text">/);
    assert.match(page, /<del data-dg-change="\d+">old<\/del>/);
    assert.match(page, /<ins data-dg-change="\d+">new<\/ins>/);
  });
});

describe('rendering', () => {
  test('the frame document gets its <base>, CSP and referrer policy first in <head>, before the page\'s own base', () => {
    const out = prepareFrameDocument('<!DOCTYPE html><html><head lang="x"><base href="/elsewhere/"><title>t</title></head><body>x</body></html>', 'https://example.com/dir/page.html');
    const head = out.slice(out.indexOf('<head lang="x">') + '<head lang="x">'.length);
    assert.ok(head.startsWith('<meta http-equiv="Content-Security-Policy" content="script-src \'none\''));
    assert.ok(head.indexOf('<base href="https://example.com/dir/page.html">') < head.indexOf('<base href="/elsewhere/">'));
    assert.match(head, /<meta name="referrer" content="no-referrer">/);
  });

  test('dmp segments: a row per line, old and new line numbers, a changed line break is visible', () => {
    const { body, changeCount } = renderResult({ change_count: 2, diff: [[0, 'one\ntwo '], [-1, 'three\n'], [1, 'four'], [0, '\nfive']] }, { diffType: 'html_text_dmp', urls: {}, params: {} });
    assert.equal(changeCount, 2);
    const rows = [...body.value.matchAll(/<tr( class="dg-changed")?><td class="dg-ln">(\d*)<\/td><td class="dg-ln">(\d*)<\/td>/g)].map((m) => [m[2], m[3], m[1] !== undefined]);
    assert.deepEqual(rows, [
      ['1', '1', false],
      ['2', '2', true],
      ['3', '2', true], // old line 3 is the empty line the deleted break left; new line 2 goes on
      ['4', '3', false],
    ]);
  });

  test('an unknown result shape is shown as escaped JSON', () => {
    const { body } = renderResult({ something: '<b>new</b>' }, { diffType: 'future', urls: {}, params: {} });
    assert.match(body.value, /&lt;b&gt;new&lt;\/b&gt;/);
  });
});
