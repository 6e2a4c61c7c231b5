// Renders links diff entries as the `links` HTML document: a table of links with change marks
// (spec/diff-types.md §2.8). Unlike the anchor, every piece of page text (link text, hrefs, title)
// is escaped, and hrefs with executable schemes (javascript:, data:, …) are not made clickable.

import { escapeAttribute, escapeText } from '../html-escape.ts';
import type { DiffSegment } from '../types.ts';
import type { LinkDiffEntry } from './compare.ts';

export interface LinksHtmlOptions {
  /** Title of the new page (unescaped text). */
  title: string;
  insertionColor: string;
  deletionColor: string;
}

const SAFE_PROTOCOLS: ReadonlySet<string> = new Set(['http:', 'https:', 'ftp:', 'mailto:', 'tel:']);

/** Whether an href may be rendered as a live link (relative, or a non-executable scheme). */
export function isSafeHref(href: string): boolean {
  // Parse as a browser would (it strips tabs/newlines, so `java\tscript:` is caught); relative → the dummy base's https:.
  const url = URL.parse(href, 'https://relative.invalid/');
  return url !== null && SAFE_PROTOCOLS.has(url.protocol);
}

// Plain CSS colour syntax only: the colours go into a <style> element.
const SAFE_COLOR = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s]+\))$/;

function styleSheet(insertionColor: string, deletionColor: string): string {
  const insertion = SAFE_COLOR.test(insertionColor) ? insertionColor : '#a1d76a';
  const deletion = SAFE_COLOR.test(deletionColor) ? deletionColor : '#e8a4c8';
  return [
    'body { font-family: "Helvetica Neue", Helvetica, Arial, sans-serif; }',
    '.links-list { border-collapse: collapse; table-layout: fixed; width: 100%; }',
    '.links-list--change-type-col { width: 2em; }',
    '.links-list thead tr { background: #ccc; }',
    '.links-list th, .links-list td { padding: 0.25em 0.5em; text-align: left; vertical-align: top; overflow-wrap: anywhere; }',
    '.links-list--item { opacity: 0.5; }',
    '.links-list--item[wm-has-insertions], .links-list--item[wm-has-deletions] { background: #eee; opacity: 1; }',
    `.links-list--item[wm-inserted] td { background: ${insertion}; }`,
    `.links-list--item[wm-deleted] td { background: ${deletion}; }`,
    `ins.wm-diff { all: unset; background: ${insertion}; text-decoration: none; }`,
    `del.wm-diff { all: unset; background: ${deletion}; text-decoration: line-through; }`,
    // As the anchor's stylesheet (spec §2.8): never show script text, should any reach the page.
    'script { display: none !important; }',
  ].join('\n');
}

/** Equal segments plus the inserted ones marked with <ins> (escaped HTML). */
function insertionView(segments: readonly DiffSegment[]): string {
  return segments
    .map(([op, text]) => (op === 0 ? escapeText(text) : op === 1 ? `<ins class="wm-diff">${escapeText(text)}</ins>` : ''))
    .join('');
}

/** Equal segments plus the deleted ones marked with <del> (escaped HTML). */
function deletionView(segments: readonly DiffSegment[]): string {
  return segments
    .map(([op, text]) => (op === 0 ? escapeText(text) : op === -1 ? `<del class="wm-diff">${escapeText(text)}</del>` : ''))
    .join('');
}

function linkElement(resolvedHref: string, contentHtml: string): string {
  const href = isSafeHref(resolvedHref) ? ` href="${escapeAttribute(resolvedHref)}"` : '';
  return `<a${href}>(${contentHtml})</a>`;
}

const CHANGE_TYPE = {
  [-1]: { symbol: '-', title: 'Deleted', attributes: ['wm-deleted', 'wm-has-deletions'] },
  0: { symbol: '⚬', title: undefined, attributes: [] },
  1: { symbol: '+', title: 'Added', attributes: ['wm-has-insertions', 'wm-inserted'] },
  100: { symbol: '±', title: 'Changed', attributes: ['wm-has-deletions', 'wm-has-insertions'] },
} as const;

function renderRow(entry: LinkDiffEntry): string {
  const type = CHANGE_TYPE[entry[0]];
  const rowAttributes = type.attributes.map((name) => ` ${name}="True"`).join('');
  const titleAttribute = type.title === undefined ? '' : ` title="${type.title}"`;
  let textHtml: string;
  let hrefHtml: string;
  if (entry[0] === 100) {
    const change = entry[1];
    textHtml = insertionView(change.text) + (change.text.length > 1 ? `<br>${deletionView(change.text)}` : '');
    hrefHtml = linkElement(change.resolved_hrefs[1], insertionView(change.href));
    if (change.hrefs[0] !== change.hrefs[1]) hrefHtml += `<br>${linkElement(change.resolved_hrefs[0], deletionView(change.href))}`;
  } else {
    const link = entry[1];
    textHtml = escapeText(link.text);
    hrefHtml = linkElement(link.resolved_href, escapeText(link.href));
  }
  return [
    `    <tr class="links-list--item"${rowAttributes}>`,
    `     <td class="links-list--change-type"${titleAttribute}>${type.symbol}</td>`,
    `     <td class="links-list--text">${textHtml}</td>`,
    `     <td class="links-list--href">${hrefHtml}</td>`,
    '    </tr>',
  ].join('\n');
}

/** The complete `links` HTML document for a list of entries. */
export function renderLinksHtml(entries: readonly LinkDiffEntry[], options: LinksHtmlOptions): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    ' <head>',
    '  <meta charset="utf-8">',
    `  <title>${escapeText(options.title)}</title>`,
    '  <style id="wm-diff-style" type="text/css">',
    styleSheet(options.insertionColor, options.deletionColor),
    '  </style>',
    ' </head>',
    ' <body>',
    '  <table class="links-list">',
    '   <colgroup>',
    '    <col class="links-list--change-type-col">',
    '    <col class="links-list--text-col">',
    '    <col class="links-list--href-col">',
    '   </colgroup>',
    '   <thead>',
    '    <tr>',
    '     <th></th>',
    '     <th>Link Text</th>',
    '     <th>URL</th>',
    '    </tr>',
    '   </thead>',
    '   <tbody>',
    ...entries.map(renderRow),
    '   </tbody>',
    '  </table>',
    ' </body>',
    '</html>',
    '',
  ].join('\n');
}
