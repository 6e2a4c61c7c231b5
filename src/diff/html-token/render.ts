// Rendering the aligned token streams as HTML: the body fragment of each view, with
// `<ins class="wm-diff">` / `<del class="wm-diff">` around changed runs. Markers hold only
// text and whole tokens (words, images, opaque elements) and are closed before any tag, so they
// can never cross a block boundary, and are opened lazily, so they are never empty.

import type { Opcode } from './sequence-diff.ts';
import { escapeAttribute } from '../html-escape.ts';
import {
  ITEM_CLOSE,
  ITEM_OPEN,
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

/** Writes an unchanged run of `index`'s tokens lo..hi, with the gaps the run owns. */
function writeEqualRun(stream: TokenStream, lo: number, hi: number, first: boolean, last: boolean, parts: string[]): void {
  for (let k = lo; k < hi; k += 1) {
    if (k > lo || first) writeGapPlain(stream, k, parts);
    writePlainToken(stream, k, parts);
  }
  if (last) writeGapPlain(stream, hi, parts);
}

/** `insertions` (new side, ins markers) or `deletions` (old side, del markers) body fragment. */
export function renderSingleSide(index: StreamIndex, opcodes: readonly Opcode[], side: 'a' | 'b'): string {
  const { stream } = index;
  const parts: string[] = [];
  const writer = new MarkedWriter(parts, side === 'a' ? 'del' : 'ins');
  if (opcodes.length === 0) writeGapPlain(stream, 0, parts);
  opcodes.forEach((op, position) => {
    const lo = side === 'a' ? op.i1 : op.j1;
    const hi = side === 'a' ? op.i2 : op.j2;
    if (op.tag === 'equal') {
      writeEqualRun(stream, lo, hi, position === 0, position === opcodes.length - 1, parts);
      return;
    }
    const context = { runStart: lo, wrapDeletedInert: false };
    for (let k = lo; k <= hi; k += 1) {
      const end = stream.gapBounds[k + 1]!;
      for (let item = stream.gapBounds[k]!; item < end; item += 1) writeItem(stream, item, writer);
      if (k < hi) writeChangedToken(stream, k, writer, context);
    }
    writer.close();
  });
  return parts.join('');
}

/** A change region as one list: item indices (≥ 0) and tokens encoded as -(k + 1). */
function flattenRegion(stream: TokenStream, lo: number, hi: number): number[] {
  const entries: number[] = [];
  for (let k = lo; k <= hi; k += 1) {
    const end = stream.gapBounds[k + 1]!;
    for (let item = stream.gapBounds[k]!; item < end; item += 1) entries.push(item);
    if (k < hi) entries.push(-(k + 1));
  }
  return entries;
}

/**
 * Which old-side items of a deleted run to keep in `combined`: only tags that open and close
 * within the run (a whole deleted list item, say). The rest of the old structure is dropped, as
 * the combined view follows the new document's structure. Inputs come from a well-formed tree,
 * so a close tag either matches the innermost open tag of the run or closes one opened before it.
 */
function balancedOldItems(stream: TokenStream, entries: readonly number[], lo: number, hi: number): Uint8Array {
  const keep = new Uint8Array(hi - lo).fill(1);
  const openPositions: number[] = [];
  for (let position = lo; position < hi; position += 1) {
    const entry = entries[position]!;
    if (entry < 0) continue;
    const kind = stream.itemKinds[entry];
    if (kind === ITEM_OPEN) {
      openPositions.push(position);
      keep[position - lo] = 0; // kept once its close tag is seen
    } else if (kind === ITEM_CLOSE) {
      const open = openPositions.pop();
      if (open === undefined) keep[position - lo] = 0;
      else keep[open - lo] = 1;
    }
  }
  return keep;
}

/** `combined` body fragment: the new document's structure with deletions and insertions marked. */
export function renderCombined(oldIndex: StreamIndex, newIndex: StreamIndex, opcodes: readonly Opcode[]): string {
  const oldStream = oldIndex.stream;
  const newStream = newIndex.stream;
  const parts: string[] = [];
  const deletions = new MarkedWriter(parts, 'del');
  const insertions = new MarkedWriter(parts, 'ins');
  if (opcodes.length === 0) writeGapPlain(newStream, 0, parts);
  opcodes.forEach((op, position) => {
    if (op.tag === 'equal') {
      writeEqualRun(newStream, op.j1, op.j2, position === 0, position === opcodes.length - 1, parts);
      return;
    }
    const oldEntries = flattenRegion(oldStream, op.i1, op.i2);
    const newEntries = flattenRegion(newStream, op.j1, op.j2);
    // Markup both sides share at the edges of the change is written once, outside the change.
    let prefix = 0;
    while (
      prefix < oldEntries.length &&
      prefix < newEntries.length &&
      oldEntries[prefix]! >= 0 &&
      newEntries[prefix]! >= 0 &&
      oldStream.itemHtml[oldEntries[prefix]!] === newStream.itemHtml[newEntries[prefix]!]
    ) {
      prefix += 1;
    }
    let suffix = 0;
    while (
      suffix < oldEntries.length - prefix &&
      suffix < newEntries.length - prefix &&
      oldEntries[oldEntries.length - 1 - suffix]! >= 0 &&
      newEntries[newEntries.length - 1 - suffix]! >= 0 &&
      oldStream.itemHtml[oldEntries[oldEntries.length - 1 - suffix]!] === newStream.itemHtml[newEntries[newEntries.length - 1 - suffix]!]
    ) {
      suffix += 1;
    }
    for (let p = 0; p < prefix; p += 1) parts.push(newStream.itemHtml[newEntries[p]!]!);

    if (hasContent(oldIndex, op.i1, op.i2)) {
      const oldEnd = oldEntries.length - suffix;
      const keep = balancedOldItems(oldStream, oldEntries, prefix, oldEnd);
      const context = { runStart: op.i1, wrapDeletedInert: true };
      for (let p = prefix; p < oldEnd; p += 1) {
        const entry = oldEntries[p]!;
        if (entry < 0) writeChangedToken(oldStream, -entry - 1, deletions, context);
        else if (keep[p - prefix] === 1) writeItem(oldStream, entry, deletions);
      }
      deletions.close();
    }

    const newEnd = newEntries.length - suffix;
    const context = { runStart: op.j1, wrapDeletedInert: false };
    for (let p = prefix; p < newEnd; p += 1) {
      const entry = newEntries[p]!;
      if (entry < 0) writeChangedToken(newStream, -entry - 1, insertions, context);
      else writeItem(newStream, entry, insertions);
    }
    insertions.close();
    for (let p = newEnd; p < newEntries.length; p += 1) parts.push(newStream.itemHtml[newEntries[p]!]!);
  });
  return parts.join('');
}
