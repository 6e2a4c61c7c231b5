// Rendering the aligned token streams as HTML: the body fragment of each view, with
// `<ins class="wm-diff">` / `<del class="wm-diff">` around changed runs. Markers hold only
// text and whole tokens (words, images, opaque elements) and are closed before any tag, so they
// can never cross a block boundary, and are opened lazily, so they are never empty.
// `insertions` and `deletions` write their own page's markup as is. `combined` writes the new
// page's markup as is and puts each deletion inside the new block its old block corresponds to
// (block-align.ts); an old block with nothing left in the new page is written whole, marked
// deleted, among its new siblings (a deleted row between rows, a deleted item between items).

import { escapeAttribute } from '../html-escape.ts';
import type { BlockAlignment } from './block-align.ts';
import type { Opcode } from './sequence-diff.ts';
import { acceptsMarkers, canHoldDeletedBlock, DELETED_BLOCK_ATTRIBUTE } from './structure.ts';
import {
  ITEM_CLOSE,
  ITEM_OPEN,
  ITEM_VOID,
  NOT_A_BOUNDARY,
  ITEM_TEXT,
  TOKEN_HREF,
  TOKEN_IMAGE,
  TOKEN_INVISIBLE,
  TOKEN_OPAQUE,
  TOKEN_SPACER,
  TOKEN_WORD,
  type TokenStream,
} from './tokenize.ts';

type MarkerName = 'ins' | 'del';

/** Per-side prefix counts, so "does this run hold content?" is O(1). */
export interface StreamIndex {
  readonly stream: TokenStream;
  /** content[k] = non-spacer tokens before token k. */
  readonly content: Int32Array;
}

export function indexStream(stream: TokenStream): StreamIndex {
  const n = stream.tokenKinds.length;
  const content = new Int32Array(n + 1);
  for (let k = 0; k < n; k += 1) {
    content[k + 1] = content[k]! + (stream.tokenKinds[k] === TOKEN_SPACER ? 0 : 1);
  }
  return { stream, content };
}

export function hasContent(index: StreamIndex, lo: number, hi: number): boolean {
  return index.content[hi]! > index.content[lo]!;
}

/** Collects output and keeps at most one marker open. */
class MarkedWriter {
  readonly parts: string[];
  readonly marker: MarkerName;
  private open = false;

  constructor(parts: string[], marker: MarkerName) {
    this.parts = parts;
    this.marker = marker;
  }

  /** Text or a whole token that belongs inside the marker. */
  content(html: string): void {
    if (!this.open) {
      this.parts.push(`<${this.marker} class="wm-diff">`);
      this.open = true;
    }
    this.parts.push(html);
  }

  /** Whitespace: inside the marker when one is open, so it stays one run. */
  whitespace(html: string): void {
    this.parts.push(html);
  }

  /** Markup that must stay outside markers (tags, invisible elements). */
  outside(html: string): void {
    this.close();
    this.parts.push(html);
  }

  close(): void {
    if (this.open) {
      this.parts.push(`</${this.marker}>`);
      this.open = false;
    }
  }
}

const HREF_MARKER_TEXT = '\u{1F517}'; // 🔗

interface ChangedTokenContext {
  /** First token of this side of the change: a link whose text lies wholly in the change is already visibly marked. */
  runStart: number;
  /** In `combined`, deleted scripts and styles are wrapped in an inert template. */
  wrapDeletedInert: boolean;
}

function writeChangedToken(stream: TokenStream, k: number, writer: MarkedWriter, context: ChangedTokenContext): void {
  const kind = stream.tokenKinds[k]!;
  const html = stream.tokenHtml[k]!;
  switch (kind) {
    case TOKEN_WORD:
    case TOKEN_IMAGE:
    case TOKEN_OPAQUE:
      writer.content(html);
      return;
    case TOKEN_INVISIBLE:
      writer.outside(
        context.wrapDeletedInert && (html.startsWith('<script') || html.startsWith('<style'))
          ? `<template class="wm-diff-deleted-inert">${html}</template>`
          : html,
      );
      return;
    case TOKEN_HREF: {
      // A link-target change alone would be invisible: show a small marked link symbol, unless
      // the link's whole text is in the change (a new or removed link is marked already).
      const linkStart = stream.linkStarts.get(k) ?? k;
      if (linkStart >= context.runStart && linkStart < k) return;
      const label = writer.marker === 'del' ? 'Link target was' : 'Link target is now';
      writer.outside(
        `<${writer.marker} class="wm-diff wm-diff-href" data-wm-diff-href="${escapeAttribute(html)}" title="${escapeAttribute(`${label}: ${html}`)}">${HREF_MARKER_TEXT}</${writer.marker}>`,
      );
      return;
    }
    default:
      return; // spacers render nothing
  }
}

function writePlainToken(stream: TokenStream, k: number, parts: string[]): void {
  const kind = stream.tokenKinds[k]!;
  if (kind !== TOKEN_HREF && kind !== TOKEN_SPACER) parts.push(stream.tokenHtml[k]!);
}

function writeGapPlain(stream: TokenStream, gap: number, parts: string[]): void {
  const end = stream.gapBounds[gap + 1]!;
  for (let item = stream.gapBounds[gap]!; item < end; item += 1) parts.push(stream.itemHtml[item]!);
}

function writeItem(stream: TokenStream, item: number, writer: MarkedWriter): void {
  if (stream.itemKinds[item] === ITEM_TEXT) writer.whitespace(stream.itemHtml[item]!);
  else writer.outside(stream.itemHtml[item]!);
}

/** `insertions` (new side, ins markers) or `deletions` (old side, del markers) body fragment. */
export function renderSingleSide(index: StreamIndex, opcodes: readonly Opcode[], side: 'a' | 'b'): string {
  const { stream } = index;
  const parts: string[] = [];
  const writer = new MarkedWriter(parts, side === 'a' ? 'del' : 'ins');
  // Each gap is written once: by the run before it, or by a change that ends at it (so the
  // change's marker closes at the gap's first tag).
  let written = -1;
  const writeGap = (gap: number, marked: boolean): void => {
    if (gap <= written) return;
    written = gap;
    if (!marked) {
      writeGapPlain(stream, gap, parts);
      return;
    }
    const end = stream.gapBounds[gap + 1]!;
    for (let item = stream.gapBounds[gap]!; item < end; item += 1) writeItem(stream, item, writer);
  };
  for (const op of opcodes) {
    const lo = side === 'a' ? op.i1 : op.j1;
    const hi = side === 'a' ? op.i2 : op.j2;
    if (op.tag === 'equal') {
      for (let k = lo; k < hi; k += 1) {
        writeGap(k, false);
        writePlainToken(stream, k, parts);
      }
      continue;
    }
    if (lo === hi) continue;
    const context = { runStart: lo, wrapDeletedInert: false };
    for (let k = lo; k < hi; k += 1) {
      writeGap(k, true);
      writeChangedToken(stream, k, writer, context);
    }
    writeGap(hi, true);
    writer.close();
  }
  writeGap(stream.tokenKinds.length, false);
  return parts.join('');
}

/**
 * An inline deletion's markup: one `<del>` holding its tokens and the inline tags that open and
 * close within it (so that, with the marker removed, the new page's tree is left as it was).
 */
function inlineDeletion(stream: TokenStream, lo: number, hi: number, where: DeletionPlace): string {
  const { insideLink } = where;
  const context = { runStart: lo, wrapDeletedInert: true };
  // Items of the gaps from lo to hi; the edge gaps only contribute inline tags (kept if balanced).
  const entries: number[] = [];
  for (let k = lo; k <= hi; k += 1) {
    const edge = k === lo || k === hi;
    const end = stream.gapBounds[k + 1]!;
    for (let item = stream.gapBounds[k]!; item < end; item += 1) {
      if (stream.itemBlock[item] !== NOT_A_BOUNDARY) continue;
      if (edge && stream.itemKinds[item] !== ITEM_OPEN && stream.itemKinds[item] !== ITEM_CLOSE) continue;
      if (insideLink && isLinkTag(stream.itemHtml[item]!)) continue;
      entries.push(item);
    }
    if (k < hi) entries.push(-(k + 1));
  }
  const keep = balancedItems(stream, entries);
  const inner: string[] = [];
  /** Link-target markers and inert scripts: all that is written when nothing visible was deleted. */
  const specials: string[] = [];
  // Tokens go through a marker writer of their own; its markers are dropped, the outer one is the marker.
  const tokenParts: string[] = [];
  const tokenWriter = new MarkedWriter(tokenParts, 'del');
  let hasContent = false;
  entries.forEach((entry, position) => {
    if (entry < 0) {
      const k = -entry - 1;
      const kind = stream.tokenKinds[k];
      if (kind === TOKEN_WORD || kind === TOKEN_IMAGE || kind === TOKEN_OPAQUE) {
        inner.push(stream.tokenHtml[k]!);
        hasContent = true;
      } else if (kind !== TOKEN_SPACER) {
        tokenParts.length = 0;
        writeChangedToken(stream, k, tokenWriter, context);
        tokenWriter.close();
        inner.push(tokenParts.join(''));
        specials.push(tokenParts.join(''));
      }
    } else if (keep[position] === 1) {
      inner.push(stream.itemHtml[entry]!);
    }
  });
  if (!hasContent) return specials.join('');
  // Right after another block's deletion, a space keeps the two blocks' words apart.
  return `<del class="wm-diff">${where.spaceBefore ? ' ' : ''}${inner.join('')}</del>`;
}

function isLinkTag(html: string): boolean {
  return html.startsWith('<a ') || html === '<a>' || html === '</a>';
}

/**
 * Which items of a list to keep: text, voids, and tags that open and close within it. The list
 * comes from a well-formed tree, so a close tag either matches the innermost open tag of the
 * list or closes one opened before it.
 */
function balancedItems(stream: TokenStream, entries: readonly number[]): Uint8Array {
  const keep = new Uint8Array(entries.length).fill(1);
  const openPositions: number[] = [];
  entries.forEach((entry, position) => {
    if (entry < 0) return;
    const kind = stream.itemKinds[entry];
    if (kind === ITEM_OPEN) {
      openPositions.push(position);
      keep[position] = 0; // kept once its close tag is seen
    } else if (kind === ITEM_CLOSE) {
      const open = openPositions.pop();
      if (open === undefined) keep[position] = 0;
      else keep[open] = 1;
    }
  });
  return keep;
}

/** A whole old block, its content marked deleted, its start tag marked as not part of the new page. */
function deletedBlock(stream: TokenStream, block: number): string {
  const { blocks } = stream;
  const parts: string[] = [];
  const writer = new MarkedWriter(parts, 'del');
  const openItem = blocks.openItem[block]!;
  const closeItem = blocks.closeItem[block]!;
  const openGap = blocks.openGap[block]!;
  const closeGap = blocks.closeGap[block]!;
  const context = { runStart: openGap, wrapDeletedInert: true };
  const tagName = blocks.tagName[block]!;
  for (let g = openGap; g <= closeGap; g += 1) {
    const start = g === openGap ? openItem : stream.gapBounds[g]!;
    const end = g === closeGap ? closeItem + 1 : stream.gapBounds[g + 1]!;
    for (let item = start; item < end; item += 1) {
      if (item === openItem) {
        const html = stream.itemHtml[item]!;
        writer.outside(`<${tagName} ${DELETED_BLOCK_ATTRIBUTE}=""${html.slice(tagName.length + 1)}`);
      } else {
        writeItem(stream, item, writer);
      }
    }
    if (g < closeGap) writeChangedToken(stream, g, writer, context);
  }
  writer.close();
  return parts.join('');
}

/** What the markup of a deletion depends on at the place it is written. */
interface DeletionPlace {
  /** A link is open there (links do not nest: the deletion's own link tags are left out). */
  insideLink: boolean;
  /** A space must open the deletion: words written right before it would otherwise run into its first word. */
  spaceBefore: boolean;
}

interface PendingDeletion {
  /** New block it must be written in (as a child), or -1: anywhere a marker may stand. */
  target: number;
  /** The gap of the new page where it happened (it may be written in an earlier gap if only spacers lie between). */
  until: number;
  /** Old block it comes from. */
  source: number;
  /** Whether whitespace stood before it in the old page. */
  spaced: boolean;
  html: (where: DeletionPlace) => string;
  /** Its markup when it cannot go where it belongs: an inline deletion, in the nearest place a marker may stand. */
  fallback?: (where: DeletionPlace) => string;
}

/**
 * For each old block: the outermost block around it (or itself) that is wholly deleted (no
 * corresponding new block, nothing of it unchanged), or -1.
 */
function deletedRoots(stream: TokenStream, oldToNew: Int32Array): Int32Array {
  const { parent } = stream.blocks;
  const count = parent.length;
  const keeps = new Uint8Array(count); // paired, or holds a paired block
  for (let block = count - 1; block > 0; block -= 1) {
    if (oldToNew[block] !== -1) keeps[block] = 1;
    if (keeps[block] === 1) keeps[parent[block]!] = 1;
  }
  const roots = new Int32Array(count).fill(-1);
  for (let block = 1; block < count; block += 1) {
    if (keeps[block] === 1) continue;
    const parentRoot = roots[parent[block]!]!;
    roots[block] = parentRoot !== -1 ? parentRoot : block;
  }
  return roots;
}

/** `combined` body fragment: the new page's markup, with deletions and insertions marked where they happened. */
export function renderCombined(oldIndex: StreamIndex, newIndex: StreamIndex, alignment: BlockAlignment): string {
  const oldStream = oldIndex.stream;
  const newStream = newIndex.stream;
  const { opcodes, oldToNew } = alignment;
  const roots = deletedRoots(oldStream, oldToNew);
  const writtenRoots = new Set<number>();
  const parts: string[] = [];
  const insertions = new MarkedWriter(parts, 'ins');
  const openBlocks: number[] = [0];
  const isOpen = new Uint8Array(newStream.blocks.tagName.length);
  isOpen[0] = 1;
  let openLinks = 0;
  /** Deletions of the point being written, and those carried over from earlier points. */
  const fresh: PendingDeletion[] = [];
  const carried: PendingDeletion[] = [];


  const placeableIn = (deletion: PendingDeletion, top: number): boolean =>
    deletion.target >= 0 ? deletion.target === top : acceptsMarkers(newStream.blocks.tagName[top]!);
  let lastDeletion = { source: -1, endsAt: -1 };
  const writeDeletion = (deletion: PendingDeletion): void => {
    insertions.close();
    const afterOtherDeletion = lastDeletion.endsAt === parts.length && lastDeletion.source !== deletion.source;
    // Unchanged words are written as the new page has them, which may drop the space the old page had before the deletion.
    const last = parts[parts.length - 1] ?? '';
    const afterWord = last !== '' && !/[\s>]$/.test(last);
    parts.push(deletion.html({ insideLink: openLinks > 0, spaceBefore: afterOtherDeletion || (deletion.spaced && afterWord) }));
    lastDeletion = { source: deletion.source, endsAt: parts.length };
  };
  const demoted = (deletion: PendingDeletion): PendingDeletion =>
    deletion.target < 0 ? deletion : { ...deletion, target: -1, html: deletion.fallback ?? deletion.html };
  /**
   * Deletions carried over from an earlier gap, in order: one waits for its block while that
   * block is open, and otherwise goes to the first place a marker may stand.
   */
  const flushCarried = (): void => {
    while (carried.length > 0) {
      const first = carried[0]!;
      if (first.target >= 0 && !isOpen[first.target]) carried[0] = demoted(first);
      if (!placeableIn(carried[0]!, openBlocks[openBlocks.length - 1]!)) return;
      writeDeletion(carried.shift()!);
    }
  };
  const updateOpen = (item: number): void => {
    const kind = newStream.itemKinds[item];
    const block = newStream.itemBlock[item]!;
    if (block >= 0) {
      if (kind === ITEM_OPEN) {
        openBlocks.push(block);
        isOpen[block] = 1;
      } else if (kind === ITEM_CLOSE) {
        openBlocks.pop();
        isOpen[block] = 0;
      }
    } else if (kind !== ITEM_VOID && isLinkTag(newStream.itemHtml[item]!)) {
      openLinks += kind === ITEM_OPEN ? 1 : -1;
    }
  };
  /**
   * Writes a gap of the new page. Deletions of this point go to the last place in the gap where
   * they may stand (right before what replaced them, after the gap's whitespace and line
   * breaks), in order; those that find none are carried to the next place a marker may stand.
   */
  const writeGap = (gap: number): void => {
    const start = newStream.gapBounds[gap]!;
    const end = newStream.gapBounds[gap + 1]!;
    if (fresh.length === 0 && carried.length === 0) {
      // Nothing to place (almost every gap of a page): just the markup.
      for (let item = start; item < end; item += 1) {
        writeItem(newStream, item, insertions);
        updateOpen(item);
      }
      return;
    }
    // The innermost open block before each item of the gap, and after the last (simulated:
    // blocks opened in the gap, and how many of the open ones are still open).
    const tops: number[] = [];
    const opened: number[] = [];
    let stillOpen = openBlocks.length;
    for (let item = start; ; item += 1) {
      tops.push(opened.length > 0 ? opened[opened.length - 1]! : openBlocks[stillOpen - 1] ?? 0);
      if (item === end) break;
      const block = newStream.itemBlock[item]!;
      if (block < 0) continue;
      if (newStream.itemKinds[item] === ITEM_OPEN) opened.push(block);
      else if (newStream.itemKinds[item] === ITEM_CLOSE && opened.pop() === undefined) stillOpen -= 1;
    }
    // Place fresh deletions: each at the last point not before the previous one's. One queued
    // ahead of its place (only spacers lie between) is placed here only if the gap leaves its
    // block (closes it, or enters a child of it): that is where it stood.
    const placeAt: number[] = [];
    let from = 0;
    for (const deletion of fresh) {
      if (deletion.until > gap && (deletion.target < 0 || tops[tops.length - 1] === deletion.target)) break;
      let at = -1;
      for (let point = tops.length - 1; point >= from; point -= 1) {
        if (placeableIn(deletion, tops[point]!)) {
          at = point;
          break;
        }
      }
      if (at === -1) break;
      placeAt.push(at);
      from = at;
    }
    const placed = fresh.splice(0, placeAt.length);
    let next = 0;
    for (let point = 0; point < tops.length; point += 1) {
      flushCarried();
      while (next < placed.length && placeAt[next] === point) writeDeletion(placed[next++]!);
      if (point === tops.length - 1) break;
      const item = start + point;
      writeItem(newStream, item, insertions);
      updateOpen(item);
    }
    // What found no place at its own point goes to the next place a marker may stand.
    let due = 0;
    while (due < fresh.length && fresh[due]!.until <= gap) due += 1;
    carried.push(...fresh.splice(0, due));
    flushCarried();
  };
  const spacedBefore = (k: number): boolean => {
    if (k > 0 && /\s$/.test(oldStream.tokenHtml[k - 1]!)) return true;
    const end = oldStream.gapBounds[k + 1]!;
    for (let item = oldStream.gapBounds[k]!; item < end; item += 1) if (oldStream.itemKinds[item] === ITEM_TEXT) return true;
    return false;
  };
  const queueDeletion = (lo: number, hi: number, until: number): void => {
    let k = lo;
    while (k < hi) {
      const kind = oldStream.tokenKinds[k];
      if (kind === TOKEN_SPACER) {
        k += 1;
        continue;
      }
      const root = roots[oldStream.tokenBlock[k]!]!;
      if (root !== -1) {
        // A wholly deleted block: written once, whole, among the new siblings of its old place.
        const rootEnd = Math.min(hi, oldStream.blocks.closeGap[root]!);
        if (!writtenRoots.has(root)) {
          writtenRoots.add(root);
          const parent = oldStream.blocks.parent[root]!;
          const target = parent >= 0 ? oldToNew[parent]! : -1;
          const rootLo = oldStream.blocks.openGap[root]!;
          const rootHi = oldStream.blocks.closeGap[root]!;
          const inline = (where: DeletionPlace) => inlineDeletion(oldStream, rootLo, rootHi, where);
          if (target >= 0 && canHoldDeletedBlock(newStream.blocks.tagName[target]!, oldStream.blocks.tagName[parent]!)) {
            fresh.push({ target, until, source: root, spaced: true, html: () => deletedBlock(oldStream, root), fallback: inline });
          } else {
            fresh.push({ target: -1, until, source: root, spaced: true, html: inline });
          }
        }
        k = Math.max(k + 1, rootEnd);
        continue;
      }
      // An inline deletion: the run of tokens of this block (block-align.ts keeps one block per range).
      const block = oldStream.tokenBlock[k]!;
      let end = k + 1;
      while (end < hi && roots[oldStream.tokenBlock[end]!] === -1) end += 1;
      const runLo = k;
      const target = oldToNew[block]!;
      fresh.push({ target, until, source: block, spaced: spacedBefore(runLo), html: (where) => inlineDeletion(oldStream, runLo, end, where) });
      k = end;
    }
  };

  // A deletion right after unchanged spacers may belong before them: the spacers' pairing says
  // nothing about which block they stand in (a deleted paragraph at the end of a section, say,
  // matched the spacers of the next section's first paragraph). It is queued that early.
  const queuedEarly = new Map<number, Opcode[]>();
  opcodes.forEach((op, t) => {
    const before = opcodes[t - 1];
    if (op.tag === 'equal' || op.tag === 'insert' || before?.tag !== 'equal') return;
    let at = op.j1;
    while (at > before.j1 && newStream.tokenKinds[at - 1] === TOKEN_SPACER) at -= 1;
    if (at < op.j1) queuedEarly.set(at, [...(queuedEarly.get(at) ?? []), op]);
  });
  const early = new Set<Opcode>();
  for (const op of opcodes) {
    if (op.tag === 'equal') {
      for (let j = op.j1; j < op.j2; j += 1) {
        for (const later of queuedEarly.get(j) ?? []) {
          if (!hasContent(oldIndex, later.i1, later.i2)) continue;
          early.add(later);
          queueDeletion(later.i1, later.i2, later.j1);
        }
        writeGap(j);
        insertions.close();
        writePlainToken(newStream, j, parts);
      }
      continue;
    }
    if (hasContent(oldIndex, op.i1, op.i2) && !early.has(op)) queueDeletion(op.i1, op.i2, op.j1);
    const context = { runStart: op.j1, wrapDeletedInert: false };
    for (let j = op.j1; j < op.j2; j += 1) {
      writeGap(j);
      writeChangedToken(newStream, j, insertions, context);
    }
  }
  writeGap(newStream.tokenKinds.length);
  insertions.close();
  for (const deletion of carried) writeDeletion(demoted(deletion));
  return parts.join('');
}
