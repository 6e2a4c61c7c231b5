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

/** An inline deletion's markup: its tokens and the inline tags that open and close within it. */
function inlineDeletion(stream: TokenStream, lo: number, hi: number, insideLink: boolean): string {
  const parts: string[] = [];
  const writer = new MarkedWriter(parts, 'del');
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
  entries.forEach((entry, position) => {
    if (entry < 0) writeChangedToken(stream, -entry - 1, writer, context);
    else if (keep[position] === 1) writeItem(stream, entry, writer);
  });
  writer.close();
  return parts.join('');
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

interface PendingDeletion {
  /** New block it must be written in (as a child), or -1: anywhere a marker may stand. */
  target: number;
  /** Its markup, given whether a link is open where it is written (links do not nest). */
  html: (insideLink: boolean) => string;
  /** Its markup when it cannot go where it belongs: an inline deletion, in the nearest place a marker may stand. */
  fallback?: (insideLink: boolean) => string;
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
  let openLinks = 0;
  let pending: PendingDeletion[] = [];

  const placeable = (deletion: PendingDeletion): boolean => {
    const top = openBlocks[openBlocks.length - 1]!;
    return deletion.target >= 0 ? deletion.target === top : acceptsMarkers(newStream.blocks.tagName[top]!);
  };
  const flush = (): void => {
    while (pending.length > 0 && placeable(pending[0]!)) {
      insertions.close();
      parts.push(pending.shift()!.html(openLinks > 0));
    }
  };
  /** Deletions that did not find their block in the gap they belong to go to the next place a marker may stand. */
  const demote = (): void => {
    pending = pending.map((deletion) =>
      deletion.target < 0 ? deletion : { target: -1, html: deletion.fallback ?? deletion.html },
    );
  };
  const writeGap = (gap: number): void => {
    const end = newStream.gapBounds[gap + 1]!;
    for (let item = newStream.gapBounds[gap]!; item < end; item += 1) {
      flush();
      writeItem(newStream, item, insertions);
      const kind = newStream.itemKinds[item];
      const block = newStream.itemBlock[item]!;
      if (block >= 0) {
        if (kind === ITEM_OPEN) openBlocks.push(block);
        else if (kind === ITEM_CLOSE) openBlocks.pop();
      } else if (kind !== ITEM_VOID && isLinkTag(newStream.itemHtml[item]!)) {
        openLinks += kind === ITEM_OPEN ? 1 : -1;
      }
    }
    flush();
    demote();
  };
  const queueDeletion = (lo: number, hi: number): void => {
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
          const inline = (insideLink: boolean) => inlineDeletion(oldStream, rootLo, rootHi, insideLink);
          if (target >= 0 && canHoldDeletedBlock(newStream.blocks.tagName[target]!, oldStream.blocks.tagName[parent]!)) {
            pending.push({ target, html: () => deletedBlock(oldStream, root), fallback: inline });
          } else {
            pending.push({ target: -1, html: inline });
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
      pending.push({ target, html: (insideLink) => inlineDeletion(oldStream, runLo, end, insideLink) });
      k = end;
    }
  };

  for (const op of opcodes) {
    if (op.tag === 'equal') {
      for (let j = op.j1; j < op.j2; j += 1) {
        writeGap(j);
        insertions.close();
        writePlainToken(newStream, j, parts);
      }
      continue;
    }
    if (hasContent(oldIndex, op.i1, op.i2)) queueDeletion(op.i1, op.i2);
    const context = { runStart: op.j1, wrapDeletedInert: false };
    for (let j = op.j1; j < op.j2; j += 1) {
      writeGap(j);
      writeChangedToken(newStream, j, insertions, context);
    }
  }
  writeGap(newStream.tokenKinds.length);
  flush(); // demoted by now, and the body takes markers
  insertions.close();
  for (const deletion of pending) parts.push(deletion.html(false));
  return parts.join('');
}
