// A seeded generator of structural edits on real page content: rows, cells, list items,
// paragraphs and headings inserted, deleted and modified; paragraphs split and merged; blocks
// moved; inside real documentation markup plus a nested table/list/definition-list section.
import { readFileSync } from 'node:fs';
import { parse, parseFragment, serialize, serializeOuter, type DefaultTreeAdapterMap } from 'parse5';
import { isElement, isTextNode, walk, type Element, type Node } from '../../../src/diff/html-parse.ts';
import { PAGES_DIR } from './helpers.ts';

type ParentNode = DefaultTreeAdapterMap['parentNode'];
type ChildNode = DefaultTreeAdapterMap['childNode'];

const VOCABULARY = 'river stone light report federal water energy grid station county permit review annual budget school bridge'.split(' ');

function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length)];
}

function words(random: () => number, count: number): string {
  return Array.from({ length: count }, () => pick(random, VOCABULARY)!).join(' ');
}

/** Nested tables, lists and a definition list, with text from a small vocabulary. */
function nestedSection(random: () => number): string {
  const row = (i: number): string =>
    i % 4 === 3
      ? `<tr><td>${words(random, 2)}</td><td><table><tr><td>${words(random, 2)}</td><td>${i}</td></tr><tr><td>${words(random, 1)}</td><td>${i + 1}</td></tr></table></td></tr>`
      : `<tr><td>${words(random, 2)} ${i}</td><td>${words(random, 3)}</td><td><a href="/r/${i}">${words(random, 1)}</a></td></tr>`;
  const item = (i: number): string =>
    i % 3 === 2 ? `<li>${words(random, 3)}<ul><li>${words(random, 2)}</li><li>${words(random, 2)} ${i}</li></ul></li>` : `<li>${words(random, 4)} ${i}</li>`;
  const rows = Array.from({ length: 8 }, (_, i) => row(i)).join('');
  const items = Array.from({ length: 6 }, (_, i) => item(i)).join('');
  const terms = Array.from({ length: 3 }, (_, i) => `<dt>${words(random, 1)} ${i}</dt><dd>${words(random, 5)}</dd>`).join('');
  return `<h2>${words(random, 2)}</h2><table><thead><tr><th>Name</th><th>Value</th><th>Link</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<ol>${items}</ol><dl>${terms}</dl><p>${words(random, 8)}</p>`;
}

const BASE_BLOCKS = new Set(['p', 'ul', 'ol', 'dl', 'table', 'h1', 'h2', 'h3', 'pre', 'blockquote']);
let pageBlocks: string[] | undefined;

/** Top-level-ish blocks of a few real pages, serialised. */
function realBlocks(): string[] {
  if (pageBlocks !== undefined) return pageBlocks;
  pageBlocks = [];
  for (const id of ['00-tutorial_whatnow', '01-library_spwd', '03-library_atexit', '10-library_bz2']) {
    const document = parse(readFileSync(new URL(`${id}.a.html`, PAGES_DIR), 'utf8'));
    for (const event of walk(document, (element) => BASE_BLOCKS.has(element.tagName))) {
      if (event.kind === 'enter' && isElement(event.node) && BASE_BLOCKS.has(event.node.tagName)) {
        const html = serializeOuter(event.node);
        if (html.length < 3000) pageBlocks.push(html);
      }
    }
  }
  return pageBlocks;
}

/** A base page: a run of real blocks and the nested section, in a wrapping div. */
export function basePage(random: () => number): string {
  const blocks = realBlocks();
  const start = Math.floor(random() * Math.max(1, blocks.length - 12));
  const real = blocks.slice(start, start + 4 + Math.floor(random() * 5)).join('\n');
  return `<!DOCTYPE html><html><head><title>t</title></head><body><div class="body">${real}\n${nestedSection(random)}</div></body></html>`;
}

function elementsOf(root: Node, names: readonly string[]): Element[] {
  const found: Element[] = [];
  for (const event of walk(root)) if (event.kind === 'enter' && isElement(event.node) && names.includes(event.node.tagName)) found.push(event.node);
  return found;
}

function removeNode(node: ChildNode): void {
  const parent = node.parentNode!;
  parent.childNodes.splice(parent.childNodes.indexOf(node), 1);
  node.parentNode = null;
}

function insertAt(parent: ParentNode, index: number, node: ChildNode): void {
  parent.childNodes.splice(index, 0, node);
  node.parentNode = parent;
}

/** A copy of an element, parsed in its parent's context (so a row stays a row). */
function cloneOf(element: Element): Element {
  const parent = element.parentNode as DefaultTreeAdapterMap['element'];
  const fragment = parseFragment<DefaultTreeAdapterMap>(parent, serializeOuter(element), {});
  return fragment.childNodes.find((node): node is Element => isElement(node))!;
}

function textNodes(root: Node): DefaultTreeAdapterMap['textNode'][] {
  const found: DefaultTreeAdapterMap['textNode'][] = [];
  for (const event of walk(root, (element) => element.tagName === 'pre' || element.tagName === 'script')) {
    if (event.kind === 'enter' && isTextNode(event.node) && event.node.value.trim() !== '') found.push(event.node);
  }
  return found;
}

function changeWords(random: () => number, root: Node): boolean {
  const text = pick(random, textNodes(root));
  if (text === undefined) return false;
  const parts = text.value.split(' ');
  const wordIndices = parts.flatMap((part, index) => (part.trim() === '' ? [] : [index]));
  parts[pick(random, wordIndices)!] = pick(random, VOCABULARY)!;
  text.value = parts.join(' ');
  return true;
}

const EDITS = ['delete', 'insert', 'modify', 'split', 'merge', 'move'] as const;
const KINDS = ['tr', 'td', 'li', 'p', 'h2', 'dd'] as const;

/** Applies 1–3 random structural edits to a page; returns the new page and what was done. */
export function editPage(random: () => number, html: string): { html: string; edits: string[] } {
  const document = parse(html);
  const edits: string[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let attempt = 0; edits.length < count && attempt < 20; attempt += 1) {
    const edit = pick(random, EDITS)!;
    const kind = pick(random, KINDS)!;
    const target = pick(random, elementsOf(document, [kind]));
    if (target === undefined) continue;
    const parent = target.parentNode!;
    const index = parent.childNodes.indexOf(target);
    switch (edit) {
      case 'delete':
        removeNode(target);
        break;
      case 'insert': {
        const copy = cloneOf(target);
        changeWords(random, copy);
        insertAt(parent, index + (random() < 0.5 ? 0 : 1), copy);
        break;
      }
      case 'modify':
        if (!changeWords(random, target)) continue;
        break;
      case 'split': {
        if (kind !== 'p') continue;
        const splitAt = target.childNodes.findIndex((node, i) => i > 0 && isTextNode(node));
        if (splitAt <= 0) continue;
        const second = cloneOf(target);
        second.childNodes = [];
        for (const node of target.childNodes.splice(splitAt)) insertAt(second, second.childNodes.length, node);
        insertAt(parent, index + 1, second);
        break;
      }
      case 'merge': {
        if (kind !== 'p') continue;
        const next = parent.childNodes.slice(index + 1).find((node) => isElement(node) || (isTextNode(node) && node.value.trim() !== ''));
        if (next === undefined || !isElement(next) || next.tagName !== 'p') continue;
        const space = parseFragment(' ').childNodes[0]!;
        insertAt(target, target.childNodes.length, space); // the two paragraphs' words stay apart
        for (const node of next.childNodes.splice(0)) insertAt(target, target.childNodes.length, node);
        removeNode(next);
        break;
      }
      case 'move': {
        const siblings = parent.childNodes.filter((node): node is Element => isElement(node) && node.tagName === kind);
        if (siblings.length < 2) continue;
        removeNode(target);
        const destination = pick(random, siblings.filter((node) => node !== target))!;
        insertAt(parent, parent.childNodes.indexOf(destination) + (random() < 0.5 ? 0 : 1), target);
        break;
      }
    }
    edits.push(`${edit} ${kind}`);
  }
  return { html: serialize(document), edits };
}
