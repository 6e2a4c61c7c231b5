// ETag / Cache-Control: a 304 only when the answer cannot have changed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startUpstream, serve, type Upstream } from '../helpers/upstream.ts';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('caching', () => {
  let upstream: Upstream;
  let service: TestService;
  // A live page that the test edits between requests.
  let livePage = '<p>One two three four five six seven eight</p>';

  before(async () => {
    upstream = await startUpstream({
      '/before': serve('<p>One two three four five six seven eight</p>', 'text/html'),
      '/live': (_req, res) => void res.writeHead(200, { 'Content-Type': 'text/html' }).end(livePage),
      // Ignores credentials: the same body whoever asks.
      '/public': serve('same for everyone', 'text/plain'),
      '/other': serve('something else', 'text/plain'),
    });
    service = await startTestService();
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const diff = (type: string, params: Record<string, string>, headers: Record<string, string> = {}) => service.get(`/${type}?${query(params)}`, { headers });
  const jobsRun = async () => {
    const text = await (await service.get('/metrics')).text();
    return [...text.matchAll(/^diffguard_job_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  it('after a live page changed, the old ETag gets 200 with a new ETag; unchanged, a 304 after fetching without a diff job', async () => {
    livePage = '<p>One two three four five six seven eight</p>';
    const params = { a: upstream.url('/before'), b: upstream.url('/live') };
    const first = await diff('html_text_dmp', params);
    assert.equal(first.status, 200);
    assert.equal((await json(first)).change_count, 0);
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^W\/"/);
    assert.equal(first.headers.get('cache-control'), 'no-cache', 'a live page must be revalidated on every use');

    const hits = upstream.hits.get('/live') ?? 0;
    const jobs = await jobsRun();
    const unchanged = await diff('html_text_dmp', params, { 'If-None-Match': etag });
    assert.equal(unchanged.status, 304);
    assert.equal(await unchanged.text(), '');
    assert.equal(unchanged.headers.get('etag'), etag);
    assert.equal(unchanged.headers.get('cache-control'), 'no-cache');
    assert.equal(upstream.hits.get('/live'), hits + 1, 'a live page is fetched before a 304');
    assert.equal(await jobsRun(), jobs, 'no diff job for a 304');

    livePage = '<p>One two three changed words and many more words than before, eight</p>';
    const changed = await diff('html_text_dmp', params, { 'If-None-Match': etag });
    assert.equal(changed.status, 200, 'the page changed: the old ETag must not get a 304');
    assert.notEqual(changed.headers.get('etag'), etag);
    assert.ok((await json(changed)).change_count > 0);
  });

  it('makes the values of pass_headers part of the ETag, and such answers private', async () => {
    const params = { a: upstream.url('/public'), b: upstream.url('/public'), pass_headers: 'cookie' };
    const alice = await diff('identical_bytes', params, { Cookie: 'session=alice' });
    const bob = await diff('identical_bytes', params, { Cookie: 'session=bob' });
    assert.equal(alice.status, 200);
    assert.equal(bob.status, 200);
    assert.notEqual(alice.headers.get('etag'), bob.headers.get('etag'), 'same bodies, other credentials: another ETag');
    assert.equal(alice.headers.get('cache-control'), 'private, no-cache');
    assert.match(alice.headers.get('vary') ?? '', /cookie/i);
    const bobWithAlicesTag = await diff('identical_bytes', params, { Cookie: 'session=bob', 'If-None-Match': alice.headers.get('etag')! });
    assert.equal(bobWithAlicesTag.status, 200);
    const aliceAgain = await diff('identical_bytes', params, { Cookie: 'session=alice', 'If-None-Match': alice.headers.get('etag')! });
    assert.equal(aliceAgain.status, 304);
    // Without pass_headers, the Cookie is not forwarded and not part of the key.
    const plain = await diff('identical_bytes', { a: params.a, b: params.b }, { Cookie: 'session=alice' });
    assert.equal(plain.headers.get('cache-control'), 'no-cache');
  });

  it('answers hash-pinned requests 304 before fetching, and lets them be reused for a day', async () => {
    const params = { a: upstream.url('/public'), b: upstream.url('/other'), a_hash: sha256('same for everyone'), b_hash: sha256('something else') };
    const first = await diff('length', params);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'max-age=86400');
    const etag = first.headers.get('etag')!;
    const hits = upstream.hits.get('/other');
    const again = await diff('length', params, { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('cache-control'), 'max-age=86400');
    assert.equal(upstream.hits.get('/other'), hits, 'pinned inputs: no fetch for a 304');
    // One hash only: the other side may have changed, so no shortcut.
    const half = await diff('length', { a: params.a, b: params.b, a_hash: params.a_hash }, { 'If-None-Match': etag });
    assert.equal(half.status, 200);
    assert.equal(half.headers.get('cache-control'), 'no-cache');
    assert.equal(upstream.hits.get('/other'), hits! + 1);
    // Pinned, with credentials forwarded: private.
    const withCookie = await diff('length', { ...params, pass_headers: 'cookie' }, { Cookie: 'session=alice' });
    assert.equal(withCookie.headers.get('cache-control'), 'private, max-age=86400');
    assert.notEqual(withCookie.headers.get('etag'), etag);
  });

  it('never lets an error or a POST answer be stored', async () => {
    const missing = await diff('length', { a: upstream.url('/public') });
    assert.equal(missing.status, 400);
    assert.equal(missing.headers.get('cache-control'), 'no-store');
    assert.equal(missing.headers.get('etag'), null);
    const gone = await diff('length', { a: upstream.url('/public'), b: upstream.url('/nowhere') });
    assert.equal(gone.status, 502);
    assert.equal(gone.headers.get('cache-control'), 'no-store');
    assert.equal(gone.headers.get('etag'), null);
    const posted = await service.get('/length', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ a: { text: 'one' }, b: { text: 'three' } }),
    });
    assert.equal(posted.status, 200);
    assert.equal(posted.headers.get('cache-control'), 'no-store');
    assert.equal(posted.headers.get('etag'), null);
  });
});
