// length and identical_bytes are answered in the main process (no worker round trip): same answer,
// same limits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runJob } from '../../src/pool/worker-runtime.ts';
import { diffTypes } from '../../src/diff/index.ts';
import { spliceJsonChunks } from '../../src/pool/index.ts';
import { VERSION } from '../../src/version.ts';
import { startUpstream, serve, type Upstream } from '../helpers/upstream.ts';
import { query, startTestService, type TestService } from '../helpers/service.ts';

const jobCount = async (service: TestService, diffType: string): Promise<number> => {
  const text = await (await service.get('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith('diffguard_job_duration_seconds_count{') && l.includes(`diff_type="${diffType}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

describe('diffs answered in the main process', () => {
  let upstream: Upstream;
  let service: TestService;
  const big = 'x'.repeat(4096);

  before(async () => {
    upstream = await startUpstream({
      '/a': serve('<p>one</p>', 'text/html; charset=utf-8'),
      '/b': serve('<p>one two</p>', 'text/html; charset=utf-8'),
      '/big': serve(big, 'text/plain'),
    });
    service = await startTestService({ MAX_BODY_BYTES: '2048' });
  });
  after(async () => {
    await service?.close();
    await upstream?.close();
  });

  for (const diffType of ['length', 'identical_bytes']) {
    it(`${diffType}: the worker's answer, byte for byte, without a job`, async () => {
      const res = await service.get(`/${diffType}?${query({ a: upstream.url('/a'), b: upstream.url('/b') })}`);
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      // What the worker path makes of the same inputs.
      const side = (text: string) => ({ bytes: Buffer.from(text), mediaType: 'text/html', contentType: 'text/html; charset=utf-8' });
      const answer = runJob(diffTypes, { diffType, a: side('<p>one</p>'), b: side('<p>one two</p>'), options: {}, ignoreDecodingErrors: false });
      assert.ok(!(answer instanceof Promise) && answer.ok);
      const parsed = JSON.parse(body.toString('utf8'));
      const expected = Buffer.concat(spliceJsonChunks({ type: diffType, version: VERSION }, [answer.json], { a_content_type: parsed.a_content_type, b_content_type: parsed.b_content_type }));
      assert.equal(body.toString('utf8'), expected.toString('utf8'));
      assert.deepEqual(Object.keys(parsed), ['type', 'version', 'diff', 'a_content_type', 'b_content_type']);
      assert.equal(parsed.diff, diffType === 'length' ? 4 : false);
      assert.equal(await jobCount(service, diffType), 0);
    });

    it(`${diffType}: MAX_BODY_BYTES still refuses a side`, async () => {
      const res = await service.get(`/${diffType}?${query({ a: upstream.url('/a'), b: upstream.url('/big') })}`);
      // The anchor's answer for an upstream over the limit: 502 UPSTREAM_TOO_LARGE.
      assert.equal(res.status, 502);
      assert.equal((await res.json()).type, 'UPSTREAM_TOO_LARGE');
    });
  }

  it('other diff types still run as jobs', async () => {
    const res = await service.get(`/html_text_dmp?${query({ a: upstream.url('/a'), b: upstream.url('/b') })}`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(await jobCount(service, 'html_text_dmp'), 1);
  });
});
