// SENTRY_DSN: unexpected server errors (500 INTERNAL) reach Sentry, scrubbed; client errors never do.
// The DSN points at a fake Sentry ingest server on 127.0.0.1 that records each envelope.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';

const SECRETS = ['cookie-secret-3141', 'bearer-secret-2718', 'BODY-MARKER-1618'];

describe('Sentry reporting', () => {
  const envelopes: string[] = [];
  const ingest = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      envelopes.push((req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  let service: TestService;

  before(async () => {
    ingest.listen(0, '127.0.0.1');
    await once(ingest, 'listening');
    const { port } = ingest.address() as AddressInfo;
    service = await startTestService({ SENTRY_DSN: `http://0123456789abcdef@127.0.0.1:${port}/42` });
  });
  after(async () => {
    await service.close();
    ingest.closeAllConnections();
    ingest.close();
  });

  const secretHeaders = { Cookie: `session=${SECRETS[0]}`, Authorization: `Bearer ${SECRETS[1]}` };
  const eventEnvelopes = () => envelopes.filter((envelope) => envelope.split('\n').some((line) => /"type":"event"/.test(line)));

  it('sends one scrubbed event for a 500 INTERNAL, none for a 4xx', async () => {
    // A client error first: had it been reported, it would reach the ingest server before the 500's event.
    const clientError = await service.get(`/length?${query({ a: 'http://127.0.0.1:1/x', pass_headers: 'cookie,authorization' })}`, { headers: secretHeaders });
    assert.equal(clientError.status, 400);
    const unknown = await service.get('/no_such_diff', { headers: secretHeaders });
    assert.equal(unknown.status, 404);

    // test_throw throws inside the worker: a bug, answered 500 INTERNAL.
    const bug = await service.get('/test_throw', {
      method: 'POST',
      headers: { ...secretHeaders, 'Content-Type': 'application/json' },
      body: JSON.stringify({ a: { text: SECRETS[2] }, b: { text: SECRETS[2] } }),
    });
    assert.equal(bug.status, 500);
    assert.equal((await json(bug)).type, 'INTERNAL');
    const requestId = bug.headers.get('x-request-id')!;

    for (const deadline = Date.now() + 60_000; eventEnvelopes().length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    // Closing flushes whatever else was queued, so a wrongly reported 4xx would be counted too.
    await service.close();
    const events = eventEnvelopes();
    assert.equal(events.length, 1, `one event, got ${events.length}`);
    const event = events[0]!;
    for (const secret of SECRETS) assert.ok(!event.includes(secret), `the event must not carry ${secret}`);
    assert.doesNotMatch(event, /"cookies"|"headers"|"data"/);
    assert.match(event, /"route":"test_throw"/);
    assert.ok(event.includes(`"request_id":"${requestId}"`), 'the event names the request ID');
  });
});
