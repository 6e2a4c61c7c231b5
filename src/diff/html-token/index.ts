// `html_token`: a rendered, token-level diff of two HTML documents (web-monitoring-diff's
// `html_diff_render`). Pipeline: parse both documents (node-capped parse5) → tokenize each body
// (tokenize.ts) → map tokens to integer ids (URLs normalised by `url_rules`, images grouped by
// shared URLs) → align the id sequences (sequence-diff.ts) → count → fit the alignment to the
// page's blocks (block-align.ts, structure.ts) → render each requested view
// (render.ts) into a full document with our style and, in `combined`, the title diff and old head.
// Nothing from the page can run in the output (safe-html.ts); see the README for how this
// differs from web-monitoring-diff.

import { BadRequestError } from '../../errors.ts';
import { diffTexts } from '../dmp.ts';
import { findFirstElement, isElement, isTextNode, parseHtmlDocument, type Document, type Element } from '../html-parse.ts';
import type { DiffDefinition, DiffParams, DiffSettings } from '../types.ts';
import type { DefaultTreeAdapterMap } from 'parse5';
import { alignBlocks } from './block-align.ts';
import { hasContent, indexStream, renderCombined, renderSingleSide, type StreamIndex } from './render.ts';
import { escapeAttribute, escapeText } from '../html-escape.ts';
import { newSerializeBudget, safeOuterHtml, safeStartTag, type SerializeBudget } from './safe-html.ts';
import { matchSequences, opcodesFromMatches, type Opcode } from './sequence-diff.ts';
import { TokenIdTable, tokenizeBody, type TokenStream } from './tokenize.ts';
import { isUrlRuleName, normalizeUrl, URL_RULE_NAMES, type UrlRuleName } from './url-rules.ts';

export type HtmlTokenInclude = 'combined' | 'insertions' | 'deletions' | 'all';
export const HTML_TOKEN_INCLUDES: readonly HtmlTokenInclude[] = ['combined', 'insertions', 'deletions', 'all'];

export interface HtmlTokenOptions {
  include: HtmlTokenInclude;
  /** URL comparison rules for links and images; empty = exact comparison. */
  urlRules: UrlRuleName[];
  insertionColor: string;
  deletionColor: string;
  /** Most tokens per side (TooLargeError beyond). */
  maxTokens: number;
  /** Most HTML nodes plus attributes per parsed side (TooLargeError beyond). */
  maxNodes: number;
  /** Most characters of HTML per side, checked before parsing (TooLargeError beyond). */
  maxChars: number;
}

export interface HtmlTokenResult {
  change_count: number;
  insertions_count: number;
  deletions_count: number;
  combined?: string;
  insertions?: string;
  deletions?: string;
}

/** Time budget of the `<title>` dmp diff (the anchor's). */
const TITLE_DIFF_TIMEOUT_MS = 4000;

const NO_CONTENT_DOCUMENT = '<html><head></head><body><p style="text-align: center;">[No Content]</p></body></html>';

export function parseHtmlTokenOptions(params: DiffParams, settings: DiffSettings): HtmlTokenOptions {
  const include = params.include ?? 'combined';
  if (!(HTML_TOKEN_INCLUDES as readonly string[]).includes(include)) {
    throw new BadRequestError(`\`include\` must be one of ${HTML_TOKEN_INCLUDES.join(', ')}`, {
      param: 'include',
      value: include,
      allowed: [...HTML_TOKEN_INCLUDES],
    });
  }
  const urlRules: UrlRuleName[] = [];
  for (const name of (params.url_rules ?? 'jsessionid').split(',')) {
    const rule = name.trim();
    if (rule === '') continue;
    if (!isUrlRuleName(rule)) {
      throw new BadRequestError(`Unknown URL rule \`${rule}\` in \`url_rules\` (known: ${URL_RULE_NAMES.join(', ')})`, {
        param: 'url_rules',
        value: rule,
        allowed: [...URL_RULE_NAMES],
      });
    }
    if (!urlRules.includes(rule)) urlRules.push(rule);
  }
  return {
    include: include as HtmlTokenInclude,
    urlRules,
    insertionColor: settings.insertionColor,
    deletionColor: settings.deletionColor,
    maxTokens: settings.htmlTokenMaxTokens,
    maxNodes: settings.maxHtmlNodes,
    maxChars: settings.maxHtmlChars,
  };
}

interface ParsedSide {
  document: Document;
  html: Element | undefined;
  head: Element | undefined;
  body: Element | undefined;
}

function parseSide(text: string, options: HtmlTokenOptions, side: 'a' | 'b'): ParsedSide {
  const source = text.trim() === '' ? NO_CONTENT_DOCUMENT : text;
  const document = parseHtmlDocument(source, { maxNodes: options.maxNodes, maxChars: options.maxChars, side });
  const html = document.childNodes.find((node): node is Element => isElement(node) && node.tagName === 'html');
  const children = html?.childNodes ?? [];
  const head = children.find((node): node is Element => isElement(node) && node.tagName === 'head');
  const body = children.find((node): node is Element => isElement(node) && node.tagName === 'body');
  return { document, html, head, body };
}

/**
 * Ids of image tokens: images compare by their normalised URLs, and images sharing any URL are
 * one group (union-find), so "equal if any URL matches" becomes an identity that can be hashed.
 */
function assignImageIds(streams: readonly TokenStream[], urlRules: readonly UrlRuleName[], ids: TokenIdTable): void {
  const urlGroup = new Map<string, number>();
  const parent: number[] = [];
  const find = (index: number): number => {
    let root = index;
    while (parent[root] !== root) root = parent[root]!;
    while (parent[index] !== root) {
      const next = parent[index]!;
      parent[index] = root;
      index = next;
    }
    return root;
  };
  const groupOf = (url: string): number => {
    let index = urlGroup.get(url);
    if (index === undefined) {
      index = parent.length;
      parent.push(index);
      urlGroup.set(url, index);
    }
    return index;
  };
  for (const stream of streams) {
    for (const urls of stream.imageUrls.values()) {
      const groups = urls.map((url) => find(groupOf(normalizeUrl(url, urlRules))));
      for (const group of groups.slice(1)) parent[find(group)] = find(groups[0]!);
    }
  }
  for (const stream of streams) {
    for (const [k, urls] of stream.imageUrls) {
      const first = urls[0];
      const key = first === undefined ? '' : String(find(urlGroup.get(normalizeUrl(first, urlRules))!));
      stream.tokenIds[k] = ids.idOf('image', key);
    }
  }
}

interface Counts {
  change_count: number;
  insertions_count: number;
  deletions_count: number;
}

/** Counts from the opcodes; a side made only of spacers (a tag-only change) does not count. */
function countChanges(opcodes: readonly Opcode[], oldIndex: StreamIndex, newIndex: StreamIndex): Counts {
  let insertions = 0;
  let deletions = 0;
  for (const op of opcodes) {
    if (op.tag === 'equal') continue;
    if (hasContent(oldIndex, op.i1, op.i2)) deletions += 1;
    if (hasContent(newIndex, op.j1, op.j2)) insertions += 1;
  }
  return { change_count: insertions + deletions, insertions_count: insertions, deletions_count: deletions };
}

function textOf(element: Element | undefined): string {
  if (element === undefined) return '';
  return element.childNodes.map((node) => (isTextNode(node) ? node.value : '')).join('');
}

function titleDiffHtml(oldHead: Element | undefined, newHead: Element | undefined): string {
  const oldTitle = textOf(oldHead === undefined ? undefined : findFirstElement(oldHead, 'title'));
  const newTitle = textOf(newHead === undefined ? undefined : findFirstElement(newHead, 'title'));
  return diffTexts(oldTitle, newTitle, { timeoutMs: TITLE_DIFF_TIMEOUT_MS })
    .map(([op, text]) => {
      const escaped = escapeText(text);
      return op === 0 ? escaped : op === -1 ? `<del class="wm-diff">${escaped}</del>` : `<ins class="wm-diff">${escaped}</ins>`;
    })
    .join('');
}

const SAFE_COLOR = /^[#\w(),.%\s-]+$/;

function diffStyle(options: HtmlTokenOptions): string {
  const insertion = SAFE_COLOR.test(options.insertionColor) ? options.insertionColor : '#a1d76a';
  const deletion = SAFE_COLOR.test(options.deletionColor) ? options.deletionColor : '#e8a4c8';
  return (
    '<style type="text/css" id="wm-diff-style">' +
    'ins.wm-diff, del.wm-diff {display: unset; visibility: unset; opacity: 1; clip: auto; text-decoration: unset; color: inherit;}\n' +
    `ins.wm-diff, ins.wm-diff > * {background-color: ${insertion} !important;}\n` +
    `del.wm-diff, del.wm-diff > * {background-color: ${deletion} !important;}\n` +
    '.wm-diff-href {cursor: help; font-size: 0.8em;}\n' +
    'script {display: none !important;}' +
    '</style>'
  );
}

function childrenHtml(element: Element | undefined, budget: SerializeBudget): string {
  return element === undefined ? '' : element.childNodes.map((child) => safeOuterHtml(child, budget)).join('');
}

/**
 * Defence in depth for a viewer that forgets to sandbox the output: no script or plugin runs
 * even if something slipped past safe-html.ts. First in `<head>`, as a CSP `<meta>` only
 * governs what follows it.
 */
const CONTENT_SECURITY_POLICY = `<meta http-equiv="Content-Security-Policy" content="script-src 'none'; object-src 'none'">`;

type DocumentType = DefaultTreeAdapterMap['documentType'];

// What a doctype may hold and still re-parse as the same doctype: no `>`, and one kind of quote.
const DOCTYPE_NAME = /^[^\s>"'<]*$/;
const quoteDoctypeId = (id: string): string | undefined => (id.includes('>') ? undefined : !id.includes('"') ? `"${id}"` : !id.includes("'") ? `'${id}'` : undefined);

/**
 * The page's doctype with its public and system identifiers, which decide quirks mode: an HTML
 * 4.01 Transitional page must stay in quirks mode to look the same.
 */
function doctypeHtml(doctype: DocumentType): string {
  // A name other than `html` means quirks mode, as does a missing one.
  const name = DOCTYPE_NAME.test(doctype.name) ? doctype.name : '';
  const publicId = doctype.publicId ? quoteDoctypeId(doctype.publicId) : undefined;
  const systemId = doctype.systemId ? quoteDoctypeId(doctype.systemId) : undefined;
  let html = `<!DOCTYPE${name === '' ? '' : ` ${name}`}`;
  if (publicId !== undefined) html += ` PUBLIC ${publicId}${systemId === undefined ? '' : ` ${systemId}`}`;
  else if (systemId !== undefined) html += ` SYSTEM ${systemId}`;
  return `${html}>`;
}

/** A full output document: the side's own html/head/body elements around the diffed body. */
function buildDocument(side: ParsedSide, headAdditions: string, bodyHtml: string, budget: SerializeBudget): string {
  const parts: string[] = [];
  const doctype = side.document.childNodes.find((node): node is DocumentType => node.nodeName === '#documentType');
  if (doctype !== undefined) parts.push(doctypeHtml(doctype));
  parts.push(side.html === undefined ? '<html>' : safeStartTag(side.html));
  parts.push(side.head === undefined ? '<head>' : safeStartTag(side.head), CONTENT_SECURITY_POLICY, childrenHtml(side.head, budget), headAdditions, '</head>');
  parts.push(side.body === undefined ? '<body>' : safeStartTag(side.body), bodyHtml, '</body></html>');
  return parts.join('');
}

/** Diffs two HTML documents token by token. Pure; throws TooLargeError past the limits. */
export function diffHtmlToken(aHtml: string, bHtml: string, options: HtmlTokenOptions): HtmlTokenResult {
  const oldSide = parseSide(aHtml, options, 'a');
  const newSide = parseSide(bHtml, options, 'b');
  const ids = new TokenIdTable();
  // One budget per side, so that the same markup on both sides is written the same way.
  const oldBudget = newSerializeBudget();
  const newBudget = newSerializeBudget();
  const tokenizeOptions = { maxTokens: options.maxTokens, urlRules: options.urlRules, ids };
  const oldStream = tokenizeBody(oldSide.body, { ...tokenizeOptions, side: 'a', serializeBudget: oldBudget });
  const newStream = tokenizeBody(newSide.body, { ...tokenizeOptions, side: 'b', serializeBudget: newBudget });
  assignImageIds([oldStream, newStream], options.urlRules, ids);
  const blocks = matchSequences(oldStream.tokenIds, newStream.tokenIds, ids.size);
  const opcodes = opcodesFromMatches(blocks, oldStream.tokenIds.length, newStream.tokenIds.length);
  const oldIndex = indexStream(oldStream);
  const newIndex = indexStream(newStream);
  // Counted on the plain alignment (as the anchor counts); shown block by block.
  const result: HtmlTokenResult = countChanges(opcodes, oldIndex, newIndex);
  const alignment = alignBlocks(opcodes, oldStream, newStream, ids.size);

  const style = diffStyle(options);
  const include = options.include;
  if (include === 'combined' || include === 'all') {
    const headAdditions =
      `<meta name="wm-diff-title" content="${escapeAttribute(titleDiffHtml(oldSide.head, newSide.head))}">` +
      `<template id="wm-diff-old-head">${childrenHtml(oldSide.head, oldBudget)}</template>` +
      style;
    result.combined = buildDocument(newSide, headAdditions, renderCombined(oldIndex, newIndex, alignment), newBudget);
  }
  if (include === 'insertions' || include === 'all') {
    result.insertions = buildDocument(newSide, style, renderSingleSide(newIndex, alignment.opcodes, 'b'), newBudget);
  }
  if (include === 'deletions' || include === 'all') {
    result.deletions = buildDocument(oldSide, style, renderSingleSide(oldIndex, alignment.opcodes, 'a'), oldBudget);
  }
  return result;
}

export const htmlTokenDiff: DiffDefinition<HtmlTokenOptions> = {
  name: 'html_token',
  accepts: 'html',
  needsText: true,
  parseOptions: parseHtmlTokenOptions,
  run: (a, b, options) => ({ ...diffHtmlToken(a.text, b.text, options) }),
};
