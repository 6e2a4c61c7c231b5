import { readFileSync } from 'node:fs';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { diffHtmlToken, type HtmlTokenOptions, type HtmlTokenResult } from '../../../src/diff/html-token/index.ts';
import { getAttribute, isElement, isTextNode, walk, type Element, type Node } from '../../../src/diff/html-parse.ts';

export const EXAMPLES_DIR = new URL('../../../fixtures/examples/', import.meta.url);
export const REAL_VERSIONS_DIR = new URL('../../../fixtures/real-versions/', import.meta.url);
export const PAGES_DIR = new URL('../../../fixtures/pages/', import.meta.url);

export const OPTIONS: HtmlTokenOptions = {
  include: 'all',
  urlRules: ['jsessionid'],
  insertionColor: '#a1d76a',
  deletionColor: '#e8a4c8',
  maxTokens: 500_000,
  maxNodes: 300_000,
  maxChars: 10_000_000,
};

export function diff(a: string, b: string, options: Partial<HtmlTokenOptions> = {}): HtmlTokenResult {
  return diffHtmlToken(a, b, { ...OPTIONS, ...options });
}

export function readExample(name: string): { before: string; after: string } {
  return {
    before: readFileSync(new URL(`${name}.before`, EXAMPLES_DIR), 'utf8'),
    after: readFileSync(new URL(`${name}.after`, EXAMPLES_DIR), 'utf8'),
  };
}

export type ParsedDocument = DefaultTreeAdapterMap['document'];

export function parseOutput(html: string): { document: ParsedDocument; errors: string[] } {
  const errors: string[] = [];
  const document = parse(html, { onParseError: (error) => errors.push(error.code) });
  return { document, errors };
}

/** Text as the DOM's textContent has it (template content is not part of it). */
export function textContent(node: Node): string {
  let text = '';
  for (const event of walk(node, (element) => element.tagName === 'template')) if (event.kind === 'enter' && isTextNode(event.node)) text += event.node.value;
  return text;
}

export function elements(root: Node, predicate: (element: Element) => boolean): Element[] {
  const found: Element[] = [];
  for (const event of walk(root)) if (event.kind === 'enter' && isElement(event.node) && predicate(event.node)) found.push(event.node);
  return found;
}

function hasClass(element: Element, name: string): boolean {
  return (getAttribute(element, 'class') ?? '').split(/\s+/).includes(name);
}

/** Texts of the `<ins class="wm-diff">` or `<del class="wm-diff">` markers of a document, whitespace-trimmed. */
export function markerTexts(html: string, marker: 'ins' | 'del'): string[] {
  const { document } = parseOutput(html);
  return elements(document, (element) => element.tagName === marker && hasClass(element, 'wm-diff') && !hasClass(element, 'wm-diff-href')).map(
    (element) => textContent(element).trim(),
  );
}

export function linkMarkers(html: string, marker: 'ins' | 'del'): string[] {
  const { document } = parseOutput(html);
  return elements(document, (element) => element.tagName === marker && hasClass(element, 'wm-diff-href')).map(
    (element) => getAttribute(element, 'data-wm-diff-href') ?? '',
  );
}

export function bodyOf(html: string): Element {
  const { document } = parseOutput(html);
  const [body] = elements(document, (element) => element.tagName === 'body');
  return body!;
}

export function counts(result: HtmlTokenResult): [number, number, number] {
  return [result.change_count, result.insertions_count, result.deletions_count];
}
