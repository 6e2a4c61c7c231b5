// What a refused or failed diff says about the two versions: 422 UNDIFFABLE_CONTENT names both
// sides (or says one was not identified in time), and errors of the diff job carry both content types.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

const pdf = readFileSync(new URL('../../fixtures/encoding/simple.pdf', import.meta.url));
const html = '<!doctype html><p>Hello there</p>';

describe('refusals and job errors name both versions', () => {
  let upstream: Upstream;
  let service: TestService;

  before(async () => {
    upstream = await startUpstream({
      '/page.pdf': serve(pdf, 'application/pdf'),
      '/page.html': serve(html, 'text/html'),
      '/late.pdf': async (_req, res) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        res.writeHead(200, { 'Content-Type': 'application/pdf' }).end(pdf);
      },
      // Headers at once, then no body until the connection is closed: never identified.
      '/stalled.html': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.flushHeaders();
      },
      // Mostly invalid UTF-8 but no binary control bytes: passes the sniff, fails decoding in the worker.
      '/undecodable.txt': serve(Buffer.alloc(2000, 0xff), 'text/plain; charset=utf-8'),
    });
    service = await startTestService({ UPSTREAM_BODY_TIMEOUT_MS: '5000' });
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const diff = (type: string, params: Record<string, string>) => service.get(`/${type}?${query(params)}`);
  const post = (type: string, body: unknown) => service.get(`/${type}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('POST: refusing `a` still names what `b` is (both bodies are in memory)', async () => {
    const res = await post('html_source_dmp', { a: { content_base64: pdf.toString('base64') }, b: { text: html, content_type: 'text/html' } });
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDIFFABLE_CONTENT');
    assert.equal(body.error, '`a` is application/pdf (sniffed), `b` is text/html; html_source_dmp diffs text only');
    assert.equal(body.a_content_type.media_type, 'application/pdf');
    assert.equal(body.b_content_type.media_type, 'text/html');
  });

  it('POST: both sides refused are both named', async () => {
    const res = await post('html_text_dmp', { a: { content_base64: pdf.toString('base64') }, b: { content_base64: pdf.toString('base64'), content_type: 'application/pdf' } });
    assert.equal(res.status, 422);
    assert.match((await json(res)).error, /^`a` is application\/pdf \(sniffed\), `b` is application\/pdf; /);
  });

  it('GET: the other side is named when it was identified before the refusal', async () => {
    const res = await diff('html_source_dmp', { a: upstream.url('/late.pdf'), b: upstream.url('/page.html') });
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.error, '`a` is application/pdf, `b` is text/html; html_source_dmp diffs text only');
    assert.equal(body.b_content_type.media_type, 'text/html');
  });

  it('GET: a side whose first bytes had not arrived is named as not identified, without waiting for it', async () => {
    const res = await diff('html_source_dmp', { a: upstream.url('/stalled.html'), b: upstream.url('/page.pdf') });
    // Waiting for the stalled side would end in 504 after UPSTREAM_BODY_TIMEOUT_MS instead.
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDIFFABLE_CONTENT');
    assert.equal(body.error, '`b` is application/pdf, `a` was not identified before the download was stopped; html_source_dmp diffs text only');
    assert.equal(body.a_content_type, null);
    assert.equal(body.b_content_type.media_type, 'application/pdf');
  });

  it('an error of the diff job (422 UNDECODABLE_CONTENT) carries both content types', async () => {
    const res = await diff('html_source_dmp', { a: upstream.url('/undecodable.txt'), b: upstream.url('/page.html') });
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDECODABLE_CONTENT');
    assert.equal(body.a_content_type.media_type, 'text/plain');
    assert.equal(body.b_content_type.media_type, 'text/html');
  });

  it('a job stopped at its limit (422 LIMIT_EXCEEDED) carries both content types', async (t) => {
    const strict = await startTestService({ JOB_CPU_LIMIT_MS: '200', JOB_DEADLINE_MS: '5000' });
    t.after(() => strict.close());
    const res = await strict.get('/test_spin', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ a: { text: 'x' }, b: { text: html, content_type: 'text/html' } }) });
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'LIMIT_EXCEEDED');
    assert.equal(body.limit, 'cpu');
    assert.equal(body.a_content_type.media_type, 'text/plain');
    assert.equal(body.b_content_type.media_type, 'text/html');
  });
});
