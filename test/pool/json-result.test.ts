import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { escapedJsonBytes, spliceJsonChunks, spliceJsonObject } from '../../src/pool/json-result.ts';

const samples: Record<string, unknown>[] = [
  { diff: [[0, '<p>a & b</p>'], [1, '</script><script>alert(1)</script>']], change_count: 1 },
  { text: 'é ü 中文 😀 \u2028 \u2029 "quoted" \\ back\\slash \n\t', nested: { list: [1, 2.5, null, true] } },
  { empty: '', amp: '&&&', gt: '>>>' },
  {},
];

class Point {
  x = 1;
}
const deep: unknown[] = [];
let innermost = deep;
for (let depth = 0; depth < 100; depth += 1) innermost.push((innermost = []));
const controls = Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)).join('') + '\x7f';

/** Values the one-pass writer handles itself, at its edges, and values it leaves to JSON.stringify. */
const edgeCases: unknown[] = [
  { controls, lone: ['\ud800', '\udc00', 'a\ud83d', '\ude00b', '\ude00\ud83d', '\ud83d\ud83d\ude00'], astral: '😀𝄞', bmp: '\u0080\u07ff\u0800\uffff' },
  // Long strings, with a surrogate pair or a run of high surrogates where a block of code units ends.
  { long: 'a'.repeat(4095) + '😀' + '<'.repeat(5000) + '中'.repeat(9000) },
  { run: 'b'.repeat(4090) + '\ud800'.repeat(20) + '\udc00' + 'c'.repeat(10) },
  { big: '&é'.repeat(700_000) },
  { numbers: [0, -0, 1.5, -2e-7, 1e21, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity], flags: [true, false, null] },
  { omitted: undefined, fn: () => 1, sym: Symbol('s'), kept: 1, list: [undefined, () => 1, Symbol('t'), 'x'] },
  { 2: 'two', b: 'b', 1: 'one', a: 'a', 'quote"key<': 'k' },
  Object.assign(Object.create(null) as object, { bare: '<b>' }),
  [1, '<', { nested: ['>'] }],
  { date: new Date(0), text: '<' },
  { map: new Map([[1, 2]]), point: new Point() },
  { own: { toJSON: () => '<json>' } },
  { boxed: [new String('<s>'), new Number(1), new Boolean(false)] },
  { raw: (JSON as unknown as { rawJSON(text: string): object }).rawJSON('1e1000') },
  { deep },
];

/** What express sends for `res.json(value)` with `json escape` on, as the app is configured. */
async function expressBytes(values: unknown[]): Promise<Buffer[]> {
  const app = express();
  app.set('json escape', true);
  app.get('/:index', (req, res) => {
    res.json(values[Number(req.params.index)]);
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    return await Promise.all(values.map(async (_, index) => Buffer.from(await (await fetch(`http://127.0.0.1:${port}/${index}`)).arrayBuffer())));
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe('JSON results made in the worker', () => {
  it('are byte for byte what express sends with json escape', async () => {
    const expected = await expressBytes(samples);
    samples.forEach((sample, index) => assert.deepEqual(escapedJsonBytes(sample), expected[index], JSON.stringify(sample)));
  });

  it('are what express sends at the edges: escapes, surrogates, long strings, numbers, omitted values, non-plain objects', async () => {
    const expected = await expressBytes(edgeCases);
    edgeCases.forEach((value, index) => assert.deepEqual(escapedJsonBytes(value), expected[index], `edge case ${index}`));
    const cyclic: Record<string, unknown> = { text: '<' };
    cyclic.self = { list: [cyclic] };
    assert.throws(() => escapedJsonBytes(cyclic), { name: 'TypeError', message: /circular/ });
  });

  it('splice into the answer exactly as the object spread would', async () => {
    const head = { type: 'html_source_dmp', version: '0.1.0' };
    const tail = { a_content_type: { media_type: 'text/html' }, b_content_type: { media_type: 'text/html<' } };
    const expected = await expressBytes(samples.map((result) => ({ ...head, ...result, ...tail })));
    samples.forEach((result, index) => assert.deepEqual(spliceJsonObject(head, escapedJsonBytes(result), tail), expected[index]));
    assert.equal(spliceJsonObject({}, escapedJsonBytes({}), {}).toString(), '{}');
  });

  it('refuse a result that is not a JSON object', () => {
    assert.throws(() => spliceJsonObject({}, escapedJsonBytes([1]), {}), /not a JSON object/);
  });

  it('splice from chunks, split anywhere, into the same bytes without joining them first', async () => {
    const head = { type: 'html_source_dmp', version: '0.1.0' };
    const tail = { a_content_type: { media_type: 'text/html' }, b_content_type: { media_type: 'text/html<' } };
    for (const result of samples) {
      const json = escapedJsonBytes(result);
      const expected = spliceJsonObject(head, json, tail);
      // Every split into two chunks (a brace alone in its chunk included), and one byte per chunk.
      for (let at = 0; at <= json.length; at += 1) {
        assert.deepEqual(Buffer.concat(spliceJsonChunks(head, [json.subarray(0, at), json.subarray(at)], tail)), expected);
      }
      assert.deepEqual(Buffer.concat(spliceJsonChunks(head, [...json].map((byte) => Buffer.from([byte])), tail)), expected);
      assert.equal(Buffer.concat(spliceJsonChunks({}, [json], {})).toString(), json.toString());
    }
    assert.throws(() => spliceJsonChunks({}, [escapedJsonBytes([1])], {}), /not a JSON object/);
    assert.throws(() => spliceJsonChunks({}, [], {}), /not a JSON object/);
  });
});
