// Serialising page markup into diff output so that nothing from the page can run, however a
// browser re-parses it. Attribute rules: every `<script>` gets a non-executable type; `on*`
// handler attributes, `srcdoc` and attributes holding `javascript:`/`vbscript:` URLs are
// dropped; `data:` URLs are dropped from frames, objects, embeds, links, form targets, SVG
// `<use>`/`<script>`, and kept in image sources only when they are images (RESOURCE_URL_ATTRIBUTES);
// iframes get `sandbox=""`; `<meta http-equiv>` refresh and CSP are defused; SVG animation elements
// (which can rewrite an `href` after we looked at it) are dropped.
//
// Serialisation is our own (iterative, so deep trees are fine) rather than parse5's because
// parse5 writes the text of raw-text elements (`style`, `script`, `noscript`, …) unescaped: an
// HTML `<style>` that the parser placed under MathML (`<math><mtext><table><mglyph><style>`)
// re-parses as a MathML element whose "text" becomes markup, the classic mutation-XSS. Here no
// text and no attribute value we write contains `<`, so every `<` in the output starts a tag we
// wrote, whatever namespace or tokenizer state a browser re-parses it in: raw text is made
// `<`-free (CSS escapes in style, `\u003c` in the inert scripts, `<noscript>` content parsed and
// re-serialised by these same rules, `<xmp>`/`<plaintext>` written as `<pre>`), attribute
// values escape `<` and `>`. Comments are dropped (the anchor removes them too).

import { defaultTreeAdapter, parseFragment, type DefaultTreeAdapterMap, type TreeAdapter } from 'parse5';
import { escapeAttribute, escapeText } from '../html-escape.ts';
import { childrenOf, isElement, isTextNode, type ChildNode, type Element, type Node } from '../html-parse.ts';

type Attribute = Element['attrs'][number];

/** The type our output gives page scripts: browsers do not run scripts of unknown types. */
export const INERT_SCRIPT_TYPE = 'application/x-inert';

const HTML_NS = 'http://www.w3.org/1999/xhtml';
const SVG_NS = 'http://www.w3.org/2000/svg';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

// Browsers ignore ASCII tab/newline anywhere in a URL and trim C0 controls and spaces; removing
// all of them everywhere catches every spelling a browser would accept (and a few it would not).
const URL_IGNORED_CHARACTERS = /[\u0000-\u0020]/g;
const SCRIPT_URL = /^(?:javascript|vbscript):/i;
const DATA_URL = /^data:/i;

function normalizedUrl(value: string): string {
  return value.replace(URL_IGNORED_CHARACTERS, '');
}

/**
 * Every attribute that makes a browser load or navigate to a URL, by namespace and element, and
 * what that URL may be. `javascript:`/`vbscript:` URLs are dropped from every attribute anyway.
 * - `document`: the URL is fetched as a document or script that can run (frames, objects, links,
 *   form targets, SVG `<use>` — which instantiates the referenced SVG's elements, handlers
 *   included — and SVG `<script>`): no `data:` URL at all.
 * - `image`: the URL is fetched as an image, which never runs script (`<img src>`, SVG `<image>`
 *   and `<feImage>`, `<input type=image>`, a video poster): a `data:` URL only if it is an image.
 * SVG attributes are matched by local name, so `href` covers `xlink:href` too. SVG animation
 * elements, which could set any of these after we looked at it (`<set attributeName="href"
 * to="data:…">`, `values`, `from`, `to`), are dropped whole (see isDropped).
 */
type ResourceKind = 'document' | 'image';
const RESOURCE_URL_ATTRIBUTES = new Map<string, ReadonlyMap<string, ResourceKind>>([
  [`${HTML_NS} iframe`, new Map([['src', 'document']])],
  [`${HTML_NS} frame`, new Map([['src', 'document']])],
  [`${HTML_NS} object`, new Map([['data', 'document']])],
  [`${HTML_NS} embed`, new Map([['src', 'document']])],
  [`${HTML_NS} a`, new Map([['href', 'document']])],
  [`${HTML_NS} area`, new Map([['href', 'document']])],
  [`${HTML_NS} form`, new Map([['action', 'document']])],
  [`${HTML_NS} button`, new Map([['formaction', 'document']])],
  [`${HTML_NS} input`, new Map([['formaction', 'document'], ['src', 'image']])],
  [`${HTML_NS} img`, new Map([['src', 'image']])],
  [`${HTML_NS} video`, new Map([['poster', 'image']])],
  [`${SVG_NS} a`, new Map([['href', 'document']])],
  [`${SVG_NS} use`, new Map([['href', 'document']])],
  [`${SVG_NS} script`, new Map([['href', 'document']])],
  [`${SVG_NS} image`, new Map([['href', 'image']])],
  [`${SVG_NS} feImage`, new Map([['href', 'image']])],
]);
const IMAGE_DATA_URL = /^data:image\//i;

/** Whether a resource attribute's (normalised) URL may stay. */
function isAllowedResourceUrl(kind: ResourceKind | undefined, url: string): boolean {
  if (kind === undefined || !DATA_URL.test(url)) return true;
  return kind === 'image' && IMAGE_DATA_URL.test(url);
}

const VOID_ELEMENTS = new Set([
  'area', 'base', 'basefont', 'bgsound', 'br', 'col', 'embed', 'frame', 'hr', 'img', 'input',
  'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr',
]);

/** HTML elements whose content the tokenizer reads as raw text (parse5's list, scripting on). */
const RAW_TEXT_ELEMENTS = new Set(['style', 'script', 'xmp', 'iframe', 'noembed', 'noframes', 'plaintext', 'noscript']);

/** SVG animation elements, lower-cased: `<animate attributeName="href" values="…;javascript:…">` rewrites a link after sanitising. */
const SVG_ANIMATIONS = new Set(['animate', 'set', 'animatemotion', 'animatetransform', 'animatecolor', 'discard']);

/**
 * `<meta http-equiv>` values defused: a refresh would navigate the viewer away; the page's own
 * Content-Security-Policy names the page's origin, so in the output it would only block our
 * diff style or the page's images.
 */
const DEFUSED_HTTP_EQUIV = new Set(['refresh', 'content-security-policy']);

function isHandlerName(name: string): boolean {
  return name.length > 2 && (name.charCodeAt(0) | 0x20) === 0x6f && (name.charCodeAt(1) | 0x20) === 0x6e;
}

function needsChange(element: Element): boolean {
  const name = element.tagName;
  if (name === 'script' || name === 'iframe') return true;
  for (const attr of element.attrs) {
    if (isHandlerName(attr.name) || attr.name === 'srcdoc' || attr.name === 'http-equiv') return true;
    if (attr.value.includes(':')) {
      const url = normalizedUrl(attr.value);
      if (SCRIPT_URL.test(url) || DATA_URL.test(url)) return true;
    }
  }
  return false;
}

/** The element's attributes with the script-carrying ones removed or defused. */
export function safeAttributes(element: Element): Attribute[] {
  if (!needsChange(element)) return element.attrs;
  const kept: Attribute[] = [];
  let originalScriptType: string | undefined;
  const isScript = element.tagName === 'script';
  // Any namespace: should a browser re-parse a foreign `iframe` as HTML, it is sandboxed too.
  const isIframe = element.tagName === 'iframe';
  const resourceAttributes = RESOURCE_URL_ATTRIBUTES.get(`${element.namespaceURI} ${element.tagName}`);
  for (const attr of element.attrs) {
    const lower = attr.name.toLowerCase();
    if (isHandlerName(lower) || lower === 'srcdoc') continue;
    const url = normalizedUrl(attr.value);
    if (SCRIPT_URL.test(url)) continue;
    if (!isAllowedResourceUrl(resourceAttributes?.get(lower), url)) continue;
    if (isIframe && lower === 'sandbox') continue;
    if (isScript && lower === 'type' && !attr.prefix) {
      originalScriptType = attr.value;
      continue;
    }
    if (lower === 'http-equiv' && DEFUSED_HTTP_EQUIV.has(attr.value.trim().toLowerCase())) {
      kept.push({ name: 'data-wm-diff-http-equiv', value: attr.value });
      continue;
    }
    kept.push(attr);
  }
  if (isScript) {
    kept.push({ name: 'type', value: INERT_SCRIPT_TYPE });
    if (originalScriptType !== undefined) kept.push({ name: 'data-wm-diff-original-type', value: originalScriptType });
  }
  // A page's frame never runs script, even if the viewer forgets to sandbox the output.
  if (isIframe) kept.push({ name: 'sandbox', value: '' });
  return kept;
}

function attributeName(attr: Attribute): string {
  if (!attr.namespace) return attr.name;
  if (attr.namespace === XML_NS) return `xml:${attr.name}`;
  if (attr.namespace === XMLNS_NS) return attr.name === 'xmlns' ? 'xmlns' : `xmlns:${attr.name}`;
  if (attr.namespace === XLINK_NS) return `xlink:${attr.name}`;
  return `${attr.prefix ?? ''}:${attr.name}`;
}

/** `<xmp>`/`<plaintext>` display their text literally; a `<pre>` with escaped text looks the same and ends where it should. */
function outputTagName(element: Element): string {
  return element.namespaceURI === HTML_NS && (element.tagName === 'xmp' || element.tagName === 'plaintext') ? 'pre' : element.tagName;
}

/** A safe start tag `<name attr="value">` for an element (its children are emitted separately). */
export function safeStartTag(element: Element, extraAttributes: readonly Attribute[] = []): string {
  let html = `<${outputTagName(element)}`;
  for (const attr of safeAttributes(element)) html += ` ${attributeName(attr)}="${escapeAttribute(attr.value)}"`;
  for (const attr of extraAttributes) html += ` ${attr.name}="${escapeAttribute(attr.value)}"`;
  return `${html}>`;
}

function isDropped(element: Element): boolean {
  return element.namespaceURI === SVG_NS && SVG_ANIMATIONS.has(element.tagName.toLowerCase());
}

/** Most nodes the content of one `<noscript>` may parse into; beyond, it is written as escaped text. */
const MAX_NOSCRIPT_NODES = 10_000;
/** Most `<noscript>` contents parsed per diff (each parse costs ~30 µs to set up); later ones are written as escaped text. */
const MAX_NOSCRIPT_PARSES = 1000;

/** What serialising may still spend, shared by everything one diff serialises. */
export interface SerializeBudget {
  noscriptParsesLeft: number;
}

export function newSerializeBudget(): SerializeBudget {
  return { noscriptParsesLeft: MAX_NOSCRIPT_PARSES };
}

class NoscriptTooLarge extends Error {}

function parseNoscriptContent(text: string): readonly ChildNode[] | undefined {
  let nodes = 0;
  const count = (): void => {
    nodes += 1;
    if (nodes > MAX_NOSCRIPT_NODES) throw new NoscriptTooLarge();
  };
  const treeAdapter: TreeAdapter<DefaultTreeAdapterMap> = {
    ...defaultTreeAdapter,
    createElement(tagName, namespaceURI, attrs) {
      count();
      return defaultTreeAdapter.createElement(tagName, namespaceURI, attrs);
    },
    insertText(parentNode, value) {
      count();
      defaultTreeAdapter.insertText(parentNode, value);
    },
  };
  // As a browser without scripting (a sandboxed viewer) reads it: markup in body context (parse5
  // would read a `noscript` context as raw text).
  const context = defaultTreeAdapter.createElement('div', HTML_NS as DefaultTreeAdapterMap['element']['namespaceURI'], []);
  try {
    return parseFragment(context, text, { treeAdapter, scriptingEnabled: false }).childNodes;
  } catch (error) {
    if (error instanceof NoscriptTooLarge) return undefined;
    throw error;
  }
}

function textOf(element: Element): string {
  let text = '';
  for (const child of element.childNodes) if (isTextNode(child)) text += child.value;
  return text;
}

/** Content of a raw-text HTML element, written without any `<` but for tags we write ourselves. */
function rawTextContent(element: Element, budget: SerializeBudget): string {
  const text = textOf(element);
  switch (element.tagName) {
    case 'style':
      // `<!--` is a no-op token in CSS; elsewhere `\3c ` is CSS for `<` (strings, url()).
      return text.includes('<') ? text.replaceAll('<!--', '').replaceAll('<', '\\3c ') : text;
    case 'script':
      return text.replaceAll('<', '\\u003c'); // never runs (inert type); kept for reading
    case 'noscript': {
      if (!text.includes('<')) return text;
      if (budget.noscriptParsesLeft <= 0) return escapeText(text);
      budget.noscriptParsesLeft -= 1;
      const children = parseNoscriptContent(text);
      return children === undefined ? escapeText(text) : serializeNodes(children, budget, true);
    }
    default:
      return escapeText(text); // xmp/plaintext (as <pre>); iframe, noembed, noframes fallback text
  }
}

/**
 * Serialises nodes with the rules above. Inside `<noscript>` content, nested noscript tags are
 * left out (their end tag would end the outer one early for a browser with scripting on).
 */
function serializeNodes(roots: readonly ChildNode[], budget: SerializeBudget, insideNoscript: boolean): string {
  let html = '';
  const stack: { nodes: readonly ChildNode[]; index: number; endTag: string }[] = [];
  let nodes = roots;
  let index = 0;
  for (;;) {
    if (index < nodes.length) {
      const node = nodes[index]!;
      index += 1;
      if (isElement(node)) {
        if (isDropped(node)) continue;
        const isHtml = node.namespaceURI === HTML_NS;
        if (insideNoscript && isHtml && node.tagName === 'noscript') {
          stack.push({ nodes, index, endTag: '' });
          nodes = node.childNodes;
          index = 0;
          continue;
        }
        html += safeStartTag(node);
        if (isHtml && VOID_ELEMENTS.has(node.tagName)) continue;
        const endTag = `</${outputTagName(node)}>`;
        if (isHtml && RAW_TEXT_ELEMENTS.has(node.tagName)) {
          html += rawTextContent(node, budget) + endTag;
          continue;
        }
        stack.push({ nodes, index, endTag });
        nodes = childrenOf(node);
        index = 0;
      } else if (isTextNode(node)) {
        html += escapeText(node.value);
      }
      // Comments, doctypes: dropped.
    } else {
      const parent = stack.pop();
      if (parent === undefined) return html;
      html += parent.endTag;
      ({ nodes, index } = parent);
    }
  }
}

/** Outer HTML of a node (element, text), made safe. */
export function safeOuterHtml(node: Node, budget: SerializeBudget): string {
  if (!isElement(node) && !isTextNode(node)) return '';
  return serializeNodes([node], budget, false);
}
