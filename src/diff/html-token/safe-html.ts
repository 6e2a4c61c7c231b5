// Serialising page markup into diff output so that nothing from the page can run: every
// `<script>` gets a non-executable type, `on*` handler attributes, `srcdoc` and attributes
// holding `javascript:`/`vbscript:` URLs are dropped, and `<meta http-equiv=refresh>` is
// defused. Comments are dropped (the anchor removes them too). Serialisation itself is parse5's
// (iterative, so deep trees are fine) through a tree adapter that applies these rules.

import { defaultTreeAdapter, serializeOuter, type DefaultTreeAdapterMap, type TreeAdapter } from 'parse5';
import type { ChildNode, Element, Node } from '../html-parse.ts';

type Attribute = Element['attrs'][number];

/** The type our output gives page scripts: browsers do not run scripts of unknown types. */
export const INERT_SCRIPT_TYPE = 'application/x-inert';

// Browsers ignore ASCII tab/newline anywhere in a URL and trim C0 controls and spaces.
const URL_IGNORED_CHARACTERS = /[\u0000-\u0020]/g;
const SCRIPT_URL = /^(?:javascript|vbscript):/i;

function isScriptUrl(value: string): boolean {
  return SCRIPT_URL.test(value.replace(URL_IGNORED_CHARACTERS, ''));
}

function needsChange(element: Element): boolean {
  if (element.tagName === 'script') return true;
  for (const attr of element.attrs) {
    const name = attr.name;
    if (name.length > 1 && (name.charCodeAt(0) | 0x20) === 0x6f && (name.charCodeAt(1) | 0x20) === 0x6e) return true;
    if (name === 'srcdoc' || name === 'http-equiv') return true;
    if (attr.value.length > 10 && isScriptUrl(attr.value)) return true;
  }
  return false;
}

/** The element's attributes with the script-carrying ones removed or defused. */
export function safeAttributes(element: Element): Attribute[] {
  if (!needsChange(element)) return element.attrs;
  const kept: Attribute[] = [];
  let originalScriptType: string | undefined;
  const isScript = element.tagName === 'script';
  for (const attr of element.attrs) {
    const lower = attr.name.toLowerCase();
    if (lower.startsWith('on') || lower === 'srcdoc' || isScriptUrl(attr.value)) continue;
    if (isScript && lower === 'type' && !attr.prefix) {
      originalScriptType = attr.value;
      continue;
    }
    if (lower === 'http-equiv' && attr.value.trim().toLowerCase() === 'refresh') {
      kept.push({ name: 'data-wm-diff-http-equiv', value: attr.value });
      continue;
    }
    kept.push(attr);
  }
  if (isScript) {
    kept.push({ name: 'type', value: INERT_SCRIPT_TYPE });
    if (originalScriptType !== undefined) kept.push({ name: 'data-wm-diff-original-type', value: originalScriptType });
  }
  return kept;
}

const safeTreeAdapter: TreeAdapter<DefaultTreeAdapterMap> = {
  ...defaultTreeAdapter,
  getAttrList: (element) => safeAttributes(element),
  getChildNodes: (node) => {
    const children = defaultTreeAdapter.getChildNodes(node);
    return children.some((child) => child.nodeName === '#comment') ? children.filter((child) => child.nodeName !== '#comment') : children;
  },
};

/** Outer HTML of a node (element, text), made safe. */
export function safeOuterHtml(node: Node): string {
  if (node.nodeName === '#comment') return '';
  return serializeOuter(node as ChildNode, { treeAdapter: safeTreeAdapter });
}

// Same escaping rules as parse5's serializer (from `entities`, which is not a direct dependency).
const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\u00a0': '&nbsp;', '"': '&quot;' };
const TEXT_SPECIALS = /[&<>\u00a0]/g;
const ATTRIBUTE_SPECIALS = /[&"\u00a0]/g;
const escapeChar = (char: string): string => TEXT_ESCAPES[char]!;

export function escapeText(text: string): string {
  return text.replace(TEXT_SPECIALS, escapeChar);
}

export function escapeAttribute(value: string): string {
  return value.replace(ATTRIBUTE_SPECIALS, escapeChar);
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

function attributeName(attr: Attribute): string {
  if (!attr.namespace) return attr.name;
  if (attr.namespace === XML_NS) return `xml:${attr.name}`;
  if (attr.namespace === XMLNS_NS) return attr.name === 'xmlns' ? 'xmlns' : `xmlns:${attr.name}`;
  if (attr.namespace === XLINK_NS) return `xlink:${attr.name}`;
  return `${attr.prefix ?? ''}:${attr.name}`;
}

/** A safe start tag `<name attr="value">` for an element (its children are emitted separately). */
export function safeStartTag(element: Element, extraAttributes: readonly Attribute[] = []): string {
  let html = `<${element.tagName}`;
  for (const attr of safeAttributes(element)) html += ` ${attributeName(attr)}="${escapeAttribute(attr.value)}"`;
  for (const attr of extraAttributes) html += ` ${attr.name}="${escapeAttribute(attr.value)}"`;
  return `${html}>`;
}
