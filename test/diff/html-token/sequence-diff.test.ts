import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchSequences, opcodesFromMatches, type MatchBlock } from '../../../src/diff/html-token/sequence-diff.ts';
import { seededRandom as random } from '../../helpers/random.ts';


function assertValid(a: Int32Array, b: Int32Array, blocks: readonly MatchBlock[]): number {
  let aEnd = 0;
  let bEnd = 0;
  let matched = 0;
  for (const block of blocks) {
    assert.ok(block.length > 0 && block.aStart >= aEnd && block.bStart >= bEnd, 'blocks are ordered and disjoint');
    for (let k = 0; k < block.length; k += 1) assert.equal(a[block.aStart + k], b[block.bStart + k]);
    aEnd = block.aStart + block.length;
    bEnd = block.bStart + block.length;
    matched += block.length;
  }
  assert.ok(aEnd <= a.length && bEnd <= b.length);
  return matched;
}

function lcsLength(a: Int32Array, b: Int32Array): number {
  let previous = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i += 1) {
    const row = new Int32Array(b.length + 1);
    for (let j = 1; j <= b.length; j += 1) row[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, row[j - 1]!);
    previous = row;
  }
  return previous[b.length]!;
}

describe('sequence alignment', () => {
  it('small inputs: Myers finds a longest common subsequence', () => {
    const next = random(1);
    for (let round = 0; round < 200; round += 1) {
      const a = Int32Array.from({ length: Math.floor(next() * 60) }, () => Math.floor(next() * 6));
      const b = Int32Array.from({ length: Math.floor(next() * 60) }, () => Math.floor(next() * 6));
      assert.equal(assertValid(a, b, matchSequences(a, b, 6)), lcsLength(a, b));
    }
  });

  it('large inputs with edits: valid blocks that keep almost everything', () => {
    const next = random(2);
    const a = Int32Array.from({ length: 50_000 }, () => Math.floor(next() * 20_000));
    const edited: number[] = [];
    for (const id of a) {
      const roll = next();
      if (roll < 0.01) continue; // deleted
      if (roll < 0.02) edited.push(20_000 + Math.floor(next() * 100)); // inserted
      edited.push(id);
    }
    const b = Int32Array.from(edited);
    const matched = assertValid(a, b, matchSequences(a, b, 20_100));
    assert.ok(matched > 0.97 * a.length, `matched ${matched}`);
  });

  it('repetitive input (two ids, nothing unique) with edits: anchored on unique runs, keeps almost everything', () => {
    const next = random(3);
    const a = Int32Array.from({ length: 50_000 }, () => (next() < 0.5 ? 0 : 1));
    const edited: number[] = [];
    for (const id of a) {
      const roll = next();
      if (roll < 0.005) continue;
      if (roll < 0.01) edited.push(2);
      edited.push(id);
    }
    const b = Int32Array.from(edited);
    const matched = assertValid(a, b, matchSequences(a, b, 3));
    assert.ok(matched > 0.98 * a.length, `matched ${matched}`);
  });

  it('periodic input (no unique run at any length) ends, with a valid result', () => {
    const a = Int32Array.from({ length: 100_000 }, (_, i) => i % 3);
    const b = Int32Array.from({ length: 100_000 }, (_, i) => (i % 997 === 0 ? 3 : i % 3));
    assertValid(a, b, matchSequences(a, b, 4));
  });

  it('adversarial input (reversed unique ids) ends, with a valid coarse result', () => {
    const n = 200_000;
    const a = Int32Array.from({ length: n }, (_, i) => i);
    const b = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    assertValid(a, b, matchSequences(a, b, n));
  });

  it('opcodes: small matches inside a change are discarded; counts follow the opcodes', () => {
    // a = 0 1 2 3 4 5 6 7, b = 0 1 2 3 9 5 9 9 : the lone "5" match (1 token) is dropped.
    const a = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const b = Int32Array.from([0, 1, 2, 3, 9, 5, 9, 9]);
    const opcodes = opcodesFromMatches(matchSequences(a, b, 10), a.length, b.length);
    assert.deepEqual(opcodes, [
      { tag: 'equal', i1: 0, i2: 4, j1: 0, j2: 4 },
      { tag: 'replace', i1: 4, i2: 8, j1: 4, j2: 8 },
    ]);
    assert.deepEqual(opcodesFromMatches([], 0, 2), [{ tag: 'insert', i1: 0, i2: 0, j1: 0, j2: 2 }]);
    assert.deepEqual(opcodesFromMatches([], 0, 0), []);
  });
});
