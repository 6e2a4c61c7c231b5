// Visible text of an HTML document, as the anchor's side_by_side_text and html_text_dmp see it
// (spec/diff-types.md §2.3): every text node in document order, except those whose *direct*
// parent is style/script/head/title or the document root, joined with single spaces; runs of
// whitespace holding two or more line breaks become "\n\n"; then trimmed.
// Everything here is linear: an iterative walk, parts collected in arrays and joined once.

import { childrenOf, isTextNode, parseHtmlDocument, type ChildNode, type Node, type ParseHtmlOptions, type TextNode } from './html-parse.ts';

/** Parents whose text children are not visible (`#document`: text at the root, e.g. the doctype in the anchor's tree). */
const HIDDEN_TEXT_PARENTS: ReadonlySet<string> = new Set(['style', 'script', 'head', 'title', '#document']);

export interface VisibleTextOptions {
  /** Most HTML nodes plus attributes the parse may build; beyond it → TooLargeError (413). */
  maxNodes: number;
  /** Most characters of HTML to parse; beyond it → TooLargeError (413) before parsing. */
  maxChars?: number;
  /** Which side this is (`a` or `b`), for error messages. */
  side?: string;
}

/** Parses `html` (node-capped) and returns its visible text. */
export function extractVisibleText(html: string, options: VisibleTextOptions): string {
  // The anchor's parser (html5-parser, i.e. gumbo) parses with scripting disabled, so <noscript>
  // content is markup whose text is kept, not one raw-text node.
  const parseOptions: ParseHtmlOptions = {
    maxNodes: options.maxNodes,
    ...(options.maxChars === undefined ? {} : { maxChars: options.maxChars }),
    scriptingEnabled: false,
    ...(options.side === undefined ? {} : { side: options.side }),
  };
  return visibleTextOf(parseHtmlDocument(html, parseOptions));
}

/** Visible text of an already parsed tree (comments are never text nodes, so they drop out). */
export function visibleTextOf(root: Node): string {
  const parts: string[] = [];
  if (isTextNode(root)) addVisibleText(root, parts);
  // Document order without recursion (documents can nest 100 000 deep), and without walk(): its
  // generator and event objects took ~60% of this function's time. The child lists being worked
  // through, and where each one is at:
  const lists: (readonly ChildNode[])[] = [];
  const positions: number[] = [];
  let children = childrenOf(root);
  let index = 0;
  for (;;) {
    if (index < children.length) {
      const node = children[index]!;
      index += 1;
      if (isTextNode(node)) {
        addVisibleText(node, parts);
        continue;
      }
      const inner = childrenOf(node);
      if (inner.length === 0) continue;
      lists.push(children);
      positions.push(index);
      children = inner;
      index = 0;
      continue;
    }
    if (lists.length === 0) break;
    children = lists.pop()!;
    index = positions.pop()!;
  }
  return collapseBlankLines(parts.join(' '));
}

function addVisibleText(node: TextNode, parts: string[]): void {
  // A <template>'s text sits in its content fragment (`#document-fragment`); the anchor's tree
  // has the template itself as parent, which is not hidden, so fragment parents are kept too.
  const parent = node.parentNode;
  if (parent === null || HIDDEN_TEXT_PARENTS.has(parent.nodeName)) return;
  parts.push(node.value);
}

/**
 * Replaces each maximal whitespace run that holds two or more "\n" by exactly "\n\n", then
 * strips whitespace at both ends. Hand-written rather than a regex: `\s*\n\s*\n\s*` backtracks
 * quadratically on a long run of spaces, and Python's whitespace set (which the anchor uses)
 * differs from JavaScript's `\s`.
 */
export function collapseBlankLines(text: string): string {
  const out: string[] = [];
  let copiedUpTo = 0;
  // Only runs with a line break can change: find each with indexOf, then take its whole run
  // (a native search, ~2× faster than testing every character).
  let searchFrom = 0;
  for (;;) {
    const lineBreak = text.indexOf('\n', searchFrom);
    if (lineBreak === -1) break;
    // The run's start: back over whitespace, never into the previous run (it ended at a non-space).
    let runStart = lineBreak;
    while (runStart > searchFrom && isPythonWhitespace(text.charCodeAt(runStart - 1))) runStart -= 1;
    let runEnd = lineBreak + 1;
    let lineBreaks = 1;
    for (; runEnd < text.length; runEnd += 1) {
      const code = text.charCodeAt(runEnd);
      if (code === 0x0a) lineBreaks += 1;
      else if (!isPythonWhitespace(code)) break;
    }
    if (lineBreaks >= 2) {
      out.push(text.slice(copiedUpTo, runStart), '\n\n');
      copiedUpTo = runEnd;
    }
    searchFrom = runEnd;
  }
  if (copiedUpTo === 0) return stripPythonWhitespace(text);
  out.push(text.slice(copiedUpTo));
  return stripPythonWhitespace(out.join(''));
}

/** Python's `str.strip()`: JavaScript's `trim()` uses a different whitespace set. */
export function stripPythonWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPythonWhitespace(text.charCodeAt(start))) start += 1;
  while (end > start && isPythonWhitespace(text.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Python's `str.isspace()` / regex `\s` for one UTF-16 code unit (all such characters are in the BMP). */
export function isPythonWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}
