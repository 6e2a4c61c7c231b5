// The `links_json` and `links` diff types: which outgoing links of a page were added, removed or
// changed (spec/diff-types.md §2.7–2.8, spec/html-token.md §3.12). Extraction, comparison and
// rendering live in extract.ts, compare.ts and render.ts.

import { diffTexts } from '../dmp.ts';
import { parseHtmlDocument } from '../html-parse.ts';
import { countLinkChanges, diffLinks, type LinkDiffEntry, type Subdiff } from './compare.ts';
import { extractPageLinks, type PageLinks } from './extract.ts';
import { renderLinksHtml } from './render.ts';
import type { DiffDefinition, DiffParams, DiffSegment, DiffSettings, DiffSide } from '../types.ts';

export { compareCodePoints, countLinkChanges, diffLinks, prepareLinks } from './compare.ts';
export type { ChangedLink, LinkDiffEntry, Subdiff } from './compare.ts';
export { extractPageLinks, normalizeHref, resolveHref } from './extract.ts';
export type { Link, PageLinks } from './extract.ts';
export { renderLinksHtml } from './render.ts';

export interface LinksOptions {
  insertionColor: string;
  deletionColor: string;
  /** Node cap of each parse (MAX_HTML_NODES). */
  maxHtmlNodes: number;
  /** Character cap of each parse (MAX_HTML_CHARS). */
  maxHtmlChars: number;
  /** Most outgoing links per side; beyond it → TooLargeError. */
  maxLinks: number;
  /** Budget of each nested text/href diff, in ms (anchor: 4 s). */
  subdiffTimeoutMs: number;
  /** Budget of all nested diffs together, in ms; past it, changed links get a coarse diff. */
  subdiffTotalMs: number;
}

/** The anchor's budget for each nested text/href diff. */
export const SUBDIFF_TIMEOUT_MS = 4_000;

/**
 * Links allowed per side, from the node cap: a link costs at least two nodes, and the
 * alignment is quadratic in the worst case, so 1 link per 30 nodes (10 000 at the default).
 */
export function maxLinksFor(maxHtmlNodes: number): number {
  return Math.max(100, Math.floor(maxHtmlNodes / 30));
}

export function parseLinksOptions(_params: DiffParams, settings: DiffSettings): LinksOptions {
  return {
    insertionColor: settings.insertionColor,
    deletionColor: settings.deletionColor,
    maxHtmlNodes: settings.maxHtmlNodes,
    maxHtmlChars: settings.maxHtmlChars,
    maxLinks: maxLinksFor(settings.maxHtmlNodes),
    subdiffTimeoutMs: SUBDIFF_TIMEOUT_MS,
    subdiffTotalMs: SUBDIFF_TIMEOUT_MS,
  };
}

/** The two strings as one delete and one insert around their common prefix and suffix (what dmp gives up with). */
export function coarseDiff(a: string, b: string): DiffSegment[] {
  const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
  const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
  const limit = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < limit && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix += 1;
  if (prefix > 0 && prefix < limit && isHigh(a.charCodeAt(prefix - 1))) prefix -= 1;
  let suffix = 0;
  while (suffix < limit - prefix && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix += 1;
  if (suffix > 0 && isLow(a.charCodeAt(a.length - suffix))) suffix -= 1;
  const segments: DiffSegment[] = [];
  if (prefix > 0) segments.push([0, a.slice(0, prefix)]);
  if (a.length - suffix > prefix) segments.push([-1, a.slice(prefix, a.length - suffix)]);
  if (b.length - suffix > prefix) segments.push([1, b.slice(prefix, b.length - suffix)]);
  if (suffix > 0) segments.push([0, a.slice(a.length - suffix)]);
  return segments;
}

/** dmp for each changed link's text and href, within a per-diff and a total time budget. */
export function budgetedSubdiff(timeoutMs: number, totalMs: number): Subdiff {
  const deadline = performance.now() + totalMs;
  return (a, b) => {
    if (a === b) return a === '' ? [] : [[0, a]];
    const remaining = deadline - performance.now();
    if (remaining <= 0) return coarseDiff(a, b);
    return diffTexts(a, b, { timeoutMs: Math.min(timeoutMs, remaining) });
  };
}

function readPage(side: DiffSide, name: 'a' | 'b', options: LinksOptions): PageLinks {
  // Scripting off, as the anchor's parser (and our visible text): a link inside <noscript> is an
  // element to find, not part of one raw text node.
  const document = parseHtmlDocument(side.text, {
    maxNodes: options.maxHtmlNodes,
    maxChars: options.maxHtmlChars,
    side: name,
    scriptingEnabled: false,
  });
  return extractPageLinks(document, { pageUrl: side.url, maxLinks: options.maxLinks, side: name });
}

/** The entries and the new page's title for two HTML documents. */
export function computeLinksDiff(a: DiffSide, b: DiffSide, options: LinksOptions): { entries: LinkDiffEntry[]; title: string } {
  const aPage = readPage(a, 'a', options);
  const bPage = readPage(b, 'b', options);
  const entries = diffLinks(aPage.links, bPage.links, budgetedSubdiff(options.subdiffTimeoutMs, options.subdiffTotalMs));
  return { entries, title: bPage.title ?? '' };
}

/** `links_json`: `{change_count, diff: [[code, item], …]}`. */
export const linksJsonDiff: DiffDefinition<LinksOptions> = {
  name: 'links_json',
  accepts: 'html',
  needsText: true,
  parseOptions: parseLinksOptions,
  run(a, b, options) {
    const { entries } = computeLinksDiff(a, b, options);
    return { change_count: countLinkChanges(entries), diff: entries };
  },
};

/** `links`: the same entries rendered as an HTML table document: `{change_count, diff: "<!DOCTYPE html>…"}`. */
export const linksDiff: DiffDefinition<LinksOptions> = {
  name: 'links',
  accepts: 'html',
  needsText: true,
  parseOptions: parseLinksOptions,
  run(a, b, options) {
    const { entries, title } = computeLinksDiff(a, b, options);
    const html = renderLinksHtml(entries, { title, insertionColor: options.insertionColor, deletionColor: options.deletionColor });
    return { change_count: countLinkChanges(entries), diff: html };
  },
};
