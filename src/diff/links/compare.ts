// Compares two pages' link lists as the anchor does (spec/html-token.md §3.12 steps 5–9):
// de-duplicate, sort, align with SequenceMatcher under "rough equality" (same href or same
// lower-cased text), pull roughly-equal neighbours into equal blocks, then emit entries.
// Difference from the anchor: identity compares text exactly, so case-only changes are reported.

import type { DiffSegment } from '../types.ts';
import type { Link } from './extract.ts';
import { SequenceMatcher } from './sequence-matcher.ts';

/** A link whose text or href changed (code 100). */
export interface ChangedLink {
  text: DiffSegment[];
  href: DiffSegment[];
  hrefs: [string, string];
  resolved_hrefs: [string, string];
}

export type LinkDiffEntry = [0 | 1 | -1, Link] | [100, ChangedLink];

/** Diffs two strings (the nested text and href diffs of a changed link). */
export type Subdiff = (a: string, b: string) => DiffSegment[];

interface PreparedLink {
  link: Link;
  identity: string;
  lowerText: string;
}

/** Orders strings by code point, as Python does (plain `<` orders by UTF-16 unit). */
export function compareCodePoints(x: string, y: string): number {
  const length = Math.min(x.length, y.length);
  for (let k = 0; k < length; k += 1) {
    const cx = x.charCodeAt(k);
    const cy = y.charCodeAt(k);
    if (cx !== cy) {
      // Surrogates (astral characters) sort after U+E000–U+FFFF by code point.
      const rank = (c: number): number => (c >= 0xe000 ? c - 0x800 : c >= 0xd800 ? c + 0x2000 : c);
      return rank(cx) - rank(cy);
    }
  }
  return x.length - y.length;
}

/** De-duplicates by identity (first occurrence wins) and sorts by lower-cased text, then href. */
export function prepareLinks(links: readonly Link[]): PreparedLink[] {
  const seen = new Set<string>();
  const prepared: { item: PreparedLink; sortKey: string }[] = [];
  for (const link of links) {
    const identity = JSON.stringify([link.href, link.text]);
    if (seen.has(identity)) continue;
    seen.add(identity);
    const lowerText = link.text.toLowerCase();
    prepared.push({ item: { link, identity, lowerText }, sortKey: `${lowerText}(${link.href})` });
  }
  prepared.sort((x, y) => compareCodePoints(x.sortKey, y.sortKey));
  return prepared.map(({ item }) => item);
}

function roughlyEqual(x: PreparedLink, y: PreparedLink): boolean {
  return x.link.href === y.link.href || x.lowerText === y.lowerText;
}

interface Block {
  equal: boolean;
  a: PreparedLink[];
  b: PreparedLink[];
}

/** How many items at the start (or end) of `items` are roughly equal to `reference`. */
function countRoughRun(items: readonly PreparedLink[], reference: PreparedLink, fromEnd: boolean): number {
  let count = 0;
  while (count < items.length && roughlyEqual(items[fromEnd ? items.length - 1 - count : count]!, reference)) count += 1;
  return count;
}

/**
 * SequenceMatcher can leave a roughly-equal link outside the equal block it belongs to (two
 * "Pony time!" links, one of which survives): move such runs next to an equal block into it.
 */
function absorbRoughNeighbours(blocks: Block[]): void {
  for (let k = 0; k < blocks.length; k += 1) {
    const block = blocks[k]!;
    if (block.equal) continue;
    const before = blocks[k - 1];
    if (before?.equal) {
      const reference = before.a[before.a.length - 1]!;
      before.a = before.a.concat(block.a.splice(0, countRoughRun(block.a, reference, false)));
      before.b = before.b.concat(block.b.splice(0, countRoughRun(block.b, reference, false)));
    }
    const after = blocks[k + 1];
    if (after?.equal) {
      const reference = after.a[0]!;
      after.a = block.a.splice(block.a.length - countRoughRun(block.a, reference, true)).concat(after.a);
      after.b = block.b.splice(block.b.length - countRoughRun(block.b, reference, true)).concat(after.b);
    }
  }
}

/** For each a-link, the index of the next unpaired roughly-equal b-link (in order), or -1. */
function pairInOrder(aLinks: readonly PreparedLink[], bLinks: readonly PreparedLink[]): number[] {
  // Positions by href and by lower-cased text, so each search is a cursor step, not a scan.
  const byHref = new Map<string, number[]>();
  const byText = new Map<string, number[]>();
  bLinks.forEach((link, index) => {
    for (const [map, key] of [[byHref, link.link.href], [byText, link.lowerText]] as const) {
      const positions = map.get(key);
      if (positions === undefined) map.set(key, [index]);
      else positions.push(index);
    }
  });
  const cursors = new Map<number[], number>();
  const nextAtOrAfter = (positions: number[] | undefined, start: number): number => {
    if (positions === undefined) return -1;
    let cursor = cursors.get(positions) ?? 0;
    while (cursor < positions.length && positions[cursor]! < start) cursor += 1;
    cursors.set(positions, cursor);
    return cursor < positions.length ? positions[cursor]! : -1;
  };
  let start = 0;
  return aLinks.map((link) => {
    const candidates = [nextAtOrAfter(byHref.get(link.link.href), start), nextAtOrAfter(byText.get(link.lowerText), start)];
    const found = Math.min(...candidates.map((c) => (c === -1 ? Number.POSITIVE_INFINITY : c)));
    if (found === Number.POSITIVE_INFINITY) return -1;
    start = found + 1;
    return found;
  });
}

function changed(a: Link, b: Link, subdiff: Subdiff): ChangedLink {
  return {
    text: subdiff(a.text, b.text),
    href: subdiff(a.href, b.href),
    hrefs: [a.href, b.href],
    resolved_hrefs: [a.resolved_href, b.resolved_href],
  };
}

/**
 * Entries of an equal block, in b order: exact matches as 0, a-links paired in order with a
 * roughly-equal b-link as 100, other b-links as 1; then unpaired a-links as -1.
 */
function emitEqualBlock(block: Block, subdiff: Subdiff, entries: LinkDiffEntry[]): void {
  const aIdentities = new Set(block.a.map((link) => link.identity));
  const bIdentities = new Set(block.b.map((link) => link.identity));
  const restA = block.a.filter((link) => !bIdentities.has(link.identity));
  const restB = block.b.filter((link) => !aIdentities.has(link.identity));
  const pairs = pairInOrder(restA, restB);
  const partnerOfB = new Map<PreparedLink, PreparedLink>();
  pairs.forEach((bIndex, aIndex) => {
    if (bIndex !== -1) partnerOfB.set(restB[bIndex]!, restA[aIndex]!);
  });
  for (const link of block.b) {
    const partner = partnerOfB.get(link);
    if (aIdentities.has(link.identity)) entries.push([0, link.link]);
    else if (partner !== undefined) entries.push([100, changed(partner.link, link.link, subdiff)]);
    else entries.push([1, link.link]);
  }
  pairs.forEach((bIndex, aIndex) => {
    if (bIndex === -1) entries.push([-1, restA[aIndex]!.link]);
  });
}

/** The links diff entries (`[code, item]`, code 0 / 1 / -1 / 100) between two pages' links. */
export function diffLinks(aLinks: readonly Link[], bLinks: readonly Link[], subdiff: Subdiff): LinkDiffEntry[] {
  const a = prepareLinks(aLinks);
  const b = prepareLinks(bLinks);
  const matcher = new SequenceMatcher(a, b, { key: (link) => link.identity, equal: roughlyEqual });
  const blocks: Block[] = matcher.getOpcodes().map((opcode) => ({
    equal: opcode.tag === 'equal',
    a: a.slice(opcode.aStart, opcode.aEnd),
    b: b.slice(opcode.bStart, opcode.bEnd),
  }));
  absorbRoughNeighbours(blocks);

  const entries: LinkDiffEntry[] = [];
  for (const block of blocks) {
    if (block.equal) {
      emitEqualBlock(block, subdiff, entries);
    } else {
      for (const link of block.b) entries.push([1, link.link]);
      for (const link of block.a) entries.push([-1, link.link]);
    }
  }
  return entries;
}

/** `change_count`: entries that are not unchanged (a 100 counts once). */
export function countLinkChanges(entries: readonly LinkDiffEntry[]): number {
  let count = 0;
  for (const [code] of entries) if (code !== 0) count += 1;
  return count;
}
