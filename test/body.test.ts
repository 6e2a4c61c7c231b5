// Bodies as chunk lists (src/body.ts): what is kept, what is copied, and that the bytes and their
// order survive every way of cutting them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BODY_BLOCK_BYTES, BodyCollector, KEPT_CHUNK_MIN_BYTES, bodyOf, bodyPrefix, joinBody, type Body } from '../src/body.ts';
import { sameBytes } from '../src/diff/bytes-diffs.ts';
import { seededRandom } from './helpers/random.ts';

/** Random bytes of the given length. */
function randomBytes(random: () => number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** `bytes` cut at random places into chunks, each its own ArrayBuffer or a view of a shared one. */
function cut(random: () => number, bytes: Buffer, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const length = Math.min(bytes.length - offset, 1 + Math.floor(random() * maxChunk));
    const piece = bytes.subarray(offset, offset + length);
    chunks.push(random() < 0.5 ? Buffer.from(piece) : piece);
    offset += length;
  }
  return chunks;
}

/** Bytes of memory the body's chunks hold on to (each ArrayBuffer counted once). */
function heldBytes(body: Body): number {
  return [...new Set(body.chunks.map((chunk) => chunk.buffer))].reduce((sum, buffer) => sum + buffer.byteLength, 0);
}

describe('BodyCollector', () => {
  it('keeps a large chunk that is most of its memory as it is (no copy)', () => {
    const collector = new BodyCollector();
    const whole = Buffer.alloc(64 * 1024, 0x61);
    const mostOfIt = Buffer.alloc(40 * 1024, 0x62).subarray(0, 30 * 1024);
    collector.add(whole);
    collector.add(mostOfIt);
    const body = collector.take();
    assert.equal(body.chunks[0], whole);
    assert.equal(body.chunks[1], mostOfIt);
    assert.equal(body.byteLength, 94 * 1024);
  });

  it('copies a small chunk, and a large view of a much larger buffer, instead of holding what they are views of', () => {
    const socketRead = Buffer.alloc(64 * 1024, 0x63);
    const collector = new BodyCollector();
    collector.add(socketRead.subarray(0, 100));
    collector.add(socketRead.subarray(100, 100 + KEPT_CHUNK_MIN_BYTES));
    const body = collector.take();
    assert.ok(body.chunks.every((chunk) => chunk.buffer !== socketRead.buffer));
    assert.deepEqual(Buffer.from(joinBody(body)), socketRead.subarray(0, 100 + KEPT_CHUNK_MIN_BYTES));
  });

  it('gathers 1-byte chunks into full blocks: an object per 64 KiB, not per byte', () => {
    const collector = new BodyCollector();
    const bytes = randomBytes(seededRandom(1), 200_000);
    for (let i = 0; i < bytes.length; i++) collector.add(bytes.subarray(i, i + 1));
    const body = collector.take();
    assert.equal(body.chunks.length, Math.ceil(bytes.length / BODY_BLOCK_BYTES));
    assert.deepEqual(Buffer.from(joinBody(body)), bytes);
    assert.ok(heldBytes(body) <= 2 * bytes.length, `held ${heldBytes(body)}`);
  });

  it('1-byte chunks between kept ones do not each hold a 64 KiB block', () => {
    const collector = new BodyCollector();
    let total = 0;
    for (let i = 0; i < 200; i++) {
      collector.add(Buffer.from([i & 0xff]));
      collector.add(Buffer.alloc(KEPT_CHUNK_MIN_BYTES, i & 0xff));
      total += 1 + KEPT_CHUNK_MIN_BYTES;
    }
    const body = collector.take();
    assert.equal(body.byteLength, total);
    // Two blocks' worth of slack at most beyond the bytes themselves.
    assert.ok(heldBytes(body) <= total + 2 * BODY_BLOCK_BYTES, `held ${heldBytes(body)} for ${total}`);
  });

  it('gives back the bytes in order, however they were cut, and holds at most about twice them', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const bytes = randomBytes(random, Math.floor(random() * 300_000));
      const collector = new BodyCollector();
      for (const chunk of cut(random, bytes, seed % 2 === 0 ? 100 : 70_000)) collector.add(chunk);
      const body = collector.take();
      assert.equal(body.byteLength, bytes.length, `seed ${seed}`);
      assert.deepEqual(Buffer.from(joinBody(body)), bytes, `seed ${seed}`);
      assert.ok(heldBytes(body) <= 2 * bytes.length + BODY_BLOCK_BYTES, `seed ${seed}: held ${heldBytes(body)} for ${bytes.length}`);
    }
  });

  it('starts empty again after take()', () => {
    const collector = new BodyCollector();
    collector.add(Buffer.from('first'));
    assert.equal(Buffer.from(joinBody(collector.take())).toString(), 'first');
    collector.add(Buffer.from('second'));
    const second = collector.take();
    assert.equal(second.byteLength, 6);
    assert.equal(Buffer.from(joinBody(second)).toString(), 'second');
    assert.deepEqual(collector.take(), { chunks: [], byteLength: 0 });
  });
});

describe('bodyPrefix', () => {
  const body: Body = { chunks: [Buffer.from('abc'), Buffer.from('defgh'), Buffer.from('ij')], byteLength: 10 };

  it('is a view of the first chunk when that chunk holds it', () => {
    const prefix = bodyPrefix(body, 2);
    assert.equal(prefix.buffer, body.chunks[0]!.buffer);
    assert.equal(Buffer.from(prefix).toString(), 'ab');
  });

  it('copies across chunks, and stops at the end of the body', () => {
    assert.equal(Buffer.from(bodyPrefix(body, 6)).toString(), 'abcdef');
    assert.equal(Buffer.from(bodyPrefix(body, 4096)).toString(), 'abcdefghij');
    assert.equal(bodyPrefix({ chunks: [], byteLength: 0 }, 4096).byteLength, 0);
  });
});

describe('sameBytes', () => {
  it('compares bodies however each was cut into chunks', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed);
      const bytes = randomBytes(random, 1 + Math.floor(random() * 50_000));
      const body = (chunks: Buffer[]): Body => ({ chunks, byteLength: bytes.length });
      const a = body(cut(random, bytes, 5_000));
      assert.ok(sameBytes(a, body(cut(random, bytes, 300))), `seed ${seed}`);
      const changed = Buffer.from(bytes);
      const at = Math.floor(random() * changed.length);
      changed[at] = changed[at]! ^ 1;
      assert.ok(!sameBytes(a, body(cut(random, changed, 300))), `seed ${seed}: byte ${at} differs`);
      assert.ok(!sameBytes(a, bodyOf(bytes.subarray(0, bytes.length - 1))), `seed ${seed}: one byte shorter`);
    }
    assert.ok(sameBytes(bodyOf(Buffer.alloc(0)), { chunks: [], byteLength: 0 }));
  });
});
