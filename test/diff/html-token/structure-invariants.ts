// The structural invariants of html_token views (issue #15), checked on the parsed output:
// - every view re-parses to the element tree of its page (b for combined and insertions, a for
//   deletions) plus markers, and no element is moved by a parser's error recovery (tree order
//   is source order);
// - no marker is a child of a table, row, table section, list or select;
// - `combined` without its deletions reads b's text block by block; without its insertions it
//   reads a's words in order;
// - each deletion's text lies within one block of a, each insertion's within one block of b;
// - no deletion is immediately followed by an insertion of the same text.
import { parse } from 'parse5';
import { childrenOf, getAttribute, isElement, isTextNode, type Element, type Node } from '../../../src/diff/html-parse.ts';
import type { HtmlTokenResult } from '../../../src/diff/html-token/index.ts';
import { BLOCK_ELEMENTS, DELETED_BLOCK_ATTRIBUTE, MARKER_FREE_CONTAINERS } from '../../../src/diff/html-token/structure.ts';

const HTML_NS = 'http://www.w3.org/1999/xhtml';
const NO_CONTENT_DOCUMENT = '<html><head></head><body><p style="text-align: center;">[No Content]</p></body></html>';
/** Elements html_token writes whole (their inside is not compared here) or that show no text. */
const WHOLE = new Set(['svg', 'math', 'textarea', 'select', 'option', 'datalist', 'rp', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext', 'video', 'audio', 'object', 'canvas', 'embed', 'script', 'style', 'template']);
const SILENT = new Set(['script', 'style', 'template', 'noscript', 'svg', 'math', 'select', 'textarea', 'datalist', 'option', 'iframe', 'noembed', 'noframes', 'object', 'video', 'audio', 'canvas']);

type Role = 'insertion' | 'deletion' | 'href' | 'deleted-block' | 'inert' | 'none';

function classes(element: Element): string[] {
  return (getAttribute(element, 'class') ?? '').split(/\s+/);
}

function roleOf(element: Element): Role {
  if (element.namespaceURI !== HTML_NS) return 'none';
  const name = element.tagName;
  if ((name === 'ins' || name === 'del') && classes(element).includes('wm-diff')) {
    if (classes(element).includes('wm-diff-href')) return 'href';
    return name === 'ins' ? 'insertion' : 'deletion';
  }
  if (getAttribute(element, DELETED_BLOCK_ATTRIBUTE) !== undefined) return 'deleted-block';
  if (name === 'template' && classes(element).includes('wm-diff-deleted-inert')) return 'inert';
  return 'none';
}

function isHidden(element: Element): boolean {
  const hidden = getAttribute(element, 'hidden');
  if (hidden !== undefined && hidden.trim().toLowerCase() !== 'until-found') return true;
  return /(^|;)\s*display\s*:\s*none\s*(!\s*important\s*)?(;|$)/i.test(getAttribute(element, 'style') ?? '');
}

/** How a view is read: which markers' content counts, which are transparent. */
type Reading = { keep: ReadonlySet<Role>; transparent: ReadonlySet<Role> };
const PAGE: Reading = { keep: new Set(['none']), transparent: new Set() };
const NEW_IN_COMBINED: Reading = { keep: new Set(['none']), transparent: new Set(['insertion']) };
const OLD_IN_COMBINED: Reading = { keep: new Set(['none', 'deleted-block']), transparent: new Set(['deletion']) };
const INSERTIONS: Reading = { keep: new Set(['none']), transparent: new Set(['insertion']) };
const DELETIONS: Reading = { keep: new Set(['none']), transparent: new Set(['deletion']) };

interface Reader {
  /** Element tree as `depth:name` lines, markers transparent. */
  skeleton: string[];
  /** Text of each block (whitespace collapsed), in order, empty ones left out. */
  blockTexts: string[];
}

function bodyOf(html: string): Element {
  const document = parse(html.trim() === '' ? NO_CONTENT_DOCUMENT : html);
  const htmlElement = document.childNodes.find((node): node is Element => isElement(node) && node.tagName === 'html')!;
  return htmlElement.childNodes.find((node): node is Element => isElement(node) && node.tagName === 'body')!;
}

const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Reads a body: the page's own ins/del are transparent (html_token unwraps them), as are the reading's markers. */
function read(body: Element, reading: Reading, isPage: boolean): Reader {
  const skeleton: string[] = [];
  const blockTexts: string[] = [];
  let text = '';
  const endBlock = (): void => {
    const collapsed = collapse(text);
    if (collapsed !== '') blockTexts.push(collapsed);
    text = '';
  };
  const visit = (node: Node, depth: number, silent: boolean): void => {
    if (isTextNode(node)) {
      if (!silent) text += node.value;
      return;
    }
    if (!isElement(node)) return;
    const role = roleOf(node);
    const name = node.tagName;
    const html = node.namespaceURI === HTML_NS;
    let transparent = reading.transparent.has(role);
    if (!transparent && !reading.keep.has(role)) return;
    if (isPage && html && (name === 'ins' || name === 'del')) transparent = true;
    if (transparent) {
      for (const child of childrenOf(node)) visit(child, depth, silent);
      return;
    }
    skeleton.push(`${depth}:${html && (name === 'xmp' || name === 'plaintext') ? 'pre' : name}`);
    if (WHOLE.has(name) || !html) return;
    const block = BLOCK_ELEMENTS.has(name);
    if (block) endBlock();
    if (html && name === 'br') text += ' '; // a line break separates words
    if (isHidden(node)) return; // no box, no text, no line break (html_token does not compare it either)
    const quiet = silent || SILENT.has(name);
    for (const child of childrenOf(node)) visit(child, depth + 1, quiet);
    if (block) endBlock();
  };
  for (const child of body.childNodes) visit(child, 0, false);
  endBlock();
  return { skeleton, blockTexts };
}

function markers(root: Node, role: Role): Element[] {
  const found: Element[] = [];
  const visit = (node: Node): void => {
    if (!isElement(node)) return;
    if (roleOf(node) === role) found.push(node);
    for (const child of childrenOf(node)) visit(child);
  };
  visit(root);
  return found;
}

function textOf(node: Node): string {
  if (isTextNode(node)) return node.value;
  if (!isElement(node) || SILENT.has(node.tagName) || roleOf(node) === 'href') return '';
  if (node.tagName === 'br') return ' ';
  return childrenOf(node).map(textOf).join('');
}

function firstDifference(actual: readonly string[], expected: readonly string[]): string | undefined {
  const length = Math.max(actual.length, expected.length);
  for (let index = 0; index < length; index += 1) {
    if (actual[index] !== expected[index]) {
      return `at ${index}: got ${JSON.stringify(actual.slice(Math.max(0, index - 2), index + 3))}, want ${JSON.stringify(expected.slice(Math.max(0, index - 2), index + 3))}`;
    }
  }
  return undefined;
}

/**
 * Elements a parser's error recovery moved: in tree order, elements written in the source must
 * come in source order (a marker foster-parented out of a table comes before the table but was
 * written inside it). Elements the parser created itself (tbody) have no source location.
 */
function movedByParser(html: string): string[] {
  const document = parse(html, { sourceCodeLocationInfo: true });
  const problems: string[] = [];
  let last = -1;
  const visit = (node: Node): void => {
    if (!isElement(node)) return;
    const offset = node.sourceCodeLocation?.startOffset;
    if (offset !== undefined) {
      if (offset < last) problems.push(`<${node.tagName}> written at ${offset} was moved by the parser`);
      last = Math.max(last, offset);
    }
    for (const child of node.childNodes) visit(child);
  };
  for (const child of document.childNodes) visit(child);
  return problems;
}

/** Markers whose parent is a table/list container. */
function misplacedMarkers(body: Element): string[] {
  const problems: string[] = [];
  const visit = (node: Node): void => {
    if (!isElement(node)) return;
    for (const child of childrenOf(node)) {
      if (isElement(child) && (roleOf(child) === 'insertion' || roleOf(child) === 'deletion' || roleOf(child) === 'href') && MARKER_FREE_CONTAINERS.has(node.tagName)) {
        problems.push(`<${child.tagName}> marker directly in <${node.tagName}>`);
      }
      visit(child);
    }
  };
  visit(body);
  return problems;
}

/** Markers of `role` whose text is not within one block of the page. */
function markersAcrossBlocks(body: Element, role: Role, pageBlocks: readonly string[]): string[] {
  const joined = `\u0000${pageBlocks.join('\u0000')}\u0000`;
  const problems: string[] = [];
  for (const marker of markers(body, role)) {
    const text = collapse(textOf(marker));
    if (text !== '' && !joined.includes(text)) problems.push(`${role} "${text.slice(0, 80)}" is not within one block of its page`);
  }
  return problems;
}

function noOpPairs(body: Element): string[] {
  const problems: string[] = [];
  for (const deletion of markers(body, 'deletion')) {
    const siblings = deletion.parentNode === null ? [] : childrenOf(deletion.parentNode);
    let index = siblings.indexOf(deletion) + 1;
    while (index < siblings.length && isTextNode(siblings[index]!) && (siblings[index] as { value: string }).value.trim() === '') index += 1;
    const next = siblings[index];
    if (next !== undefined && isElement(next) && roleOf(next) === 'insertion' && collapse(textOf(next)) === collapse(textOf(deletion))) {
      problems.push(`no-op pair: "${collapse(textOf(deletion)).slice(0, 60)}" deleted and inserted as is`);
    }
  }
  return problems;
}

const words = (texts: readonly string[]): string[] => texts.join(' ').split(' ').filter((word) => word !== '');

/**
 * Whether `actual` reads the same words as `expected` with no two of them run together: the
 * same characters (whitespace aside) and a word break wherever `expected` has one (a split
 * paragraph may add breaks).
 */
function wordsKeptApart(actual: readonly string[], expected: readonly string[]): string | undefined {
  const joinedActual = actual.join('');
  const joinedExpected = expected.join('');
  if (joinedActual !== joinedExpected) {
    let index = 0;
    while (joinedActual[index] === joinedExpected[index]) index += 1;
    return `text differs at ${index}: got "${joinedActual.slice(Math.max(0, index - 40), index + 40)}", want "${joinedExpected.slice(Math.max(0, index - 40), index + 40)}"`;
  }
  const breaks = new Set<number>();
  let position = 0;
  for (const word of actual) breaks.add((position += word.length));
  position = 0;
  for (const [index, word] of expected.entries()) {
    position += word.length;
    if (!breaks.has(position)) return `"${word}" runs into "${expected[index + 1]}"`;
  }
  return undefined;
}

/** Every problem the views of `result` (a diff of `a` → `b`, include=all) have. Empty when all invariants hold. */
export function structureProblems(a: string, b: string, result: HtmlTokenResult): string[] {
  const problems: string[] = [];
  const pageA = read(bodyOf(a), PAGE, true);
  const pageB = read(bodyOf(b), PAGE, true);
  const check = (label: string, difference: string | undefined): void => {
    if (difference !== undefined) problems.push(`${label}: ${difference}`);
  };

  if (result.combined !== undefined) {
    const body = bodyOf(result.combined);
    const asNew = read(body, NEW_IN_COMBINED, false);
    check('combined tree vs b', firstDifference(asNew.skeleton, pageB.skeleton));
    check('combined without deletions vs b text by block', firstDifference(asNew.blockTexts, pageB.blockTexts));
    check('combined without insertions vs a words', wordsKeptApart(words(read(body, OLD_IN_COMBINED, false).blockTexts), words(pageA.blockTexts)));
    problems.push(...misplacedMarkers(body).map((p) => `combined: ${p}`));
    problems.push(...movedByParser(result.combined).map((p) => `combined: ${p}`));
    problems.push(...markersAcrossBlocks(body, 'deletion', pageA.blockTexts).map((p) => `combined: ${p}`));
    problems.push(...markersAcrossBlocks(body, 'insertion', pageB.blockTexts).map((p) => `combined: ${p}`));
    problems.push(...noOpPairs(body).map((p) => `combined: ${p}`));
  }
  if (result.insertions !== undefined) {
    const body = bodyOf(result.insertions);
    const view = read(body, INSERTIONS, false);
    check('insertions tree vs b', firstDifference(view.skeleton, pageB.skeleton));
    check('insertions text vs b', firstDifference(view.blockTexts, pageB.blockTexts));
    problems.push(...misplacedMarkers(body).map((p) => `insertions: ${p}`));
    problems.push(...movedByParser(result.insertions).map((p) => `insertions: ${p}`));
    problems.push(...markersAcrossBlocks(body, 'insertion', pageB.blockTexts).map((p) => `insertions: ${p}`));
  }
  if (result.deletions !== undefined) {
    const body = bodyOf(result.deletions);
    const view = read(body, DELETIONS, false);
    check('deletions tree vs a', firstDifference(view.skeleton, pageA.skeleton));
    check('deletions text vs a', firstDifference(view.blockTexts, pageA.blockTexts));
    problems.push(...misplacedMarkers(body).map((p) => `deletions: ${p}`));
    problems.push(...movedByParser(result.deletions).map((p) => `deletions: ${p}`));
    problems.push(...markersAcrossBlocks(body, 'deletion', pageA.blockTexts).map((p) => `deletions: ${p}`));
  }
  return problems;
}
