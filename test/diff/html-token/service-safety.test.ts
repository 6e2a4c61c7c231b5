import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestService, type TestService } from '../../helpers/service.ts';
import { PAYLOADS, payloadPairs, problemsReading } from './mxss.ts';

// The same payloads through the running service (POST, worker process, JSON): what a client
// actually receives, every view.
describe('html_token through the service: nothing from the page can run', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(() => service.close());

  it('for every known mXSS payload, unchanged, inserted or deleted, in all views', async () => {
    for (const payload of PAYLOADS) {
      for (const [a, b] of payloadPairs(payload)) {
        const res = await service.get('/html_token?include=all', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ a: { text: a, content_type: 'text/html' }, b: { text: b, content_type: 'text/html' } }),
        });
        assert.equal(res.status, 200, payload);
        const body = (await res.json()) as Record<string, unknown>;
        for (const view of ['combined', 'insertions', 'deletions']) {
          assert.equal(typeof body[view], 'string', `${view} for ${payload}`);
          assert.deepEqual(problemsReading(body[view] as string), [], `${view} for ${payload}:\n${body[view]}`);
        }
      }
    }
  });
});
