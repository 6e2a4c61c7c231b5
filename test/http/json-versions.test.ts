// The streaming reader of JSON POST bodies: same versions as JSON.parse would give, whatever the
// chunking, and refusals (400/413) at the first chunk that breaks a limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, TooLargeError } from '../../src/errors.ts';
import { JSON_MAX_DEPTH, JSON_MAX_VALUES, JsonVersionsReader, readJsonVersions } from '../../src/http/json-versions.ts';
import { BodyBudget } from '../../src/ingest/index.ts';
import { joinBody, type Body } from '../../src/body.ts';

/** Feeds `body` in pieces of `size` bytes. */
function readIn(body: string | Buffer, size: number, maxBodyBytes = 1 << 20) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const reader = new JsonVersionsReader({ maxBodyBytes });
  for (let i = 0; i < bytes.length; i += size) reader.write(bytes.subarray(i, i + size));
  return reader.end();
}

const text = (body: Body | undefined) => Buffer.from(joinBody(body!)).toString('utf8');

describe('JSON versions, read as they arrive', () => {
  const body = JSON.stringify({
    extra: { nested: [1, 2.5e3, true, false, null, 'x'] },
    a: { text: 'Héllo 😀 <p>wörld</p>', content_type: 'text/html; charset=utf-8', url: 'https://example.com/a' },
    b: { content_base64: Buffer.from('bytes \x00\xff of b', 'latin1').toString('base64'), content_type: 'application/octet-stream' },
  });

  for (const size of [1, 2, 3, 5, 7, 64, 1 << 16]) {
    it(`gives the same versions whatever the chunking (${size}-byte chunks)`, () => {
      const versions = readIn(body, size);
      assert.equal(text(versions.a?.body), 'Héllo 😀 <p>wörld</p>');
      assert.equal(versions.a?.contentType, 'text/html; charset=utf-8');
      assert.equal(versions.a?.url, 'https://example.com/a');
      assert.deepEqual(Buffer.from(joinBody(versions.b!.body)), Buffer.from('bytes \x00\xff of b', 'latin1'));
      assert.equal(versions.b?.contentType, 'application/octet-stream');
      assert.equal(versions.b?.url, undefined);
    });
  }

  it('decodes escapes, split surrogate pairs and long values as JSON.parse does', () => {
    const long = 'ab😀\u00e9\n"\\'.repeat(40_000);
    const base64 = Buffer.from('x'.repeat(100_001)).toString('base64');
    const source = JSON.stringify({ a: { text: long }, b: { content_base64: base64 } }).replace('😀', '\\ud83d\\ude00');
    for (const size of [3, 4096, 65_537]) {
      const versions = readIn(source, size);
      assert.equal(text(versions.a?.body), long);
      assert.equal(text(versions.b?.body), 'x'.repeat(100_001));
    }
  });

  it('prefers content_base64 when both are given, as before', () => {
    const versions = readIn(JSON.stringify({ a: { text: 'text', content_base64: Buffer.from('base').toString('base64') } }), 4);
    assert.equal(text(versions.a?.body), 'base');
  });

  const refusals: [string, string, RegExp][] = [
    ['not JSON', '{"a": nope}', /not valid JSON/],
    ['truncated', '{"a": {"text": "x"}', /not valid JSON/],
    ['two values', '{} {}', /not valid JSON/],
    ['not an object', '["a", "b"]', /must be an object/],
    ['a string at the top', '"a"', /must be an object/],
    ['a side that is not an object', '{"a": "text"}', /`a` must be an object/],
    ['a side that is null', '{"a": null}', /`a` must be an object/],
    ['a side twice', '{"a": {"text": "x"}, "a": {"text": "y"}}', /appears twice/],
    ['a field twice', '{"a": {"text": "x", "text": "y"}}', /appears twice/],
    ['a side without content', '{"a": {"content_type": "text/html"}}', /needs content_base64 or text/],
    ['a content type that is not a string', '{"a": {"text": "x", "content_type": 5}}', /`a.content_type` must be a string/],
    ['text that is an object', '{"a": {"text": {"x": 1}}}', /`a.text` must be a string/],
    ['a key too long', `{"${'k'.repeat(300)}": 1}`, /key longer than/],
    ['a url too long', `{"a": {"text": "x", "url": "${'u'.repeat(9000)}"}}`, /longer than/],
  ];
  for (const [what, source, message] of refusals) {
    it(`refuses ${what} with 400`, () => {
      assert.throws(() => readIn(source, 7), (err: unknown) => err instanceof BadRequestError && message.test(err.message));
    });
  }

  it(`refuses nesting deeper than ${JSON_MAX_DEPTH} at the chunk that passes it`, () => {
    const reader = new JsonVersionsReader({ maxBodyBytes: 1000 });
    reader.write(Buffer.from(`{"a": {"text": "x"}, "x": ${'['.repeat(JSON_MAX_DEPTH - 2)}`));
    assert.throws(
      () => reader.write(Buffer.from('[[')),
      (err: unknown) => err instanceof BadRequestError && /nested deeper than 32 levels/.test(err.message) && err.details.limit === 'json_depth',
    );
  });

  it(`refuses more than ${JSON_MAX_VALUES} values at the chunk that passes it`, () => {
    const reader = new JsonVersionsReader({ maxBodyBytes: 1000 });
    reader.write(Buffer.from(`{"x": [${'1,'.repeat(JSON_MAX_VALUES - 3)}`));
    assert.throws(
      () => reader.write(Buffer.from('1,1,1,1,')),
      (err: unknown) => err instanceof BadRequestError && /more than 10000 values/.test(err.message) && err.details.limit === 'json_values',
    );
  });

  it('refuses a version over MAX_BODY_BYTES (decoded) with 413, at exactly one byte over', () => {
    assert.equal(readIn(JSON.stringify({ a: { text: 'x'.repeat(100) } }), 10, 100).a?.body.byteLength, 100);
    assert.throws(() => readIn(JSON.stringify({ a: { text: 'x'.repeat(101) } }), 10, 100), (err: unknown) => err instanceof TooLargeError && err.details.side === 'a');
    const base64 = Buffer.alloc(101).toString('base64');
    assert.throws(() => readIn(JSON.stringify({ b: { content_base64: base64 } }), 10, 100), (err: unknown) => err instanceof TooLargeError && err.details.side === 'b');
  });

  it('charges the decoded bytes kept, and gives back the raw chunks', async () => {
    const budget = new BodyBudget(10_000_000, 5);
    const reservation = budget.open();
    const content = 'y'.repeat(200_000);
    const source = Buffer.from(JSON.stringify({ a: { text: content }, b: { content_base64: Buffer.from(content).toString('base64') } }));
    async function* chunks() {
      for (let i = 0; i < source.length; i += 1000) {
        const chunk = source.subarray(i, i + 1000);
        reservation.charge(chunk.byteLength);
        yield chunk;
      }
    }
    const versions = await readJsonVersions(chunks(), { maxBodyBytes: 1 << 20, reservation, onChunkConsumed: (bytes) => reservation.refund(bytes) });
    assert.equal(versions.a?.body.byteLength, 200_000);
    assert.equal(budget.heldBytes, 400_000, 'the two decoded versions, nothing of the raw body');
    reservation.release();
    assert.equal(budget.heldBytes, 0);
  });
});
