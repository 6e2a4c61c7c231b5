// A port of the alignment part of Python's difflib.SequenceMatcher (Ratcliff–Obershelp: longest
// matching block, then recurse on both sides; autojunk on by default), because the links diff must
// align the same way the anchor does. Hand-written: the only npm port (`difflib`, unmaintained since
// 2014) keys items by string coercion, so it cannot align objects under a custom equality.
//
// Python compares items with `hash` (dict lookups: seeds) and `==` (extending a match). Here that is
// `key` and `equal`; as in Python, equal keys must imply `equal`, but `equal` may be looser.
// No `isjunk` support (the links diff does not use it), so nothing is junk except "popular" items.

export interface SequenceMatcherOptions<T> {
  /** Hash of an item: seeds of a match need equal keys. */
  key(item: T): string;
  /** Equality used to extend a seed into a longer match. Must be true when keys are equal. */
  equal(x: T, y: T): boolean;
  /** Python's autojunk: with 200+ items in `b`, items that fill over 1 % of it never seed a match. Default true. */
  autojunk?: boolean;
}

/** A run `a[aStart..aStart+size)` matching `b[bStart..bStart+size)`. */
export interface MatchingBlock {
  aStart: number;
  bStart: number;
  size: number;
}

export type OpcodeTag = 'equal' | 'replace' | 'delete' | 'insert';

/** Turns `a[aStart..aEnd)` into `b[bStart..bEnd)`, as difflib's `get_opcodes`. */
export interface Opcode {
  tag: OpcodeTag;
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
}

export class SequenceMatcher<T> {
  readonly #a: readonly T[];
  readonly #b: readonly T[];
  readonly #key: (item: T) => string;
  readonly #equal: (x: T, y: T) => boolean;
  /** Key → ascending indices in b (popular keys removed). */
  readonly #bIndicesByKey = new Map<string, number[]>();
  #aKeys: string[];

  constructor(a: readonly T[], b: readonly T[], options: SequenceMatcherOptions<T>) {
    this.#a = a;
    this.#b = b;
    this.#key = options.key;
    this.#equal = options.equal;
    this.#aKeys = a.map((item) => options.key(item));
    for (let j = 0; j < b.length; j += 1) {
      const key = this.#key(b[j]!);
      const indices = this.#bIndicesByKey.get(key);
      if (indices === undefined) this.#bIndicesByKey.set(key, [j]);
      else indices.push(j);
    }
    if ((options.autojunk ?? true) && b.length >= 200) {
      const popularAbove = Math.floor(b.length / 100) + 1;
      for (const [key, indices] of this.#bIndicesByKey) {
        if (indices.length > popularAbove) this.#bIndicesByKey.delete(key);
      }
    }
  }

  /** Longest matching block in a[aLow..aHigh) × b[bLow..bHigh); the earliest in a (then b) on ties. */
  findLongestMatch(aLow: number, aHigh: number, bLow: number, bHigh: number): MatchingBlock {
    const a = this.#a;
    const b = this.#b;
    let bestI = aLow;
    let bestJ = bLow;
    let bestSize = 0;
    // Length of the match ending at (i-1, j), by j; rebuilt per i (difflib's j2len).
    let lengthEndingAt = new Map<number, number>();
    for (let i = aLow; i < aHigh; i += 1) {
      const next = new Map<number, number>();
      const indices = this.#bIndicesByKey.get(this.#aKeys[i]!);
      if (indices !== undefined) {
        for (const j of indices) {
          if (j < bLow) continue;
          if (j >= bHigh) break;
          const size = (lengthEndingAt.get(j - 1) ?? 0) + 1;
          next.set(j, size);
          if (size > bestSize) {
            bestI = i - size + 1;
            bestJ = j - size + 1;
            bestSize = size;
          }
        }
      }
      lengthEndingAt = next;
    }
    // Extend with the looser equality on both ends (difflib does this even when no seed was found).
    while (bestI > aLow && bestJ > bLow && this.#equal(a[bestI - 1]!, b[bestJ - 1]!)) {
      bestI -= 1;
      bestJ -= 1;
      bestSize += 1;
    }
    while (bestI + bestSize < aHigh && bestJ + bestSize < bHigh && this.#equal(a[bestI + bestSize]!, b[bestJ + bestSize]!)) {
      bestSize += 1;
    }
    return { aStart: bestI, bStart: bestJ, size: bestSize };
  }

  /** Non-adjacent matching blocks in order, ending with the sentinel `{a.length, b.length, 0}`. */
  getMatchingBlocks(): MatchingBlock[] {
    const found: MatchingBlock[] = [];
    const queue: [number, number, number, number][] = [[0, this.#a.length, 0, this.#b.length]];
    while (queue.length > 0) {
      const [aLow, aHigh, bLow, bHigh] = queue.pop()!;
      const match = this.findLongestMatch(aLow, aHigh, bLow, bHigh);
      if (match.size === 0) continue;
      found.push(match);
      if (aLow < match.aStart && bLow < match.bStart) queue.push([aLow, match.aStart, bLow, match.bStart]);
      const aAfter = match.aStart + match.size;
      const bAfter = match.bStart + match.size;
      if (aAfter < aHigh && bAfter < bHigh) queue.push([aAfter, aHigh, bAfter, bHigh]);
    }
    found.sort((x, y) => x.aStart - y.aStart || x.bStart - y.bStart || x.size - y.size);

    const blocks: MatchingBlock[] = [];
    let current: MatchingBlock = { aStart: 0, bStart: 0, size: 0 };
    for (const block of found) {
      if (current.aStart + current.size === block.aStart && current.bStart + current.size === block.bStart) {
        current = { ...current, size: current.size + block.size };
      } else {
        if (current.size > 0) blocks.push(current);
        current = block;
      }
    }
    if (current.size > 0) blocks.push(current);
    blocks.push({ aStart: this.#a.length, bStart: this.#b.length, size: 0 });
    return blocks;
  }

  getOpcodes(): Opcode[] {
    const opcodes: Opcode[] = [];
    let i = 0;
    let j = 0;
    for (const { aStart, bStart, size } of this.getMatchingBlocks()) {
      const tag: OpcodeTag | undefined =
        i < aStart && j < bStart ? 'replace' : i < aStart ? 'delete' : j < bStart ? 'insert' : undefined;
      if (tag !== undefined) opcodes.push({ tag, aStart: i, aEnd: aStart, bStart: j, bEnd: bStart });
      i = aStart + size;
      j = bStart + size;
      if (size > 0) opcodes.push({ tag: 'equal', aStart, aEnd: i, bStart, bEnd: j });
    }
    return opcodes;
  }
}
