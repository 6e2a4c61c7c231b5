// Alignment of two id sequences (tokens mapped to integer ids). Hand-written: no installed
// library diffs integer arrays in linear space with a work bound (dmp would need one UTF-16
// unit per id, at most ~63 k distinct tokens). The approach is patience diff: trim the common
// prefix/suffix, anchor on ids that occur exactly once on each side (longest increasing run of
// such pairs), recurse between anchors, and finish small ranges with Myers' O(ND) algorithm.
// A work budget proportional to the input turns pathological inputs into a coarser (still
// valid) diff instead of quadratic time, like dmp's timeout.

export interface MatchBlock {
  aStart: number;
  bStart: number;
  length: number;
}

export type OpcodeTag = 'equal' | 'replace' | 'insert' | 'delete';

export interface Opcode {
  tag: OpcodeTag;
  i1: number;
  i2: number;
  j1: number;
  j2: number;
}

/** Ranges at most this long (a + b) go straight to Myers. */
const SMALL_RANGE = 400;
/** Most edit distance Myers explores in one range (its trace takes O(D²) memory). */
const MAX_MYERS_EDITS = 1000;
/** Work units per input token the whole alignment may spend. */
const WORK_PER_TOKEN = 64;

interface Range {
  aLo: number;
  aHi: number;
  bLo: number;
  bHi: number;
}

/**
 * Myers' greedy O(ND) diff over one range, returning its match runs, or undefined when the edit
 * distance exceeds `maxEdits` (the caller then treats the range as replaced).
 */
function myersMatches(a: Int32Array, b: Int32Array, range: Range, maxEdits: number, out: MatchBlock[]): number | undefined {
  const { aLo, bLo } = range;
  const n = range.aHi - aLo;
  const m = range.bHi - bLo;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let work = 0;
  for (let d = 0; d <= max; d += 1) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      const snakeStart = x;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x += 1;
        y += 1;
      }
      work += 1 + x - snakeStart;
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d, offset + d + 1));
        backtrack(trace, d, n, m, aLo, bLo, out);
        return work;
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return undefined;
}

function backtrack(trace: Int32Array[], depth: number, n: number, m: number, aLo: number, bLo: number, out: MatchBlock[]): void {
  let x = n;
  let y = m;
  for (let d = depth; d > 0; d -= 1) {
    const previous = trace[d - 1]!; // index k + (d - 1)
    const k = x - y;
    const down = k === -d || (k !== d && previous[k - 1 + d - 1]! < previous[k + 1 + d - 1]!);
    const previousK = down ? k + 1 : k - 1;
    const previousX = previous[previousK + d - 1]!;
    const previousY = previousX - previousK;
    const moveX = down ? previousX : previousX + 1;
    const moveY = down ? previousY + 1 : previousY;
    if (x > moveX) out.push({ aStart: aLo + moveX, bStart: bLo + moveY, length: x - moveX });
    x = previousX;
    y = previousY;
  }
  if (x > 0) out.push({ aStart: aLo, bStart: bLo, length: x });
}

/** Indices (into `pairsB`) of a longest strictly increasing subsequence. */
function longestIncreasing(pairsB: Int32Array, count: number): number[] {
  const tails: number[] = []; // index of the smallest tail of each length
  const previous = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    const value = pairsB[i]!;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairsB[tails[mid]!]! < value) lo = mid + 1;
      else hi = mid;
    }
    previous[i] = lo > 0 ? tails[lo - 1]! : -1;
    tails[lo] = i;
  }
  const result: number[] = new Array(tails.length);
  let index = tails.length > 0 ? tails[tails.length - 1]! : -1;
  for (let position = tails.length - 1; position >= 0; position -= 1) {
    result[position] = index;
    index = previous[index]!;
  }
  return result;
}

interface Scratch {
  countA: Int32Array;
  countB: Int32Array;
  /** Per id: next unpaired b position of that id. */
  headB: Int32Array;
}

/** Ids occurring at most this often (equally on both sides) can anchor when no id is unique. */
const MAX_ANCHOR_OCCURRENCES = 64;

/**
 * Anchor candidates of a range, in a order: pairs of ids that occur exactly once on each side;
 * failing that (repetitive content), ids that occur equally often (≤ 64) on both sides, their
 * k-th occurrences paired. Undefined when there are none.
 */
function findAnchors(a: Int32Array, b: Int32Array, range: Range, scratch: Scratch): { pairsA: Int32Array; pairsB: Int32Array; count: number } | undefined {
  const { aLo, aHi, bLo, bHi } = range;
  const { countA, countB, headB } = scratch;
  for (let i = aLo; i < aHi; i += 1) countA[a[i]!]! += 1;
  for (let j = bLo; j < bHi; j += 1) countB[b[j]!]! += 1;
  // Linked lists of b positions per id, in order.
  const nextB = new Int32Array(bHi - bLo);
  for (let j = bHi - 1; j >= bLo; j -= 1) {
    const id = b[j]!;
    nextB[j - bLo] = countB[id] === 1 || headB[id] === 0 ? -1 : headB[id]! - 1;
    headB[id] = j + 1; // 0 means "none"
  }
  const size = Math.min(aHi - aLo, bHi - bLo);
  const pairsA = new Int32Array(size);
  const pairsB = new Int32Array(size);
  let count = 0;
  for (const maxOccurrences of [1, MAX_ANCHOR_OCCURRENCES]) {
    for (let i = aLo; i < aHi && count < size; i += 1) {
      const id = a[i]!;
      const occurrences = countA[id]!;
      if (occurrences !== countB[id] || occurrences > maxOccurrences || headB[id] === 0) continue;
      const j = headB[id]! - 1;
      pairsA[count] = i;
      pairsB[count] = j;
      count += 1;
      const next = nextB[j - bLo]!;
      headB[id] = next < 0 ? 0 : next + 1;
    }
    if (count > 0) break;
  }
  for (let i = aLo; i < aHi; i += 1) countA[a[i]!] = 0;
  for (let j = bLo; j < bHi; j += 1) {
    countB[b[j]!] = 0;
    headB[b[j]!] = 0;
  }
  return count > 0 ? { pairsA, pairsB, count } : undefined;
}

/** Matching blocks of `a` and `b` (ids in 0..idCount-1), sorted, adjacent blocks merged. */
export function matchSequences(a: Int32Array, b: Int32Array, idCount: number): MatchBlock[] {
  const matches: MatchBlock[] = [];
  const scratch: Scratch = { countA: new Int32Array(idCount), countB: new Int32Array(idCount), headB: new Int32Array(idCount) };
  let budget = WORK_PER_TOKEN * (a.length + b.length) + 100_000;
  const stack: Range[] = [{ aLo: 0, aHi: a.length, bLo: 0, bHi: b.length }];

  while (stack.length > 0) {
    const range = stack.pop()!;
    let { aLo, aHi, bLo, bHi } = range;
    // Common prefix and suffix.
    let prefix = 0;
    while (aLo + prefix < aHi && bLo + prefix < bHi && a[aLo + prefix] === b[bLo + prefix]) prefix += 1;
    if (prefix > 0) matches.push({ aStart: aLo, bStart: bLo, length: prefix });
    aLo += prefix;
    bLo += prefix;
    let suffix = 0;
    while (aHi - suffix > aLo && bHi - suffix > bLo && a[aHi - 1 - suffix] === b[bHi - 1 - suffix]) suffix += 1;
    if (suffix > 0) matches.push({ aStart: aHi - suffix, bStart: bHi - suffix, length: suffix });
    aHi -= suffix;
    bHi -= suffix;
    budget -= prefix + suffix;
    const n = aHi - aLo;
    const m = bHi - bLo;
    if (n === 0 || m === 0 || budget <= 0) continue;
    const trimmed = { aLo, aHi, bLo, bHi };

    if (n + m > SMALL_RANGE) {
      const anchors = findAnchors(a, b, trimmed, scratch);
      budget -= 4 * (n + m);
      if (anchors !== undefined) {
        const chain = longestIncreasing(anchors.pairsB, anchors.count);
        budget -= anchors.count;
        let previousA = aLo;
        let previousB = bLo;
        for (const index of chain) {
          const anchorA = anchors.pairsA[index]!;
          const anchorB = anchors.pairsB[index]!;
          matches.push({ aStart: anchorA, bStart: anchorB, length: 1 });
          stack.push({ aLo: previousA, aHi: anchorA, bLo: previousB, bHi: anchorB });
          previousA = anchorA + 1;
          previousB = anchorB + 1;
        }
        stack.push({ aLo: previousA, aHi, bLo: previousB, bHi });
        continue;
      }
    }
    // No anchors (or a small range): Myers, within what the budget allows.
    const maxEdits = Math.min(MAX_MYERS_EDITS, Math.floor(budget / (n + m)));
    if (maxEdits < 1) continue;
    const work = myersMatches(a, b, trimmed, maxEdits, matches);
    budget -= work ?? maxEdits * (n + m);
  }

  matches.sort((x, y) => x.aStart - y.aStart);
  const merged: MatchBlock[] = [];
  for (const block of matches) {
    if (block.length === 0) continue;
    const last = merged[merged.length - 1];
    if (last !== undefined && last.aStart + last.length === block.aStart && last.bStart + last.length === block.bStart) {
      last.length += block.length;
    } else {
      merged.push({ ...block });
    }
  }
  return merged;
}

/**
 * Opcodes from matching blocks, after discarding blocks of at most min(2, min(len)/4) tokens
 * (the anchor's rule: small coincidental matches inside a large change become part of it).
 */
export function opcodesFromMatches(blocks: readonly MatchBlock[], aLength: number, bLength: number): Opcode[] {
  const threshold = Math.min(2, Math.min(aLength, bLength) / 4);
  const opcodes: Opcode[] = [];
  let i = 0;
  let j = 0;
  const kept = blocks.filter((block) => block.length > threshold);
  kept.push({ aStart: aLength, bStart: bLength, length: 0 });
  for (const block of kept) {
    if (i < block.aStart || j < block.bStart) {
      const tag: OpcodeTag = i < block.aStart && j < block.bStart ? 'replace' : i < block.aStart ? 'delete' : 'insert';
      opcodes.push({ tag, i1: i, i2: block.aStart, j1: j, j2: block.bStart });
    }
    if (block.length > 0) {
      opcodes.push({ tag: 'equal', i1: block.aStart, i2: block.aStart + block.length, j1: block.bStart, j2: block.bStart + block.length });
    }
    i = block.aStart + block.length;
    j = block.bStart + block.length;
  }
  return opcodes;
}
