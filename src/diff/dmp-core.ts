// diff-match-patch's character diff (diff_main without line mode) and semantic cleanup, as
// @sanity/diff-match-patch 3.2.1 computes them, ported to typed TypeScript for speed.
//
// A port of diff-match-patch (Copyright 2018 The diff-match-patch Authors, Google;
// https://github.com/google/diff-match-patch) and of @sanity/diff-match-patch's changes to it
// (https://github.com/sanity-io/diff-match-patch: its surrogate-pair adjustment of the raw diff,
// its half-match that runs whatever the time budget), both under the Apache License 2.0
// (http://www.apache.org/licenses/LICENSE-2.0). Changes here: below the top, the texts are ranges
// of two code-unit arrays (bisect, the half-match's runs, the common ends compared as numbers, no
// substrings), bisect's V arrays are reused Int32Arrays set to -1 only as far as it explores, the
// semantic score tests char codes instead of running regular expressions, the passes reuse the
// segments instead of copying each one, and cleanupMerge builds its result in one pass instead of
// splicing its array (quadratic).
//
// Why hand-written: html_source_dmp spent most of its CPU in @sanity's bisect (charAt makes a
// one-character string per comparison; the V arrays are generic arrays), and its answer must stay
// the anchor's, segment for segment: no other diff library or algorithm gives dmp's exact
// segments, and no maintained dmp port is faster. Every step below mirrors @sanity's, in order and
// effect, so the output is identical whenever the time budget is not reached
// (test/diff/dmp-core.test.ts compares both on the page corpus and on thousands of random pairs).

import type { DiffSegment } from './types.ts';

const DELETE = -1;
const INSERT = 1;
const EQUAL = 0;

/**
 * @sanity's `makeDiff(text1, text2, { checkLines: false, timeout })` with `deadline` =
 * Date.now() + timeout: the raw (minimal) diff, then surrogate pairs split by it moved whole.
 * Past the deadline, bisect gives up on the part it is diffing (a coarser diff, still exact).
 */
export function diffMain(text1: string, text2: string, deadline: number): DiffSegment[] {
  // dmp's diff_main at the top: trim the common ends, diff the middle, restore the ends, merge.
  // The middle is diffed on code-unit arrays (MiddleDiff).
  let diffs: DiffSegment[];
  if (text1 === text2) {
    diffs = text1 === '' ? [] : [[EQUAL, text1]];
  } else {
    const prefixLength = commonPrefixBySearch(text1, text2);
    const rest1 = text1.substring(prefixLength);
    const rest2 = text2.substring(prefixLength);
    const suffixLength = commonSuffixBySearch(rest1, rest2);
    const middle = new MiddleDiff(rest1.substring(0, rest1.length - suffixLength), rest2.substring(0, rest2.length - suffixLength), deadline);
    diffs = middle.compute(0, middle.text1.length, 0, middle.text2.length);
    if (prefixLength > 0) diffs.unshift([EQUAL, text1.substring(0, prefixLength)]);
    if (suffixLength > 0) diffs.push([EQUAL, rest1.substring(rest1.length - suffixLength)]);
    diffs = cleanupMerge(diffs);
  }
  adjustDiffForSurrogatePairs(diffs);
  return diffs;
}

/**
 * dmp's own prefix search, for the whole texts: a binary search comparing substrings, which V8
 * compares natively (a 1 MB page with one change: 0.1 ms, against 2.5 ms with a charCodeAt loop).
 */
function commonPrefixBySearch(text1: string, text2: string): number {
  if (text1 === '' || text2 === '' || text1.charCodeAt(0) !== text2.charCodeAt(0)) return 0;
  let pointerMin = 0;
  let pointerMax = Math.min(text1.length, text2.length);
  let pointerMid = pointerMax;
  let pointerStart = 0;
  while (pointerMin < pointerMid) {
    if (text1.substring(pointerStart, pointerMid) === text2.substring(pointerStart, pointerMid)) {
      pointerMin = pointerMid;
      pointerStart = pointerMin;
    } else {
      pointerMax = pointerMid;
    }
    pointerMid = Math.floor((pointerMax - pointerMin) / 2 + pointerMin);
  }
  return pointerMid;
}

/** The same search for the common suffix. */
function commonSuffixBySearch(text1: string, text2: string): number {
  if (text1 === '' || text2 === '' || text1.charCodeAt(text1.length - 1) !== text2.charCodeAt(text2.length - 1)) return 0;
  let pointerMin = 0;
  let pointerMax = Math.min(text1.length, text2.length);
  let pointerMid = pointerMax;
  let pointerEnd = 0;
  while (pointerMin < pointerMid) {
    if (text1.substring(text1.length - pointerMid, text1.length - pointerEnd) === text2.substring(text2.length - pointerMid, text2.length - pointerEnd)) {
      pointerMin = pointerMid;
      pointerEnd = pointerMin;
    } else {
      pointerMax = pointerMid;
    }
    pointerMid = Math.floor((pointerMax - pointerMin) / 2 + pointerMin);
  }
  return pointerMid;
}

/** Length of the common prefix, in code units (a plain loop: the edits it compares are short). */
function commonPrefix(text1: string, text2: string): number {
  const limit = Math.min(text1.length, text2.length);
  let length = 0;
  while (length < limit && text1.charCodeAt(length) === text2.charCodeAt(length)) length += 1;
  return length;
}

/** Length of the common suffix, in code units. */
function commonSuffix(text1: string, text2: string): number {
  const limit = Math.min(text1.length, text2.length);
  let length = 0;
  while (length < limit && text1.charCodeAt(text1.length - 1 - length) === text2.charCodeAt(text2.length - 1 - length)) length += 1;
  return length;
}

/**
 * A text's UTF-16 code units, copied natively. Only compared with each other, so the byte order
 * Buffer writes them in does not matter.
 */
function codeUnits(text: string): Uint16Array {
  const codes = new Uint16Array(text.length);
  Buffer.from(codes.buffer).write(text, 'utf16le');
  return codes;
}

/**
 * bisect's two V arrays, reused from one bisect to the next (a bisect that recurses has finished
 * with its own arrays): a fresh pair per call cost a zeroed allocation and a -1 fill of both, the
 * texts' length each, on every call. Arrays past KEPT_V_ENTRIES are made for the call and let go.
 */
const KEPT_V_ENTRIES = 256 * 1024;
let keptV1 = new Int32Array(0);
let keptV2 = new Int32Array(0);

function bisectArrays(length: number): [Int32Array, Int32Array] {
  if (length > KEPT_V_ENTRIES) return [new Int32Array(length), new Int32Array(length)];
  if (keptV1.length < length) {
    const size = Math.min(KEPT_V_ENTRIES, Math.max(length, keptV1.length * 2, 1024));
    keptV1 = new Int32Array(size);
    keptV2 = new Int32Array(size);
  }
  return [keptV1, keptV2];
}

type HalfMatch = [start1: number, end1: number, start2: number, end2: number];

/**
 * The recursive part of dmp's diff (diff_main below the top, diff_compute, the half-match and
 * bisect), on ranges [start, end) of the two middles: code-unit arrays for the comparisons
 * (~25 % faster in bisect than charCodeAt on the sliced strings dmp makes), strings for indexOf
 * and for the segments. Every range is a substring dmp itself would make, so the steps are the same.
 */
class MiddleDiff {
  readonly text1: string;
  readonly text2: string;
  readonly codes1: Uint16Array;
  readonly codes2: Uint16Array;
  readonly deadline: number;

  constructor(text1: string, text2: string, deadline: number) {
    this.text1 = text1;
    this.text2 = text2;
    this.codes1 = codeUnits(text1);
    this.codes2 = codeUnits(text2);
    this.deadline = deadline;
  }

  /** dmp's diff_main on text1[start1, end1) and text2[start2, end2). */
  diff(start1: number, end1: number, start2: number, end2: number): DiffSegment[] {
    const length1 = end1 - start1;
    const length2 = end2 - start2;
    const prefixLength = this.prefixLength(start1, start2, Math.min(length1, length2));
    if (prefixLength === length1 && length1 === length2) return length1 === 0 ? [] : [[EQUAL, this.text1.substring(start1, end1)]];
    const suffixLength = this.suffixLength(end1, end2, Math.min(length1, length2) - prefixLength);
    const diffs = this.compute(start1 + prefixLength, end1 - suffixLength, start2 + prefixLength, end2 - suffixLength);
    if (prefixLength > 0) diffs.unshift([EQUAL, this.text1.substring(start1, start1 + prefixLength)]);
    if (suffixLength > 0) diffs.push([EQUAL, this.text1.substring(end1 - suffixLength, end1)]);
    return cleanupMerge(diffs);
  }

  private prefixLength(start1: number, start2: number, limit: number): number {
    const { codes1, codes2 } = this;
    let length = 0;
    while (length < limit && codes1[start1 + length] === codes2[start2 + length]) length += 1;
    return length;
  }

  private suffixLength(end1: number, end2: number, limit: number): number {
    const { codes1, codes2 } = this;
    let length = 0;
    while (length < limit && codes1[end1 - 1 - length] === codes2[end2 - 1 - length]) length += 1;
    return length;
  }

  /** dmp's diff_compute: diffs two ranges that have no common prefix or suffix. */
  compute(start1: number, end1: number, start2: number, end2: number): DiffSegment[] {
    if (start1 === end1) return [[INSERT, this.text2.substring(start2, end2)]];
    if (start2 === end2) return [[DELETE, this.text1.substring(start1, end1)]];
    const text1 = this.text1.substring(start1, end1);
    const text2 = this.text2.substring(start2, end2);
    const longText = text1.length > text2.length ? text1 : text2;
    const shortText = text1.length > text2.length ? text2 : text1;
    const at = longText.indexOf(shortText);
    if (at !== -1) {
      const op = text1.length > text2.length ? DELETE : INSERT;
      return [
        [op, longText.substring(0, at)],
        [EQUAL, shortText],
        [op, longText.substring(at + shortText.length)],
      ];
    }
    if (shortText.length === 1) {
      return [
        [DELETE, text1],
        [INSERT, text2],
      ];
    }
    // @sanity runs the half-match whatever the budget (the original skips it when unlimited).
    const halfMatch = this.findHalfMatch(start1, start2, text1, text2);
    if (halfMatch !== null) {
      const [midStart1, midEnd1, midStart2, midEnd2] = halfMatch;
      const diffs = this.diff(start1, midStart1, start2, midStart2);
      diffs.push([EQUAL, this.text1.substring(midStart1, midEnd1)]);
      for (const diff of this.diff(midEnd1, end1, midEnd2, end2)) diffs.push(diff);
      return diffs;
    }
    return this.bisect(start1, end1, start2, end2);
  }

  /**
   * dmp's half-match of text1 (at start1) and text2 (at start2): a substring of the shorter text,
   * at least half as long as the longer one, that both share (a speedup that can give a
   * non-minimal diff). Returns where it is in each.
   */
  private findHalfMatch(start1: number, start2: number, text1: string, text2: string): HalfMatch | null {
    const oneIsLonger = text1.length > text2.length;
    const longText = oneIsLonger ? text1 : text2;
    const shortText = oneIsLonger ? text2 : text1;
    if (longText.length < 4 || shortText.length * 2 < longText.length) return null;
    const longStart = oneIsLonger ? start1 : start2;
    const shortStart = oneIsLonger ? start2 : start1;
    // Seeds: the second and the third quarter of the longer text.
    const match1 = this.halfMatchAt(longText, longStart, shortText, shortStart, oneIsLonger, Math.ceil(longText.length / 4));
    const match2 = this.halfMatchAt(longText, longStart, shortText, shortStart, oneIsLonger, Math.ceil(longText.length / 2));
    // Both: the longer common part (the second on a tie).
    if (match1 !== null && match2 !== null) return match1[1] - match1[0] > match2[1] - match2[0] ? match1 : match2;
    return match1 ?? match2;
  }

  /** The longest common substring around each occurrence in shortText of longText's quarter at `start`, if ≥ half of longText. */
  private halfMatchAt(longText: string, longStart: number, shortText: string, shortStart: number, oneIsLonger: boolean, start: number): HalfMatch | null {
    const seed = longText.slice(start, start + Math.floor(longText.length / 4));
    const longCodes = oneIsLonger ? this.codes1 : this.codes2;
    const shortCodes = oneIsLonger ? this.codes2 : this.codes1;
    let bestLength = 0;
    let bestLong = 0;
    let bestShort = 0;
    for (let at = shortText.indexOf(seed); at !== -1; at = shortText.indexOf(seed, at + 1)) {
      // The common run around the seed, forwards and backwards, in absolute positions.
      const long = longStart + start;
      const short = shortStart + at;
      const forwardLimit = Math.min(longText.length - start, shortText.length - at);
      let prefixLength = 0;
      while (prefixLength < forwardLimit && longCodes[long + prefixLength] === shortCodes[short + prefixLength]) prefixLength += 1;
      const backwardLimit = Math.min(start, at);
      let suffixLength = 0;
      while (suffixLength < backwardLimit && longCodes[long - 1 - suffixLength] === shortCodes[short - 1 - suffixLength]) suffixLength += 1;
      if (bestLength < suffixLength + prefixLength) {
        bestLength = suffixLength + prefixLength;
        bestLong = long - suffixLength;
        bestShort = short - suffixLength;
      }
    }
    if (bestLength * 2 < longText.length) return null;
    return oneIsLonger ? [bestLong, bestLong + bestLength, bestShort, bestShort + bestLength] : [bestShort, bestShort + bestLength, bestLong, bestLong + bestLength];
  }

  /**
   * Myers' middle snake (An O(ND) Difference Algorithm and Its Variations, 1986): splits the
   * problem there and recurses. Past the deadline, the ranges are one delete and one insert.
   */
  private bisect(start1: number, end1: number, start2: number, end2: number): DiffSegment[] {
    const { codes1, codes2 } = this;
    const text1Length = end1 - start1;
    const text2Length = end2 - start2;
    const maxD = Math.ceil((text1Length + text2Length) / 2);
    const vOffset = maxD;
    const vLength = 2 * maxD;
    const [v1, v2] = bisectArrays(vLength);
    // dmp fills both V arrays with -1 up front; here only the window [low, high] the loops can
    // reach so far holds -1 or what they wrote, and it widens by one entry each side per step:
    // a diff rarely explores more than a few hundred diagonals of the texts' length.
    let low = Math.max(0, vOffset - 1);
    let high = Math.min(vLength - 1, vOffset + 1);
    v1.fill(-1, low, high + 1);
    v2.fill(-1, low, high + 1);
    v1[vOffset + 1] = 0;
    v2[vOffset + 1] = 0;
    const delta = text1Length - text2Length;
    // Odd delta: the front path detects the overlap, else the reverse one.
    const front = delta % 2 !== 0;
    // Offsets of the diagonals' ends that ran off the grid (they are not explored again).
    let k1start = 0;
    let k1end = 0;
    let k2start = 0;
    let k2end = 0;
    for (let d = 0; d < maxD; d++) {
      if (Date.now() > this.deadline) break;
      // Step d reads and writes diagonals -d-1 … d+1 (the cross checks below look anywhere,
      // and find -1 outside the window, as dmp's arrays hold there).
      if (low > 0 && low > vOffset - d - 1) {
        low -= 1;
        v1[low] = -1;
        v2[low] = -1;
      }
      if (high < vLength - 1 && high < vOffset + d + 1) {
        high += 1;
        v1[high] = -1;
        v2[high] = -1;
      }
      for (let k1 = -d + k1start; k1 <= d - k1end; k1 += 2) {
        const k1Offset = vOffset + k1;
        let x1 = k1 === -d || (k1 !== d && v1[k1Offset - 1]! < v1[k1Offset + 1]!) ? v1[k1Offset + 1]! : v1[k1Offset - 1]! + 1;
        let y1 = x1 - k1;
        while (x1 < text1Length && y1 < text2Length && codes1[start1 + x1] === codes2[start2 + y1]) {
          x1++;
          y1++;
        }
        v1[k1Offset] = x1;
        if (x1 > text1Length) {
          k1end += 2;
        } else if (y1 > text2Length) {
          k1start += 2;
        } else if (front) {
          const k2Offset = vOffset + delta - k1;
          if (k2Offset >= low && k2Offset <= high && v2[k2Offset] !== -1) {
            const x2 = text1Length - v2[k2Offset]!;
            if (x1 >= x2) return this.bisectSplit(start1, end1, start2, end2, x1, y1);
          }
        }
      }
      for (let k2 = -d + k2start; k2 <= d - k2end; k2 += 2) {
        const k2Offset = vOffset + k2;
        let x2 = k2 === -d || (k2 !== d && v2[k2Offset - 1]! < v2[k2Offset + 1]!) ? v2[k2Offset + 1]! : v2[k2Offset - 1]! + 1;
        let y2 = x2 - k2;
        while (x2 < text1Length && y2 < text2Length && codes1[end1 - x2 - 1] === codes2[end2 - y2 - 1]) {
          x2++;
          y2++;
        }
        v2[k2Offset] = x2;
        if (x2 > text1Length) {
          k2end += 2;
        } else if (y2 > text2Length) {
          k2start += 2;
        } else if (!front) {
          const k1Offset = vOffset + delta - k2;
          if (k1Offset >= low && k1Offset <= high && v1[k1Offset] !== -1) {
            const x1 = v1[k1Offset]!;
            const y1 = vOffset + x1 - k1Offset;
            if (x1 >= text1Length - x2) return this.bisectSplit(start1, end1, start2, end2, x1, y1);
          }
        }
      }
    }
    return [
      [DELETE, this.text1.substring(start1, end1)],
      [INSERT, this.text2.substring(start2, end2)],
    ];
  }

  private bisectSplit(start1: number, end1: number, start2: number, end2: number, x: number, y: number): DiffSegment[] {
    const diffs = this.diff(start1, start1 + x, start2, start2 + y);
    for (const diff of this.diff(start1 + x, end1, start2 + y, end2)) diffs.push(diff);
    return diffs;
  }
}

/**
 * Merges adjacent segments of the same kind, factors the common prefix and suffix of a delete
 * and an insert out into the equal texts around them, then slides single edits between two
 * equal texts sideways where that removes one of them (and merges again if it did). dmp edits
 * its array in place with a splice per change (quadratic: a second on a 20 000-segment diff);
 * here each pass copies the segments into a new array, taking the same steps in the same order.
 * Segments are reused and edited.
 */
function cleanupMerge(diffs: DiffSegment[]): DiffSegment[] {
  diffs.push([EQUAL, '']); // a sentinel at the end
  // `merged` is dmp's array up to its pointer: what the pass has already been through.
  const merged: DiffSegment[] = [];
  let countDelete = 0;
  let countInsert = 0;
  let textDelete = '';
  let textInsert = '';
  for (let pointer = 0; pointer < diffs.length; pointer++) {
    const segment = diffs[pointer]!;
    if (segment[0] === INSERT) {
      countInsert++;
      textInsert += segment[1];
      continue;
    }
    if (segment[0] === DELETE) {
      countDelete++;
      textDelete += segment[1];
      continue;
    }
    // An equal text: the end of a run of edits.
    if (countDelete + countInsert > 1) {
      if (countDelete !== 0 && countInsert !== 0) {
        // Factor out a common prefix, into the equal text before the run (dmp's splice at 0 when
        // there is none: the run starts the diff).
        let common = commonPrefix(textInsert, textDelete);
        if (common !== 0) {
          const before = merged[merged.length - 1];
          if (before !== undefined && before[0] === EQUAL) before[1] += textInsert.substring(0, common);
          else merged.unshift([EQUAL, textInsert.substring(0, common)]);
          textInsert = textInsert.substring(common);
          textDelete = textDelete.substring(common);
        }
        // Factor out a common suffix, into this equal text.
        common = commonSuffix(textInsert, textDelete);
        if (common !== 0) {
          segment[1] = textInsert.substring(textInsert.length - common) + segment[1];
          textInsert = textInsert.substring(0, textInsert.length - common);
          textDelete = textDelete.substring(0, textDelete.length - common);
        }
      }
      // The run becomes at most one delete and one insert (the equal text is not merged with one
      // before it, even if the run vanished).
      if (textDelete.length > 0) merged.push([DELETE, textDelete]);
      if (textInsert.length > 0) merged.push([INSERT, textInsert]);
      merged.push(segment);
    } else {
      // A single edit stays; an equal text right after another merges into it.
      if (countDelete + countInsert === 1) merged.push(diffs[pointer - 1]!);
      const before = merged[merged.length - 1];
      if (before !== undefined && before[0] === EQUAL) before[1] += segment[1];
      else merged.push(segment);
    }
    countInsert = 0;
    countDelete = 0;
    textDelete = '';
    textInsert = '';
  }
  if (merged[merged.length - 1]![1] === '') merged.pop();

  // Single edits surrounded by equal texts: shift them sideways to remove one equal text,
  // e.g. A<ins>BA</ins>C → <ins>AB</ins>AC. dmp's loop, with its array as `shifted` (up to the
  // edit) followed by merged[index..]: the text before the edit is the last of `shifted`.
  if (merged.length < 3) return merged;
  let changes = false;
  const shifted: DiffSegment[] = [merged[0]!];
  let index = 1;
  while (index < merged.length - 1) {
    const previous = shifted[shifted.length - 1]!;
    const current = merged[index]!;
    const next = merged[index + 1]!;
    if (previous[0] === EQUAL && next[0] === EQUAL) {
      if (current[1].substring(current[1].length - previous[1].length) === previous[1]) {
        current[1] = previous[1] + current[1].substring(0, current[1].length - previous[1].length);
        next[1] = previous[1] + next[1];
        // The equal text before goes; dmp's pointer then steps over `next`.
        shifted.pop();
        shifted.push(current, next);
        index += 2;
        changes = true;
        continue;
      }
      if (current[1].substring(0, next[1].length) === next[1]) {
        previous[1] += next[1];
        current[1] = current[1].substring(next[1].length) + next[1];
        // The equal text after goes.
        shifted.push(current);
        index += 2;
        changes = true;
        continue;
      }
    }
    shifted.push(current);
    index += 1;
  }
  for (; index < merged.length; index++) shifted.push(merged[index]!);
  return changes ? cleanupMerge(shifted) : shifted;
}

// ---- @sanity's surrogate-pair adjustment ------------------------------------------------------

function isHighSurrogate(char: string): boolean {
  const code = char.charCodeAt(0);
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(char: string): boolean {
  const code = char.charCodeAt(0);
  return code >= 0xdc00 && code <= 0xdfff;
}

function combineChar(data: string, char: string, dir: 1 | -1): string {
  return dir === 1 ? data + char : char + data;
}

function splitChar(data: string, dir: 1 | -1): [string, string] {
  return dir === 1 ? [data.substring(0, data.length - 1), data[data.length - 1]!] : [data.substring(1), data[0]!];
}

function hasSharedChar(diffs: DiffSegment[], i: number, j: number, dir: 1 | -1): boolean {
  return dir === 1 ? diffs[i]![1][diffs[i]![1].length - 1] === diffs[j]![1][diffs[j]![1].length - 1] : diffs[i]![1][0] === diffs[j]![1][0];
}

/**
 * Moves the last (dir 1) or first (dir -1) code unit of the equal text at `i` into the delete
 * and insert next to it on that side, or takes a code unit both of them share into the equal
 * text, or creates them. Mirrors @sanity's deisolateChar step for step, quirks included (when
 * the search runs off the start, the new segments are spliced in at index -1).
 */
function deisolateChar(diffs: DiffSegment[], i: number, dir: 1 | -1): void {
  const inv = dir === 1 ? -1 : 1;
  let insertIdx: number | null = null;
  let deleteIdx: number | null = null;
  let j = i + dir;
  for (; j >= 0 && j < diffs.length && (insertIdx === null || deleteIdx === null); j += dir) {
    const [op, text] = diffs[j]!;
    if (text.length === 0) continue;
    if (op === INSERT) {
      if (insertIdx === null) insertIdx = j;
      continue;
    } else if (op === DELETE) {
      if (deleteIdx === null) deleteIdx = j;
      continue;
    } else {
      if (insertIdx === null && deleteIdx === null) {
        // Two equal texts in a row (never in diffMain's output, which cleanupMerge has merged).
        const [rest, char] = splitChar(diffs[i]![1], dir);
        diffs[i]![1] = rest;
        diffs[j]![1] = combineChar(diffs[j]![1], char, inv);
        return;
      }
      break;
    }
  }
  if (insertIdx !== null && deleteIdx !== null && hasSharedChar(diffs, insertIdx, deleteIdx, dir)) {
    const [insertText, insertChar] = splitChar(diffs[insertIdx]![1], inv);
    const [deleteText] = splitChar(diffs[deleteIdx]![1], inv);
    diffs[insertIdx]![1] = insertText;
    diffs[deleteIdx]![1] = deleteText;
    diffs[i]![1] = combineChar(diffs[i]![1], insertChar, dir);
    return;
  }
  const [text, char] = splitChar(diffs[i]![1], dir);
  diffs[i]![1] = text;
  if (insertIdx === null) {
    diffs.splice(j, 0, [INSERT, char]);
    if (deleteIdx !== null && deleteIdx >= j) deleteIdx++;
  } else {
    diffs[insertIdx]![1] = combineChar(diffs[insertIdx]![1], char, inv);
  }
  if (deleteIdx === null) diffs.splice(j, 0, [DELETE, char]);
  else diffs[deleteIdx]![1] = combineChar(diffs[deleteIdx]![1], char, inv);
}

/** @sanity's pass over the raw diff: no equal text ends with a high or starts with a low surrogate. */
function adjustDiffForSurrogatePairs(diffs: DiffSegment[]): void {
  for (let i = 0; i < diffs.length; i++) {
    const [op, text] = diffs[i]!;
    if (text.length === 0) continue;
    // Read before the first move: the second test looks at the text as it was.
    const firstChar = text[0]!;
    const lastChar = text[text.length - 1]!;
    if (isHighSurrogate(lastChar) && op === EQUAL) deisolateChar(diffs, i, 1);
    if (isLowSurrogate(firstChar) && op === EQUAL) deisolateChar(diffs, i, -1);
  }
  // As @sanity does it: one pass without stepping back, so of two empty segments in a row one stays.
  for (let i = 0; i < diffs.length; i++) if (diffs[i]![1].length === 0) diffs.splice(i, 1);
}

// ---- semantic cleanup -------------------------------------------------------------------------

/**
 * @sanity's `cleanupSemantic`: removes equal texts no longer than the edits on both sides of
 * them, slides single edits to word and line boundaries, and turns an overlap of a delete and an
 * insert into an equal text. Returns new segments; `rawDiffs` is left as it was.
 */
export function cleanupSemantic(rawDiffs: readonly DiffSegment[]): DiffSegment[] {
  let diffs: DiffSegment[] = rawDiffs.map(([op, text]) => [op, text]);
  let changes = false;
  // Stack of indices of equal segments.
  const equalities: number[] = [];
  let equalitiesLength = 0;
  let lastEquality: string | null = null;
  // Lengths of the inserts and deletes before (1) and after (2) the last equality.
  let lengthInsertions1 = 0;
  let lengthDeletions1 = 0;
  let lengthInsertions2 = 0;
  let lengthDeletions2 = 0;
  for (let pointer = 0; pointer < diffs.length; pointer++) {
    const [op, text] = diffs[pointer]!;
    if (op === EQUAL) {
      equalities[equalitiesLength++] = pointer;
      lengthInsertions1 = lengthInsertions2;
      lengthDeletions1 = lengthDeletions2;
      lengthInsertions2 = 0;
      lengthDeletions2 = 0;
      lastEquality = text;
      continue;
    }
    if (op === INSERT) lengthInsertions2 += text.length;
    else lengthDeletions2 += text.length;
    // An empty equality is never eliminated (it is falsy in @sanity's test).
    if (
      lastEquality !== null &&
      lastEquality !== '' &&
      lastEquality.length <= Math.max(lengthInsertions1, lengthDeletions1) &&
      lastEquality.length <= Math.max(lengthInsertions2, lengthDeletions2)
    ) {
      // The equality becomes a delete and an insert.
      const at = equalities[equalitiesLength - 1]!;
      diffs.splice(at, 0, [DELETE, lastEquality]);
      diffs[at + 1]![0] = INSERT;
      // Drop it and the one before (re-evaluated from there).
      equalitiesLength -= 2;
      pointer = equalitiesLength > 0 ? equalities[equalitiesLength - 1]! : -1;
      lengthInsertions1 = 0;
      lengthDeletions1 = 0;
      lengthInsertions2 = 0;
      lengthDeletions2 = 0;
      lastEquality = null;
      changes = true;
    }
  }
  if (changes) diffs = cleanupMerge(diffs);
  cleanupSemanticLossless(diffs);

  // Overlaps of a delete and the insert after it, e.g. <del>abcxxx</del><ins>xxxdef</ins> →
  // <del>abc</del>xxx<ins>def</ins>, kept when the overlap is at least half of either edit.
  for (let pointer = 1; pointer < diffs.length; pointer++) {
    if (diffs[pointer - 1]![0] === DELETE && diffs[pointer]![0] === INSERT) {
      const deletion = diffs[pointer - 1]![1];
      const insertion = diffs[pointer]![1];
      const overlapLength1 = commonOverlap(deletion, insertion);
      const overlapLength2 = commonOverlap(insertion, deletion);
      if (overlapLength1 >= overlapLength2) {
        if (overlapLength1 >= deletion.length / 2 || overlapLength1 >= insertion.length / 2) {
          diffs.splice(pointer, 0, [EQUAL, insertion.substring(0, overlapLength1)]);
          diffs[pointer - 1]![1] = deletion.substring(0, deletion.length - overlapLength1);
          diffs[pointer + 1]![1] = insertion.substring(overlapLength1);
          pointer++;
        }
      } else if (overlapLength2 >= deletion.length / 2 || overlapLength2 >= insertion.length / 2) {
        // Reverse overlap: the insert comes first.
        diffs.splice(pointer, 0, [EQUAL, deletion.substring(0, overlapLength2)]);
        diffs[pointer - 1]![0] = INSERT;
        diffs[pointer - 1]![1] = insertion.substring(0, insertion.length - overlapLength2);
        diffs[pointer + 1]![0] = DELETE;
        diffs[pointer + 1]![1] = deletion.substring(overlapLength2);
        pointer++;
      }
      pointer++;
    }
  }
  return diffs;
}

/** Length of the longest suffix of textA that is a prefix of textB. */
function commonOverlap(textA: string, textB: string): number {
  let text1 = textA;
  let text2 = textB;
  const text1Length = text1.length;
  const text2Length = text2.length;
  if (text1Length === 0 || text2Length === 0) return 0;
  if (text1Length > text2Length) text1 = text1.substring(text1Length - text2Length);
  else if (text1Length < text2Length) text2 = text2.substring(0, text1Length);
  const textLength = Math.min(text1Length, text2Length);
  if (text1 === text2) return textLength;
  // Grow a candidate suffix of text1 while it occurs in text2 (Neil Fraser's overlap search).
  let best = 0;
  let length = 1;
  for (;;) {
    const pattern = text1.substring(textLength - length);
    const found = text2.indexOf(pattern);
    if (found === -1) return best;
    length += found;
    if (found === 0 || text1.substring(textLength - length) === text2.substring(0, length)) {
      best = length;
      length++;
    }
  }
}

/**
 * Slides each single edit between two equal texts to where its ends score best (a blank line,
 * a line break, the end of a sentence, whitespace, other punctuation). In place.
 */
function cleanupSemanticLossless(diffs: DiffSegment[]): void {
  for (let pointer = 1; pointer < diffs.length - 1; pointer++) {
    if (diffs[pointer - 1]![0] !== EQUAL || diffs[pointer + 1]![0] !== EQUAL) continue;
    let equality1 = diffs[pointer - 1]![1];
    let edit = diffs[pointer]![1];
    let equality2 = diffs[pointer + 1]![1];
    // First shift the edit as far left as possible.
    const commonOffset = commonSuffix(equality1, edit);
    if (commonOffset > 0) {
      const commonString = edit.substring(edit.length - commonOffset);
      equality1 = equality1.substring(0, equality1.length - commonOffset);
      edit = commonString + edit.substring(0, edit.length - commonOffset);
      equality2 = commonString + equality2;
    }
    // Then step right one code unit at a time, keeping the best (rightmost of equal) score.
    let bestEquality1 = equality1;
    let bestEdit = edit;
    let bestEquality2 = equality2;
    let bestScore = semanticScore(equality1, edit) + semanticScore(edit, equality2);
    while (edit.length > 0 && equality2.length > 0 && edit.charCodeAt(0) === equality2.charCodeAt(0)) {
      equality1 += edit[0];
      edit = edit.substring(1) + equality2[0];
      equality2 = equality2.substring(1);
      const score = semanticScore(equality1, edit) + semanticScore(edit, equality2);
      if (score >= bestScore) {
        bestScore = score;
        bestEquality1 = equality1;
        bestEdit = edit;
        bestEquality2 = equality2;
      }
    }
    if (diffs[pointer - 1]![1] !== bestEquality1) {
      // An improvement: save it, dropping an equal text that became empty.
      if (bestEquality1 !== '') {
        diffs[pointer - 1]![1] = bestEquality1;
      } else {
        diffs.splice(pointer - 1, 1);
        pointer--;
      }
      diffs[pointer]![1] = bestEdit;
      if (bestEquality2 !== '') {
        diffs[pointer + 1]![1] = bestEquality2;
      } else {
        diffs.splice(pointer + 1, 1);
        pointer--;
      }
    }
  }
}

/**
 * How good a boundary between `one` and `two` is, 6 (an end of the text) down to 0 (inside a
 * word). @sanity's diffCleanupSemanticScore, with its regular expressions as char-code tests:
 * non-alphanumeric = not ASCII [a-zA-Z0-9]; whitespace = JavaScript's `\s`.
 */
function semanticScore(one: string, two: string): number {
  if (one === '' || two === '') return 6;
  const char1 = one.charCodeAt(one.length - 1);
  const char2 = two.charCodeAt(0);
  const nonAlphaNumeric1 = !isAsciiAlphanumeric(char1);
  const nonAlphaNumeric2 = !isAsciiAlphanumeric(char2);
  const whitespace1 = nonAlphaNumeric1 && isRegExpWhitespace(char1);
  const whitespace2 = nonAlphaNumeric2 && isRegExpWhitespace(char2);
  const lineBreak1 = whitespace1 && (char1 === 0x0d || char1 === 0x0a);
  const lineBreak2 = whitespace2 && (char2 === 0x0d || char2 === 0x0a);
  const blankLine1 = lineBreak1 && endsWithBlankLine(one);
  const blankLine2 = lineBreak2 && startsWithBlankLine(two);
  if (blankLine1 || blankLine2) return 5;
  if (lineBreak1 || lineBreak2) return 4;
  if (nonAlphaNumeric1 && !whitespace1 && whitespace2) return 3; // the end of a sentence
  if (whitespace1 || whitespace2) return 2;
  if (nonAlphaNumeric1 || nonAlphaNumeric2) return 1;
  return 0;
}

function isAsciiAlphanumeric(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39);
}

/** JavaScript's `\s` for one code unit: WhiteSpace and LineTerminator of ECMAScript. */
export function isRegExpWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** `/\n\r?\n$/`: ends with "\n\n" or "\n\r\n". */
function endsWithBlankLine(text: string): boolean {
  const length = text.length;
  if (length < 2 || text.charCodeAt(length - 1) !== 0x0a) return false;
  const before = text.charCodeAt(length - 2);
  if (before === 0x0a) return true;
  return before === 0x0d && length >= 3 && text.charCodeAt(length - 3) === 0x0a;
}

/** `/^\r?\n\r?\n/`: starts with a line break, an optional "\r", then "\n". */
function startsWithBlankLine(text: string): boolean {
  let at = 0;
  if (text.charCodeAt(at) === 0x0d) at++;
  if (text.charCodeAt(at) !== 0x0a) return false;
  at++;
  if (text.charCodeAt(at) === 0x0d) at++;
  return text.charCodeAt(at) === 0x0a;
}
