// readBody's own caps, without undici in front: the fetcher also sets undici's maxResponseSize as a
// backstop, so only a direct test shows that readBody's streaming wire cap acts at exactly max + 1.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UpstreamTooLargeError } from '../../src/errors.ts';
import { readBody, type ContentCoding, type ReadBodyParams } from '../../src/ingest/read-body.ts';
import { joinBody } from '../../src/body.ts';

const MAX = 64 * 1024;

function params(contentCodings: ContentCoding[]): ReadBodyParams {
  return {
    url: 'http://upstream.test/page',
    maxBodyBytes: MAX,
    maxDecompressionRatio: 100,
    contentCodings,
    prefixBytes: 1024,
    inspectPrefix: undefined,
    prefixInfo: { contentType: 'text/plain', finalUrl: 'http://upstream.test/page', status: 200 },
    signal: AbortSignal.timeout(120_000),
  };
}

/** A gzip body of exactly `wireBytes` bytes that inflates to 5: padded with the header's comment field (FCOMMENT). */
function paddedGzip(wireBytes: number): Buffer {
  const member = gzipSync('small');
  const header = Buffer.from(member.subarray(0, 10));
  header[3] = header[3]! | 0x10;
  const body = Buffer.concat([header, Buffer.alloc(wireBytes - member.length - 1, 0x78), Buffer.from([0]), member.subarray(10)]);
  assert.equal(body.length, wireBytes);
  return body;
}

/** The body in 4 KiB pieces, as a socket would deliver it. */
function wire(body: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += 4096) pieces.push(body.subarray(offset, offset + 4096));
  return Readable.from(pieces);
}

const refusedAs = (reason: string) => (err: unknown) => {
  assert.ok(err instanceof UpstreamTooLargeError, String(err));
  assert.equal(err.details['reason'], reason);
  assert.equal(err.details['max_size'], MAX);
  return true;
};

describe('readBody size caps at exactly max and max + 1 bytes', () => {
  it('wire cap: a gzip body of exactly max bytes on the wire passes, max + 1 is refused (body_size) though it inflates to 5 bytes', async () => {
    const exact = await readBody(wire(paddedGzip(MAX)), params(['gzip']));
    assert.equal(exact.wireBytes, MAX);
    assert.equal(Buffer.from(joinBody(exact.body)).toString(), 'small');
    await assert.rejects(readBody(wire(paddedGzip(MAX + 1)), params(['gzip'])), refusedAs('body_size'));
  });

  it('plain body: exactly max bytes pass, max + 1 are refused (body_size)', async () => {
    const exact = await readBody(wire(Buffer.alloc(MAX, 0x61)), params([]));
    assert.equal(exact.body.byteLength, MAX);
    await assert.rejects(readBody(wire(Buffer.alloc(MAX + 1, 0x61)), params([])), refusedAs('body_size'));
  });

  it('decoded cap: a gzip body inflating to exactly max bytes passes, max + 1 is refused (decoded_size)', async () => {
    const exact = await readBody(wire(gzipSync(Buffer.alloc(MAX, 0x61))), params(['gzip']));
    assert.equal(exact.body.byteLength, MAX);
    await assert.rejects(readBody(wire(gzipSync(Buffer.alloc(MAX + 1, 0x61))), params(['gzip'])), refusedAs('decoded_size'));
  });
});

describe('readBody keeps a body as its chunks', () => {
  it('hands on large chunks as they arrived, never joined into one buffer', async () => {
    const first = Buffer.alloc(MAX / 2, 0x61);
    const second = Buffer.alloc(MAX / 4, 0x62);
    const result = await readBody(Readable.from([first, second]), params([]));
    assert.equal(result.body.chunks.length, 2);
    assert.equal(result.body.chunks[0], first);
    assert.equal(result.body.chunks[1], second);
    assert.equal(result.body.byteLength, first.length + second.length);
  });
});
