// Alignment of two id sequences (tokens mapped to integer ids). Hand-written: no installed
// library diffs integer arrays in linear space with a work bound (dmp would need one UTF-16
// unit per id, at most ~63 k distinct tokens). The approach is patience diff: trim the common
// prefix/suffix, anchor on ids that occur exactly once on each side (longest increasing run of
// such pairs), recurse between anchors, and finish small ranges with Myers' O(ND) algorithm.
// Repetitive content (a table of small numbers, text from a small vocabulary) has no unique
// ids, so such a range anchors on runs of tokens (up to 32) that occur once on each side
// instead; without any anchor, Myers alone would need O((n+m)·D) work there and give up.
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
  /** Distinct ids in the range last given to findAnchors. */
  distinct: number;
}

interface Anchors {
  pairsA: Int32Array;
  pairsB: Int32Array;
  count: number;
}

/** Ids occurring at most this often (equally on both sides) can anchor when nothing unique does. */
const MAX_ANCHOR_OCCURRENCES = 64;

/**
 * Anchor candidates of a range, in a order: ids that occur equally often on both sides, at most
 * `maxOccurrences` times, their k-th occurrences paired (with 1: ids unique on each side).
 * Undefined when there are none.
 */
function findAnchors(a: Int32Array, b: Int32Array, range: Range, scratch: Scratch, maxOccurrences: number): Anchors | undefined {
  const { aLo, aHi, bLo, bHi } = range;
  const { countA, countB, headB } = scratch;
  let distinct = 0;
  for (let i = aLo; i < aHi; i += 1) {
    const id = a[i]!;
    if (countA[id] === 0) distinct += 1;
    countA[id] = countA[id]! + 1;
  }
  for (let j = bLo; j < bHi; j += 1) {
    const id = b[j]!;
    if (countA[id] === 0 && countB[id] === 0) distinct += 1;
    countB[id] = countB[id]! + 1;
  }
  scratch.distinct = distinct;
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
  for (let i = aLo; i < aHi; i += 1) countA[a[i]!] = 0;
  for (let j = bLo; j < bHi; j += 1) {
    countB[b[j]!] = 0;
    headB[b[j]!] = 0;
  }
  return count > 0 ? { pairsA, pairsB, count } : undefined;
}

/** Work units charged per token for a gram-anchor pass (hashing and a hash table: ~20× a Myers step). */
const GRAM_WORK_PER_TOKEN = 24;
/** Longest token run used as an anchor: 32 ids of even two values are rarely repeated by chance. */
const MAX_GRAM_LENGTH = 32;
const GRAM_BASE = 0x01000193;

/**
 * The run length for gram anchors: long enough that, were the `distinct` ids random, a run would
 * rarely occur twice among n + m positions (distinct^length ≥ (n + m)²), yet short, so that
 * scattered edits leave most runs intact.
 */
function gramLength(distinct: number, size: number): number {
  if (distinct < 2) return MAX_GRAM_LENGTH;
  return Math.min(MAX_GRAM_LENGTH, Math.max(2, Math.ceil((2 * Math.log(size)) / Math.log(distinct))));
}

/** Polynomial hashes of every run of `length` ids starting in [lo, hi - length]. */
function gramHashes(ids: Int32Array, lo: number, hi: number, length: number): Int32Array {
  const hashes = new Int32Array(hi - lo - length + 1);
  let top = 1; // GRAM_BASE^(length - 1)
  for (let t = 1; t < length; t += 1) top = Math.imul(top, GRAM_BASE);
  let hash = 0;
  for (let t = 0; t < length; t += 1) hash = (Math.imul(hash, GRAM_BASE) + ids[lo + t]!) | 0;
  hashes[0] = hash;
  for (let i = 1; i < hashes.length; i += 1) {
    hash = (Math.imul(hash - Math.imul(ids[lo + i - 1]!, top), GRAM_BASE) + ids[lo + i + length - 1]!) | 0;
    hashes[i] = hash;
  }
  return hashes;
}

/**
 * Anchors on runs ("grams") of `length` ids that occur exactly once in each side of the range:
 * pairs (start in a, start in b), in a order, verified id by id (hashes can collide).
 */
function findGramAnchors(a: Int32Array, b: Int32Array, range: Range, length: number): Anchors | undefined {
  const { aLo, bLo } = range;
  if (range.aHi - aLo < length || range.bHi - bLo < length) return undefined;
  const hashesA = gramHashes(a, aLo, range.aHi, length);
  const hashesB = gramHashes(b, bLo, range.bHi, length);
  // Open addressing over a's grams, one interleaved entry per slot (one cache line per probe):
  // the hash, how often (0, 1, 2+) it occurs in a (bits 0-1) and in b (bits 2-3), its b position.
  let size = 1024;
  while (size < 2 * hashesA.length) size *= 2;
  const mask = size - 1;
  const table = new Int32Array(3 * size);
  const slotOf = (hash: number): number => {
    let slot = (Math.imul(hash ^ (hash >>> 16), 0x45d9f3b) >>> 7) & mask;
    while (table[3 * slot + 1] !== 0 && table[3 * slot] !== hash) slot = (slot + 1) & mask;
    return 3 * slot;
  };
  const gramSlotsA = new Int32Array(hashesA.length);
  for (let i = 0; i < hashesA.length; i += 1) {
    const hash = hashesA[i]!;
    const entry = slotOf(hash);
    const meta = table[entry + 1]!;
    table[entry] = hash;
    if ((meta & 3) < 2) table[entry + 1] = meta + 1;
    gramSlotsA[i] = entry;
  }
  for (let j = 0; j < hashesB.length; j += 1) {
    const entry = slotOf(hashesB[j]!);
    const meta = table[entry + 1]!;
    if (meta === 0 || meta >> 2 === 2) continue;
    table[entry + 1] = meta + 4;
    table[entry + 2] = j;
  }
  const pairsA = new Int32Array(Math.min(hashesA.length, hashesB.length));
  const pairsB = new Int32Array(pairsA.length);
  let count = 0;
  for (let i = 0; i < hashesA.length && count < pairsA.length; i += 1) {
    const entry = gramSlotsA[i]!;
    if (table[entry + 1] !== (1 | (1 << 2))) continue;
    const j = table[entry + 2]!;
    let same = true;
    for (let t = 0; t < length && same; t += 1) same = a[aLo + i + t] === b[bLo + j + t];
    if (!same) continue;
    pairsA[count] = aLo + i;
    pairsB[count] = bLo + j;
    count += 1;
  }
  return count > 0 ? { pairsA, pairsB, count } : undefined;
}

/** Per-id work arrays of matchSequences, reusable across calls over the same id space (they are left zeroed). */
export type MatchScratch = Scratch;

export function newMatchScratch(idCount: number): MatchScratch {
  return { countA: new Int32Array(idCount), countB: new Int32Array(idCount), headB: new Int32Array(idCount), distinct: 0 };
}

/** Matching blocks of `a` and `b` (ids in 0..idCount-1), sorted, adjacent blocks merged. */
export function matchSequences(a: Int32Array, b: Int32Array, idCount: number, scratch: MatchScratch = newMatchScratch(idCount)): MatchBlock[] {
  const matches: MatchBlock[] = [];
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
      let anchors = findAnchors(a, b, trimmed, scratch, 1);
      budget -= 4 * (n + m);
      if (anchors === undefined) {
        // Repetitive content: anchor on runs that are unique instead.
        anchors = findGramAnchors(a, b, trimmed, gramLength(scratch.distinct, n + m));
        budget -= GRAM_WORK_PER_TOKEN * (n + m);
      }
      if (anchors === undefined) {
        anchors = findAnchors(a, b, trimmed, scratch, MAX_ANCHOR_OCCURRENCES);
        budget -= 4 * (n + m);
      }
      if (anchors !== undefined) {
        const chain = longestIncreasing(anchors.pairsB, anchors.count);
        budget -= anchors.count;
        let previousA = aLo;
        let previousB = bLo;
        let run: MatchBlock | undefined;
        for (const index of chain) {
          const anchorA = anchors.pairsA[index]!;
          const anchorB = anchors.pairsB[index]!;
          if (run !== undefined && anchorA === previousA && anchorB === previousB) {
            run.length += 1; // consecutive anchors (common with gram anchors): one block, no empty range
          } else {
            run = { aStart: anchorA, bStart: anchorB, length: 1 };
            matches.push(run);
            stack.push({ aLo: previousA, aHi: anchorA, bLo: previousB, bHi: anchorB });
          }
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
