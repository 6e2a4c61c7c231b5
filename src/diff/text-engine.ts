// The diff engine behind html_text_dmp and html_source_dmp: diff-match-patch as the anchor calls
// it (no line mode, semantic cleanup, a time budget; dmp-core.ts, a port of
// @sanity/diff-match-patch with identical output), plus two diffguard extensions:
// - granularity `word` / `line`: each distinct token becomes one UTF-16 code unit, the code-unit
//   strings are diffed, and the result is mapped back (dmp's own linesToChars trick);
// - context N: long equal runs are cut down to N units around each change (see applyContext).

import { cleanupSemantic, diffMain } from './dmp-core.ts';
import type { DiffSegment } from './types.ts';
import { isPythonWhitespace } from './visible-text.ts';

export type Granularity = 'char' | 'word' | 'line';
export const GRANULARITIES: readonly Granularity[] = ['char', 'word', 'line'];

export interface TextDiffOptions {
  /** dmp time budget in ms (a quality knob: past it the diff gets coarser, never wrong). */
  timeoutMs: number;
  granularity: Granularity;
  /** Units of context kept around changes (see applyContext); null keeps the whole diff. */
  context: number | null;
}

export interface TextDiffResult {
  segments: DiffSegment[];
  /** Granularity actually used: `char` when word/line had more distinct tokens than code units. */
  granularity: Granularity;
}

/**
 * Diffs two texts at the requested granularity. Without context, equal + deleted segments
 * rebuild `a` and equal + inserted rebuild `b`.
 */
export function diffTextUnits(a: string, b: string, options: TextDiffOptions): TextDiffResult {
  if (options.granularity !== 'char') {
    const encoding = encodeTokens(a, b, options.granularity);
    if (encoding !== null) {
      // No semantic cleanup on token ids: its scoring reads ids as characters (whitespace,
      // punctuation) and its merging would fold a single equal line between two changed ones
      // into one big replacement. The raw token diff is minimal and reads like wdiff / diff.
      let encoded = diffWholeTexts(encoding.a, encoding.b, options.timeoutMs, { semanticCleanup: false });
      // Context is cut before decoding, where one code unit is one token.
      if (options.context !== null) encoded = applyContext(encoded, options.context, codeUnitUnits);
      return { segments: decodeSegments(encoded, encoding.tokens), granularity: options.granularity };
    }
  }
  let segments = diffWholeTexts(a, b, options.timeoutMs);
  if (options.context !== null) segments = applyContext(segments, options.context, codePointUnits);
  return { segments, granularity: 'char' };
}

/**
 * diff-match-patch on the whole texts, as the anchor calls it: one `diffMain` (@sanity's
 * `makeDiff`, which strips the common prefix and suffix itself, diffs the middle, then runs
 * cleanupMerge over the re-joined result, which can slide an edit into the prefix), then semantic
 * cleanup over all of it. Nothing is trimmed beforehand: any pre-trimming skips that cleanupMerge
 * and gives different segments on a few percent of small edits. `semanticCleanup: false` returns
 * dmp's raw (minimal) diff.
 * Surrogate pairs are never split.
 */
export function diffWholeTexts(a: string, b: string, timeoutMs: number, { semanticCleanup = true } = {}): DiffSegment[] {
  if (a === b) return a === '' ? [] : [[0, a]];
  // At least 1 ms: a budget of 0 would give up at once (and @sanity read 0 as "1 s").
  const raw = diffMain(a, b, Date.now() + Math.max(timeoutMs, 1));
  return keepSurrogatePairsWhole(semanticCleanup ? cleanupSemantic(raw) : raw);
}

/**
 * Moves segment boundaries that fall inside a surrogate pair. @sanity/diff-match-patch keeps
 * pairs whole in its raw diff, but semantic cleanup can split them again: it factors the shared
 * high surrogate of 👌/👈 out of a delete and an insert into the equal text before them. An equal
 * segment that ends with a high surrogate gives it to the delete and the insert after it; one that
 * starts with a low surrogate gives it to those before it. Both texts still rebuild exactly.
 * Returns the input itself when nothing is split (the common case).
 */
export function keepSurrogatePairsWhole(segments: DiffSegment[]): DiffSegment[] {
  const splitsAPair = segments.some(
    ([op, text], index) =>
      op === 0 &&
      ((index < segments.length - 1 && isHighSurrogate(text.charCodeAt(text.length - 1))) ||
        (index > 0 && isLowSurrogate(text.charCodeAt(0)))),
  );
  if (!splitsAPair) return segments;

  // Blocks: an equal text, or one change run (everything deleted and inserted between two equals).
  type Block = { equal: string } | { deleted: string; inserted: string };
  const blocks: Block[] = [];
  for (const [op, text] of segments) {
    const last = blocks[blocks.length - 1];
    if (op === 0) blocks.push({ equal: text });
    else if (last !== undefined && !('equal' in last)) {
      if (op === -1) last.deleted += text;
      else last.inserted += text;
    } else blocks.push(op === -1 ? { deleted: text, inserted: '' } : { deleted: '', inserted: text });
  }
  for (let index = 0; index < blocks.length; index += 1) {
    const block = blocks[index]!;
    if (!('equal' in block)) continue;
    if (index > 0 && isLowSurrogate(block.equal.charCodeAt(0))) {
      let previous = blocks[index - 1]!;
      if ('equal' in previous) {
        // Two equal blocks in a row (not produced by dmp): give the pair a change run of its own.
        previous = { deleted: '', inserted: '' };
        blocks.splice(index, 0, previous);
        index += 1;
      }
      previous.deleted += block.equal[0];
      previous.inserted += block.equal[0];
      block.equal = block.equal.slice(1);
    }
    if (index < blocks.length - 1 && isHighSurrogate(block.equal.charCodeAt(block.equal.length - 1))) {
      let next = blocks[index + 1]!;
      if ('equal' in next) {
        next = { deleted: '', inserted: '' };
        blocks.splice(index + 1, 0, next);
      }
      next.deleted = block.equal[block.equal.length - 1] + next.deleted;
      next.inserted = block.equal[block.equal.length - 1] + next.inserted;
      block.equal = block.equal.slice(0, -1);
    }
  }
  // The moves can leave a whole shared code point at either end of a change run (👌👈 → 👈):
  // hand it to the equal text beside it, as cleanup does for single code units.
  for (let index = 0; index < blocks.length; index += 1) {
    const block = blocks[index]!;
    if ('equal' in block || block.deleted === '' || block.inserted === '') continue;
    const prefix = commonPrefixLength(block.deleted, block.inserted);
    if (prefix > 0) {
      const previous = blocks[index - 1];
      if (previous !== undefined && 'equal' in previous) {
        previous.equal += block.deleted.slice(0, prefix);
      } else {
        blocks.splice(index, 0, { equal: block.deleted.slice(0, prefix) });
        index += 1;
      }
      block.deleted = block.deleted.slice(prefix);
      block.inserted = block.inserted.slice(prefix);
    }
    const suffix = commonSuffixLength(block.deleted, block.inserted);
    if (suffix > 0) {
      const shared = block.deleted.slice(block.deleted.length - suffix);
      const next = blocks[index + 1];
      if (next !== undefined && 'equal' in next) next.equal = shared + next.equal;
      else blocks.splice(index + 1, 0, { equal: shared });
      block.deleted = block.deleted.slice(0, block.deleted.length - suffix);
      block.inserted = block.inserted.slice(0, block.inserted.length - suffix);
    }
  }
  const out: DiffSegment[] = [];
  let pendingDeleted = '';
  let pendingInserted = '';
  const flush = (): void => {
    if (pendingDeleted !== '') out.push([-1, pendingDeleted]);
    if (pendingInserted !== '') out.push([1, pendingInserted]);
    pendingDeleted = '';
    pendingInserted = '';
  };
  for (const block of blocks) {
    if ('equal' in block) {
      // An equal text emptied by the moves vanishes, and the change runs around it merge.
      if (block.equal === '') continue;
      flush();
      out.push([0, block.equal]);
    } else {
      pendingDeleted += block.deleted;
      pendingInserted += block.inserted;
    }
  }
  flush();
  return out;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Length of the common prefix, never ending inside a surrogate pair. */
export function commonPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let length = 0;
  while (length < limit && a.charCodeAt(length) === b.charCodeAt(length)) length += 1;
  if (length > 0 && isHighSurrogate(a.charCodeAt(length - 1))) length -= 1;
  return length;
}

/** Length of the common suffix within what follows `prefixLength`, never starting inside a surrogate pair. */
export function commonSuffixLength(a: string, b: string, prefixLength = 0): number {
  const limit = Math.min(a.length, b.length) - prefixLength;
  let length = 0;
  while (length < limit && a.charCodeAt(a.length - 1 - length) === b.charCodeAt(b.length - 1 - length)) length += 1;
  if (length > 0 && isLowSurrogate(a.charCodeAt(a.length - length))) length -= 1;
  return length;
}

// ---- word / line tokens ---------------------------------------------------------------------

/** Code units usable as token ids: all of UTF-16 but the surrogate range, so no id pairs up with another. */
export const MAX_DISTINCT_TOKENS = 0x10000 - 0x800;

/**
 * Calls `onToken` for each token of `text` in order, until it returns false. Lines: each line
 * with its "\n". Words: a run of letters/digits/marks/underscore, a run of whitespace, or any
 * other single code point. Hand-written rather than a regex: it avoids a match object per
 * token, which halves the time on multi-megabyte texts.
 */
export function forEachToken(text: string, granularity: 'word' | 'line', onToken: (token: string) => boolean): void {
  if (granularity === 'line') {
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf('\n', start);
      const end = newline === -1 ? text.length : newline + 1;
      if (!onToken(text.slice(start, end))) return;
      start = end;
    }
    return;
  }
  let start = 0;
  while (start < text.length) {
    const kind = charKindAt(text, start);
    let end = start + codePointWidthAt(text, start);
    if (kind !== CHAR_OTHER) {
      while (end < text.length && charKindAt(text, end) === kind) end += codePointWidthAt(text, end);
    }
    if (!onToken(text.slice(start, end))) return;
    start = end;
  }
}

const CHAR_WORD = 1;
const CHAR_SPACE = 2;
const CHAR_OTHER = 3;
const WORD_CHAR = /^[\p{L}\p{N}\p{M}_]$/u;
/** Kind of each code point, filled in on first sight (0 = not yet known); 1.1 MB, allocated on first use. */
let charKinds: Uint8Array | undefined;

function charKindAt(text: string, index: number): number {
  const code = text.codePointAt(index)!;
  if (code < 0x80) {
    if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f) return CHAR_WORD;
    return isPythonWhitespace(code) ? CHAR_SPACE : CHAR_OTHER;
  }
  charKinds ??= new Uint8Array(0x110000);
  let kind = charKinds[code]!;
  if (kind === 0) {
    kind = isPythonWhitespace(code) ? CHAR_SPACE : WORD_CHAR.test(String.fromCodePoint(code)) ? CHAR_WORD : CHAR_OTHER;
    charKinds[code] = kind;
  }
  return kind;
}

/** Splits `text` into its tokens (for tests and callers that want the list; the diff itself streams). */
export function tokenize(text: string, granularity: 'word' | 'line'): string[] {
  const tokens: string[] = [];
  forEachToken(text, granularity, (token) => {
    tokens.push(token);
    return true;
  });
  return tokens;
}

export interface TokenEncoding {
  a: string;
  b: string;
  /** Token text by id (the id is the code unit that stands for it; no entries in the surrogate range). */
  tokens: string[];
}

/** One code unit per token, shared ids across both texts; null when there are more distinct tokens than ids. */
export function encodeTokens(a: string, b: string, granularity: 'word' | 'line'): TokenEncoding | null {
  const idByToken = new Map<string, number>();
  const tokens: string[] = [];
  let distinct = 0;
  const encodeOne = (text: string): string | null => {
    // Token count ≤ text length; a typed buffer avoids one string per token.
    const units = new Uint16Array(text.length);
    let count = 0;
    let overflow = false;
    forEachToken(text, granularity, (token) => {
      let id = idByToken.get(token);
      if (id === undefined) {
        if (distinct >= MAX_DISTINCT_TOKENS) {
          overflow = true;
          return false;
        }
        id = tokenIdFor(distinct);
        distinct += 1;
        idByToken.set(token, id);
        tokens[id] = token;
      }
      units[count] = id;
      count += 1;
      return true;
    });
    return overflow ? null : codeUnitsToString(units.subarray(0, count));
  };
  const encodedA = encodeOne(a);
  if (encodedA === null) return null;
  const encodedB = encodeOne(b);
  if (encodedB === null) return null;
  return { a: encodedA, b: encodedB, tokens };
}

/** The n-th id: code units in order, jumping over the surrogate range. */
function tokenIdFor(index: number): number {
  return index < 0xd800 ? index : index + 0x800;
}

function codeUnitsToString(units: Uint16Array): string {
  const chunks: string[] = [];
  const chunkSize = 8192; // stays well under the engine's argument-count limit for apply
  for (let start = 0; start < units.length; start += chunkSize) {
    chunks.push(String.fromCharCode.apply(null, units.subarray(start, start + chunkSize) as unknown as number[]));
  }
  return chunks.join('');
}

function decodeSegments(segments: readonly DiffSegment[], tokens: readonly string[]): DiffSegment[] {
  return segments.map(([op, encoded]) => {
    const parts: string[] = new Array<string>(encoded.length);
    for (let i = 0; i < encoded.length; i += 1) parts[i] = tokens[encoded.charCodeAt(i)]!;
    return [op, parts.join('')] as DiffSegment;
  });
}

// ---- context ----------------------------------------------------------------------------------

/**
 * Keeps only `context` (≥ 1) units of each equal segment next to a change. An equal run between
 * two changes that has more than 2 × context units becomes two equal segments, its head and its
 * tail: two adjacent equal segments therefore always mark text left out between them (dmp never
 * emits two in a row). A leading equal run keeps only its tail and a trailing one only its head,
 * so text may be left out before the first segment and after the last. No segment is ever empty,
 * and a diff without changes becomes `[]`. Units: code points by default (a pair is never split);
 * code units of token-encoded text.
 */
export function applyContext(segments: readonly DiffSegment[], context: number, units: UnitCutter = codePointUnits): DiffSegment[] {
  // With 0 a run between two changes would vanish, and the changes on either side would read as one.
  if (!Number.isSafeInteger(context) || context < 1) throw new RangeError(`context must be a whole number ≥ 1, got ${context}`);
  if (segments.every(([op]) => op === 0)) return [];
  const out: DiffSegment[] = [];
  segments.forEach((segment, index) => {
    const [op, text] = segment;
    if (op !== 0) {
      out.push(segment);
      return;
    }
    const keepHead = index === 0 ? 0 : context;
    const keepTail = index === segments.length - 1 ? 0 : context;
    if (units.countUpTo(text, keepHead + keepTail + 1) <= keepHead + keepTail) {
      out.push(segment);
      return;
    }
    if (keepHead > 0) out.push([0, units.head(text, keepHead)]);
    if (keepTail > 0) out.push([0, units.tail(text, keepTail)]);
  });
  return out;
}

export interface UnitCutter {
  /** Number of units in `text`, counting no further than `limit`. */
  countUpTo(text: string, limit: number): number;
  head(text: string, count: number): string;
  tail(text: string, count: number): string;
}

/** Units of token-encoded text: one code unit is one token. */
const codeUnitUnits: UnitCutter = {
  countUpTo: (text, limit) => Math.min(text.length, limit),
  head: (text, count) => text.slice(0, count),
  tail: (text, count) => (count === 0 ? '' : text.slice(Math.max(text.length - count, 0))),
};

/** Units of plain text: code points, so a surrogate pair is never split. */
const codePointUnits: UnitCutter = {
  countUpTo(text, limit) {
    let count = 0;
    for (let i = 0; i < text.length && count < limit; i += codePointWidthAt(text, i)) count += 1;
    return count;
  },
  head(text, count) {
    let end = 0;
    for (let taken = 0; taken < count && end < text.length; taken += 1) end += codePointWidthAt(text, end);
    return text.slice(0, end);
  },
  tail(text, count) {
    let start = text.length;
    for (let taken = 0; taken < count && start > 0; taken += 1) {
      start -= start >= 2 && isLowSurrogate(text.charCodeAt(start - 1)) && isHighSurrogate(text.charCodeAt(start - 2)) ? 2 : 1;
    }
    return text.slice(start);
  },
};

function codePointWidthAt(text: string, index: number): number {
  return isHighSurrogate(text.charCodeAt(index)) && isLowSurrogate(text.charCodeAt(index + 1)) ? 2 : 1;
}
