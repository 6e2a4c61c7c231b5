// Makes the alignment respect the page's blocks (structure.ts) before it is rendered:
// 1. A pure insertion or deletion that can slide (its first token equals the one after it, or
//    its last the one before) is moved to where it covers whole blocks: of the equally short
//    edit scripts, the one that keeps unchanged blocks whole ("Changed in version 3.3 …" deleted,
//    not the same words of the next paragraph).
// 2. A change region that crosses block boundaries is cut at them; the old and new pieces are
//    paired block by block (same kind of block, most shared words, in order: the cells of a
//    changed row by position) and each pair is aligned again on its own, so unchanged words
//    inside it are unchanged and one marker never holds the words of two blocks.
// 3. Old blocks are paired with new ones (through their unchanged tokens, the pairs above, and
//    their ancestors), which tells the renderer where deleted content goes in `combined`.
// Counts are taken before this step, from the plain alignment, so they stay the anchor's.

import { matchSequences, newMatchScratch, opcodesFromMatches, type MatchScratch, type Opcode } from './sequence-diff.ts';
import { NOT_A_BOUNDARY, TOKEN_SPACER, type TokenStream } from './tokenize.ts';

export interface BlockAlignment {
  /** Opcodes whose changed ranges each lie within one block of each side. */
  opcodes: Opcode[];
  /** For each old block: the new block it corresponds to, or -1. */
  oldToNew: Int32Array;
}

/** gaps[g] = 1 when gap g holds a block start or end tag (or an `<hr>`). */
function boundaryGaps(stream: TokenStream): Uint8Array {
  const n = stream.tokenKinds.length;
  const gaps = new Uint8Array(n + 1);
  for (let g = 0; g <= n; g += 1) {
    const end = stream.gapBounds[g + 1]!;
    for (let item = stream.gapBounds[g]!; item < end; item += 1) {
      if (stream.itemBlock[item] !== NOT_A_BOUNDARY) {
        gaps[g] = 1;
        break;
      }
    }
  }
  return gaps;
}

/** Step 1: slides pure insertions/deletions between two unchanged runs to block-aligned places. */
function slideToBlocks(opcodes: Opcode[], a: Int32Array, b: Int32Array, oldGaps: Uint8Array, newGaps: Uint8Array): void {
  for (let t = 0; t < opcodes.length; t += 1) {
    const op = opcodes[t]!;
    if (op.tag !== 'insert' && op.tag !== 'delete') continue;
    const before = opcodes[t - 1];
    const after = opcodes[t + 1];
    const isDelete = op.tag === 'delete';
    const ids = isDelete ? a : b;
    const gaps = isDelete ? oldGaps : newGaps;
    const lo = isDelete ? op.i1 : op.j1;
    const hi = isDelete ? op.i2 : op.j2;
    // Keep one token in each neighbouring unchanged run, so no two changes merge.
    const maxUp = before?.tag === 'equal' ? before.i2 - before.i1 - 1 : 0;
    const maxDown = after?.tag === 'equal' ? after.i2 - after.i1 - 1 : 0;
    let up = 0;
    while (up < maxUp && ids[lo - 1 - up] === ids[hi - 1 - up]) up += 1;
    let down = 0;
    while (down < maxDown && ids[lo + down] === ids[hi + down]) down += 1;
    if (up === 0 && down === 0) continue;
    let best = 0;
    let bestScore = gaps[lo]! + gaps[hi]!;
    for (let shift = -up; shift <= down; shift += 1) {
      const score = gaps[lo + shift]! + gaps[hi + shift]!;
      if (score > bestScore || (score === bestScore && Math.abs(shift) < Math.abs(best))) {
        best = shift;
        bestScore = score;
      }
    }
    if (best === 0) continue;
    op.i1 += best;
    op.i2 += best;
    op.j1 += best;
    op.j2 += best;
    before!.i2 += best;
    before!.j2 += best;
    after!.i1 += best;
    after!.j1 += best;
  }
}

interface Segment {
  lo: number;
  hi: number;
  /** Block of its first content token (of its first token when it has none). */
  block: number;
  /** Whether it holds more than spacers. */
  content: boolean;
}

function segmentsOf(stream: TokenStream, gaps: Uint8Array, lo: number, hi: number): Segment[] {
  const segments: Segment[] = [];
  let start = lo;
  for (let k = lo + 1; k <= hi; k += 1) {
    if (k < hi && gaps[k] === 0) continue;
    let block = stream.tokenBlock[start]!;
    let content = false;
    for (let t = start; t < k; t += 1) {
      if (stream.tokenKinds[t] !== TOKEN_SPACER) {
        block = stream.tokenBlock[t]!;
        content = true;
        break;
      }
    }
    segments.push({ lo: start, hi: k, block, content });
    start = k;
  }
  return segments;
}

/** Most pairs × tokens the word-overlap scoring of segment pairing may look at; beyond, pairing uses block kinds only. */
const MAX_PAIRING_WORK = 2_000_000;
/** Most segment pairs the pairing table may hold; beyond, segments are paired by position. */
const MAX_PAIRING_CELLS = 250_000;

/**
 * Pairs old and new segments: a longest common subsequence over block kinds, each pair of the
 * same kind scoring 1 + the share of words they have in common. Returns [oldIndex, newIndex] pairs in order.
 */
function pairSegments(
  oldSegs: Segment[],
  newSegs: Segment[],
  continues: { start: boolean; end: boolean },
  a: Int32Array,
  b: Int32Array,
  oldStream: TokenStream,
  newStream: TokenStream,
  marks: Int32Array,
): [number, number][] {
  const p = oldSegs.length;
  const q = newSegs.length;
  const oldTag = oldSegs.map((seg) => oldStream.blocks.tagName[seg.block]!);
  const newTag = newSegs.map((seg) => newStream.blocks.tagName[seg.block]!);
  if (p * q > MAX_PAIRING_CELLS) {
    // Too many to score: pair same-kind segments by position.
    const pairs: [number, number][] = [];
    let j = 0;
    for (let i = 0; i < p && j < q; i += 1) {
      if (oldTag[i] === newTag[j]) {
        pairs.push([i, j]);
        j += 1;
      }
    }
    return pairs;
  }
  let newTokens = 0;
  for (const seg of newSegs) newTokens += seg.hi - seg.lo;
  const scoreWords = p * newTokens <= MAX_PAIRING_WORK;
  const similarity = new Float64Array(p * q);
  for (let i = 0; i < p; i += 1) {
    const oldSeg = oldSegs[i]!;
    let oldCount = 0;
    if (scoreWords) {
      const stamp = i + 1;
      for (let k = oldSeg.lo; k < oldSeg.hi; k += 1) {
        if (oldStream.tokenKinds[k] === TOKEN_SPACER) continue;
        marks[a[k]!] = stamp;
        oldCount += 1;
      }
    }
    for (let j = 0; j < q; j += 1) {
      if (oldTag[i] !== newTag[j]) {
        similarity[i * q + j] = -1;
        continue;
      }
      if (!scoreWords) continue;
      const newSeg = newSegs[j]!;
      let common = 0;
      let newCount = 0;
      for (let k = newSeg.lo; k < newSeg.hi; k += 1) {
        if (newStream.tokenKinds[k] === TOKEN_SPACER) continue;
        newCount += 1;
        if (marks[b[k]!] === i + 1) common += 1;
      }
      similarity[i * q + j] = common / Math.max(1, oldCount, newCount);
    }
  }
  if (scoreWords) for (const seg of oldSegs) for (let k = seg.lo; k < seg.hi; k += 1) marks[a[k]!] = 0;
  // The first (last) pieces of both sides belong together when both continue the block of the
  // unchanged run before (after) the region: they are that one block's two versions.
  if (continues.start && similarity[0]! >= 0) similarity[0] = similarity[0]! + 1;
  if (continues.end && similarity[p * q - 1]! >= 0) similarity[p * q - 1] = similarity[p * q - 1]! + 1;
  // best[i][j]: best score of old segments i.. and new segments j..
  const best = new Float64Array((p + 1) * (q + 1));
  const width = q + 1;
  for (let i = p - 1; i >= 0; i -= 1) {
    for (let j = q - 1; j >= 0; j -= 1) {
      let value = Math.max(best[(i + 1) * width + j]!, best[i * width + j + 1]!);
      const sim = similarity[i * q + j]!;
      if (sim >= 0) value = Math.max(value, 1 + sim + best[(i + 1) * width + j + 1]!);
      best[i * width + j] = value;
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < p && j < q) {
    const sim = similarity[i * q + j]!;
    const here = best[i * width + j]!;
    if (sim >= 0 && here === 1 + sim + best[(i + 1) * width + j + 1]!) {
      pairs.push([i, j]);
      i += 1;
      j += 1;
    } else if (here === best[(i + 1) * width + j]!) {
      i += 1;
    } else {
      j += 1;
    }
  }
  return pairs;
}

/** A changed pair of ranges as opcodes, with any common leading/trailing tokens made unchanged (no deletion re-inserted as is). */
function pushChange(out: Opcode[], a: Int32Array, b: Int32Array, i1: number, i2: number, j1: number, j2: number): void {
  let prefix = 0;
  while (i1 + prefix < i2 && j1 + prefix < j2 && a[i1 + prefix] === b[j1 + prefix]) prefix += 1;
  let suffix = 0;
  while (i2 - suffix > i1 + prefix && j2 - suffix > j1 + prefix && a[i2 - 1 - suffix] === b[j2 - 1 - suffix]) suffix += 1;
  if (prefix > 0) pushOpcode(out, 'equal', i1, i1 + prefix, j1, j1 + prefix);
  const ci1 = i1 + prefix;
  const ci2 = i2 - suffix;
  const cj1 = j1 + prefix;
  const cj2 = j2 - suffix;
  if (ci1 < ci2 || cj1 < cj2) pushOpcode(out, ci1 < ci2 && cj1 < cj2 ? 'replace' : ci1 < ci2 ? 'delete' : 'insert', ci1, ci2, cj1, cj2);
  if (suffix > 0) pushOpcode(out, 'equal', ci2, i2, cj2, j2);
}

function pushOpcode(out: Opcode[], tag: Opcode['tag'], i1: number, i2: number, j1: number, j2: number): void {
  const last = out[out.length - 1];
  if (tag === 'equal' && last?.tag === 'equal' && last.i2 === i1 && last.j2 === j1) {
    last.i2 = i2;
    last.j2 = j2;
    return;
  }
  out.push({ tag, i1, i2, j1, j2 });
}

/** Aligns a pair of segments on their own. */
function realignPair(out: Opcode[], a: Int32Array, b: Int32Array, oldSeg: Segment, newSeg: Segment, idCount: number, scratch: MatchScratch): void {
  const subA = a.subarray(oldSeg.lo, oldSeg.hi);
  const subB = b.subarray(newSeg.lo, newSeg.hi);
  const opcodes = opcodesFromMatches(matchSequences(subA, subB, idCount, scratch), subA.length, subB.length);
  for (const op of opcodes) {
    const i1 = oldSeg.lo + op.i1;
    const i2 = oldSeg.lo + op.i2;
    const j1 = newSeg.lo + op.j1;
    const j2 = newSeg.lo + op.j2;
    if (op.tag === 'equal') pushOpcode(out, 'equal', i1, i2, j1, j2);
    else pushChange(out, a, b, i1, i2, j1, j2);
  }
}

export function alignBlocks(original: readonly Opcode[], oldStream: TokenStream, newStream: TokenStream, idCount: number): BlockAlignment {
  const a = oldStream.tokenIds;
  const b = newStream.tokenIds;
  const oldGaps = boundaryGaps(oldStream);
  const newGaps = boundaryGaps(newStream);
  const sliding = original.map((op) => ({ ...op }));
  slideToBlocks(sliding, a, b, oldGaps, newGaps);

  const oldBlocks = oldStream.blocks.tagName.length;
  const newBlocks = newStream.blocks.tagName.length;
  const oldToNew = new Int32Array(oldBlocks).fill(-1);
  oldToNew[0] = 0;
  const pairBlocks = (oldBlock: number, newBlock: number): void => {
    if (oldToNew[oldBlock] === -1) oldToNew[oldBlock] = newBlock;
  };

  let scratch: MatchScratch | undefined;
  let marks: Int32Array | undefined;
  const opcodes: Opcode[] = [];
  for (const op of sliding) {
    if (op.i1 === op.i2 && op.j1 === op.j2) continue;
    if (op.tag === 'equal') {
      pushOpcode(opcodes, 'equal', op.i1, op.i2, op.j1, op.j2);
      // Spacers only say which kind of block follows: they pair nothing.
      for (let k = 0; k < op.i2 - op.i1; k += 1) {
        if (oldStream.tokenKinds[op.i1 + k] !== TOKEN_SPACER) pairBlocks(oldStream.tokenBlock[op.i1 + k]!, newStream.tokenBlock[op.j1 + k]!);
      }
      continue;
    }
    const oldSegs = segmentsOf(oldStream, oldGaps, op.i1, op.i2);
    const newSegs = segmentsOf(newStream, newGaps, op.j1, op.j2);
    if (oldSegs.length <= 1 && newSegs.length <= 1) {
      if (oldSegs.length === 1 && newSegs.length === 1 && oldSegs[0]!.content && newSegs[0]!.content) pairBlocks(oldSegs[0]!.block, newSegs[0]!.block);
      pushChange(opcodes, a, b, op.i1, op.i2, op.j1, op.j2);
      continue;
    }
    scratch ??= newMatchScratch(idCount);
    marks ??= new Int32Array(idCount);
    const continues = { start: oldGaps[op.i1] === 0 && newGaps[op.j1] === 0, end: oldGaps[op.i2] === 0 && newGaps[op.j2] === 0 };
    const pairs = pairSegments(oldSegs, newSegs, continues, a, b, oldStream, newStream, marks);
    let i = 0;
    let j = 0;
    // Unpaired segments are deleted or inserted where they stand: deletions first at each point.
    const flushUntil = (oldEnd: number, newEnd: number): void => {
      for (; i < oldEnd; i += 1) {
        const seg = oldSegs[i]!;
        const at = j < newSegs.length ? newSegs[j]!.lo : op.j2;
        pushOpcode(opcodes, 'delete', seg.lo, seg.hi, at, at);
      }
      for (; j < newEnd; j += 1) {
        const seg = newSegs[j]!;
        const at = i < oldSegs.length ? oldSegs[i]!.lo : op.i2;
        pushOpcode(opcodes, 'insert', at, at, seg.lo, seg.hi);
      }
    };
    for (const [oldIndex, newIndex] of pairs) {
      flushUntil(oldIndex, newIndex);
      const oldSeg = oldSegs[oldIndex]!;
      const newSeg = newSegs[newIndex]!;
      if (oldSeg.content && newSeg.content) pairBlocks(oldSeg.block, newSeg.block);
      realignPair(opcodes, a, b, oldSeg, newSeg, idCount, scratch);
      i = oldIndex + 1;
      j = newIndex + 1;
    }
    flushUntil(oldSegs.length, newSegs.length);
  }

  // Ancestors of paired blocks pair up while they are of the same kind (children have higher ids).
  const oldParent = oldStream.blocks.parent;
  const newParent = newStream.blocks.parent;
  for (let block = oldBlocks - 1; block > 0; block -= 1) {
    const partner = oldToNew[block]!;
    const parent = oldParent[block]!;
    if (partner <= 0 || parent < 0 || oldToNew[parent] !== -1) continue;
    const partnerParent = newParent[partner]!;
    if (partnerParent >= 0 && partnerParent < newBlocks && oldStream.blocks.tagName[parent] === newStream.blocks.tagName[partnerParent]) {
      oldToNew[parent] = partnerParent;
    }
  }
  return { opcodes, oldToNew };
}
