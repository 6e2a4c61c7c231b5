// POST bodies: the MAX_POST_BODY_BYTES cap counts every byte read from the request (chunked too),
// MAX_BODY_BYTES holds per version at its exact value, and a client leaving mid-upload frees its place.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { captureLogs, json, startTestService, type CapturedLogs, type TestService } from '../helpers/service.ts';

interface StreamedAnswer {
  status: number;
  body: any;
  /** Request bytes the client had written when the answer's headers arrived. */
  writtenWhenAnswered: number;
}

/**
 * POSTs `chunks` with chunked transfer encoding (no Content-Length), one piece every few ms, and
 * stops writing once the answer arrives: shows how much the server read before it answered.
 */
function postChunked(service: TestService, path: string, contentType: string, chunks: Iterable<string>): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = request(`${service.base}${path}`, { method: 'POST', agent: false, headers: { 'Content-Type': contentType } });
    req.on('response', (res) => {
      answered = true;
      const writtenWhenAnswered = written;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text), writtenWhenAnswered }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    void (async () => {
      for (const chunk of chunks) {
        if (answered || req.destroyed) return;
        req.write(chunk);
        written += Buffer.byteLength(chunk);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

const BOUNDARY = 'diffguard-test-boundary';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

function part(name: string, body: string, file: boolean): string {
  const disposition = `form-data; name="${name}"${file ? `; filename="${name}.txt"` : ''}`;
  return `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${file ? 'Content-Type: text/plain\r\n' : ''}\r\n${body}\r\n`;
}

const END = `--${BOUNDARY}--\r\n`;

/** Splits a string into pieces of `size` characters. */
function* pieces(text: string, size = 1000): Generator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

describe('POST body limits', () => {
  let service: TestService;
  let logs: CapturedLogs;

  before(async () => {
    logs = captureLogs();
    service = await startTestService({ MAX_BODY_BYTES: '4096', MAX_POST_BODY_BYTES: '10000' }, { logger: logs.logger });
  });
  after(() => service.close());

  it('counts form fields and part headers against the POST cap (chunked multipart, no Content-Length)', async () => {
    // The audit's body: two 4000-byte files and four 4000-byte fields, 24 KiB against a 10 000-byte cap.
    const fields = [1, 2, 3, 4].map((i) => part(`f${i}`, 'z'.repeat(4000), false));
    const body = [part('a', 'x'.repeat(4000), true), part('b', 'y'.repeat(4000), true), ...fields, END].join('');
    const answer = await postChunked(service, '/length', MULTIPART, pieces(body));
    assert.equal(answer.status, 413);
    assert.equal(answer.body.type, 'TOO_LARGE');
    assert.equal(answer.body.limit, 'post_body');
    assert.equal(answer.body.max_size, 10000);
  });

  it('answers 413 as soon as the cap is passed and stops reading (an endless multipart body)', async () => {
    function* endless(): Generator<string> {
      yield part('a', 'x', true);
      for (let i = 0; i < 1000; i += 1) yield* pieces(part(`pad${i}`, 'p'.repeat(2000), false));
    }
    const answer = await postChunked(service, '/length', MULTIPART, endless());
    assert.equal(answer.status, 413);
    assert.equal(answer.body.limit, 'post_body');
    // Answered within a few pieces of the cap, not after the ~2 MB the client was ready to send.
    assert.ok(answer.writtenWhenAnswered < 10000 + 20 * 1000, `the server read up to ${answer.writtenWhenAnswered} bytes before answering`);
  });

  it('answers 413 to a chunked JSON body over the cap (no Content-Length)', async () => {
    const body = JSON.stringify({ a: { text: 'x'.repeat(4000) }, b: { text: 'y' }, padding: 'z'.repeat(20000) });
    const answer = await postChunked(service, '/length', 'application/json', pieces(body));
    assert.equal(answer.status, 413);
    assert.equal(answer.body.type, 'TOO_LARGE');
    assert.equal(answer.body.limit, 'post_body');
  });

  it('still takes a chunked body under the cap', async () => {
    const multipart = [part('a', 'x'.repeat(4000), true), part('b', 'y'.repeat(3000), false), END].join('');
    const form = await postChunked(service, '/length', MULTIPART, pieces(multipart));
    assert.equal(form.status, 200);
    assert.equal(form.body.diff, -1000);
    const json = await postChunked(service, '/length', 'application/json', pieces(JSON.stringify({ a: { text: 'x'.repeat(4000) }, b: { text: 'y' } })));
    assert.equal(json.status, 200);
    assert.equal(json.body.diff, -3999);
  });

  for (const file of [true, false]) {
    const kind = file ? 'file part' : 'field';
    it(`takes a ${kind} of exactly MAX_BODY_BYTES and refuses one byte more`, async () => {
      const post = (size: number) => {
        const body = [part('a', 'x'.repeat(size), file), part('b', 'y', file), END].join('');
        return service.get('/length', { method: 'POST', headers: { 'Content-Type': MULTIPART }, body });
      };
      const atLimit = await post(4096);
      assert.equal(atLimit.status, 200);
      assert.equal((await json(atLimit)).diff, 1 - 4096);
      const over = await post(4097);
      assert.equal(over.status, 413);
      const body = await json(over);
      assert.equal(body.type, 'TOO_LARGE');
      assert.equal(body.limit, 'body');
      assert.equal(body.side, 'a');
    });
  }

  it('a client that leaves mid-upload gives back what it held and is logged as 499, not as an error', async () => {
    const req = request(`${service.base}/length`, { method: 'POST', agent: false, headers: { 'Content-Type': MULTIPART } });
    req.on('error', () => {});
    req.write(part('a', 'x'.repeat(1000), true));
    for (let i = 0; i < 500 && service.bodyBudget.heldBytes === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(service.bodyBudget.heldBytes > 1000, 'the upload is charged as it is read');
    assert.equal(service.pool.admitted, 0, 'an upload still arriving holds no pool place');
    req.destroy();
    const line = await logs.waitFor((l) => l.msg === 'request aborted by client' && l.method === 'POST');
    assert.equal(line.status, 499);
    for (let i = 0; i < 100 && service.bodyBudget.openReservations > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(service.bodyBudget.openReservations, 0, 'its reservation is closed');
    assert.equal(service.bodyBudget.heldBytes, 0, 'and its bytes given back');
    assert.equal(logs.lines.filter((l) => l.level >= 50).length, 0, 'nothing logged as an error');
  });
});
