// Turns a document body into the token stream html_token diffs: words (with their trailing
// whitespace), images, link targets, opaque elements and spacers. The markup between tokens
// (start/end tags, whitespace-only text, whole elements the page hides) is kept as "gap" items:
// they are rendered but never compared, so tag-only changes and changes inside hidden elements
// count 0. Memory is linear in the input; the walk is iterative.

import { TooLargeError } from '../../errors.ts';
import { getAttribute, isElement, isTextNode, walk, type Element } from '../html-parse.ts';
import { escapeText } from '../html-escape.ts';
import { safeOuterHtml, safeStartTag, type SerializeBudget } from './safe-html.ts';
import { BOUNDARY_VOIDS, isBlock, SPACER_BLOCKS } from './structure.ts';
import { normalizeUrl, parseSrcset, type UrlRuleName } from './url-rules.ts';

export const TOKEN_WORD = 0;
export const TOKEN_IMAGE = 1;
export const TOKEN_HREF = 2;
/** A visible element compared as a whole (svg, select, iframe…). */
export const TOKEN_OPAQUE = 3;
/** A whole element that renders nothing (script, style, template): never wrapped in a marker. */
export const TOKEN_INVISIBLE = 4;
/**
 * Separator placed before block openings; renders nothing. Spacers of the same block name are
 * equal, so the alignment pairs old and new blocks of the same kind (the anchor makes all spacers
 * equal, which lets a paragraph's spacers pair with a list item's and misplace deleted blocks).
 */
export const TOKEN_SPACER = 5;

export const ITEM_OPEN = 0;
export const ITEM_CLOSE = 1;
/** A void tag, or a whole element the page hides (`hidden`, inline `display: none`). */
export const ITEM_VOID = 2;
export const ITEM_TEXT = 3;

/** Spacers per separatable opening: a run of 3 survives the cleanup that drops matches of ≤ 2. */
export const SPACERS_PER_BLOCK = 3;

const INVISIBLE = new Set(['script', 'style', 'template']);
// Compared as whole units: the anchor's undiffable list, plus raw-text elements whose content
// cannot be re-emitted as words, plus replaced elements whose content is only fallback.
const OPAQUE = new Set([
  'svg', 'math', 'textarea', 'select', 'option', 'datalist', 'rp',
  'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext',
  'video', 'audio', 'object', 'canvas', 'embed',
]);
const VOID = new Set([
  'area', 'base', 'basefont', 'bgsound', 'br', 'col', 'embed', 'frame', 'hr', 'img', 'input',
  'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr',
]);
// The parser drops a newline right after these start tags, so one is re-added when the text starts with one.
const LEADING_NEWLINE_ELEMENTS = new Set(['pre', 'listing']);
/** ins/del in the page are unwrapped (their content kept): our markers use those names. */
const UNWRAPPED = new Set(['ins', 'del']);

const HTML_NS = 'http://www.w3.org/1999/xhtml';
const WORD = /\S+\s*/g;

/** A growable Int32Array (a plain array of numbers takes twice the memory per entry). */
export class IntList {
  data = new Int32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length] = value;
    this.length += 1;
  }

  toArray(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Token identities → integer ids, shared by both sides. Each kind has its own table, so a word
 * can never equal an element.
 */
export class TokenIdTable {
  private next = 0;
  private readonly tables = {
    word: new Map<string, number>(),
    opaque: new Map<string, number>(),
    href: new Map<string, number>(),
    image: new Map<string, number>(),
    spacer: new Map<string, number>(),
  };

  idOf(kind: 'word' | 'opaque' | 'href' | 'image' | 'spacer', key: string): number {
    const table = this.tables[kind];
    let id = table.get(key);
    if (id === undefined) {
      id = this.next;
      this.next += 1;
      table.set(key, id);
    }
    return id;
  }

  get size(): number {
    return this.next;
  }
}

export interface TokenStream {
  readonly tokenKinds: Int32Array;
  /** Identity of each token as an id (images: -1 until their URL group is known). */
  readonly tokenIds: Int32Array;
  /** What a token renders as (for href tokens: the raw href). */
  readonly tokenHtml: string[];
  /** For each link-target token: the index of the link's first content token. */
  readonly linkStarts: Map<number, number>;
  /** URLs of each image token (src/data-src then srcset/data-srcset candidates). */
  readonly imageUrls: Map<number, string[]>;
  /** Gap k (markup before token k; gap n is after the last token) is items [gapBounds[k], gapBounds[k+1]). */
  readonly gapBounds: Int32Array;
  readonly itemKinds: Int32Array;
  readonly itemHtml: string[];
  /** For each token: the innermost block element (structure.ts) holding it; block 0 is the body. */
  readonly tokenBlock: Int32Array;
  /** For each item: the block it opens or closes, BOUNDARY_ITEM for a void boundary (`<hr>`), else NOT_A_BOUNDARY. */
  readonly itemBlock: Int32Array;
  readonly blocks: BlockTable;
}

export const NOT_A_BOUNDARY = -1;
export const BOUNDARY_ITEM = -2;

/** The block elements of one side, in document order (block 0: the body). */
export interface BlockTable {
  readonly tagName: string[];
  /** Enclosing block (-1 for the body). */
  readonly parent: Int32Array;
  /** The item of the start tag and of the end tag (-1 for the body, which has neither). */
  readonly openItem: Int32Array;
  readonly closeItem: Int32Array;
  /** The gaps holding the start and end tag: the block's tokens are those in [openGap, closeGap). */
  readonly openGap: Int32Array;
  readonly closeGap: Int32Array;
}

export interface TokenizeOptions {
  maxTokens: number;
  side: 'a' | 'b';
  /** Rules link targets are normalised with before comparison. */
  urlRules: readonly UrlRuleName[];
  /** Shared by both sides of a diff. */
  ids: TokenIdTable;
  /** Shared by everything one diff serialises. */
  serializeBudget: SerializeBudget;
}

const CSS_COMMENT = /\/\*[\s\S]*?\*\//g;
const IMPORTANT = /!\s*important$/i;

/** Whether an inline style computes `display: none` (the last declaration wins, `!important` ones first). */
function styleHidesElement(style: string): boolean {
  let display: string | undefined;
  let displayImportant = false;
  for (const declaration of style.replace(CSS_COMMENT, '').split(';')) {
    const colon = declaration.indexOf(':');
    if (colon < 0 || declaration.slice(0, colon).trim().toLowerCase() !== 'display') continue;
    let value = declaration.slice(colon + 1).trim();
    const important = IMPORTANT.test(value);
    if (important) value = value.replace(IMPORTANT, '').trim();
    if (displayImportant && !important) continue;
    display = value.toLowerCase();
    displayImportant = important;
  }
  return display === 'none';
}

/** Hidden by the page itself: the `hidden` attribute (but `until-found`, which find-in-page reveals) or an inline `display: none`. */
function isHidden(element: Element): boolean {
  for (const attr of element.attrs) {
    if (attr.prefix) continue;
    if (attr.name === 'hidden' && attr.value.trim().toLowerCase() !== 'until-found') return true;
    if (attr.name === 'style' && styleHidesElement(attr.value)) return true;
  }
  return false;
}

function imageUrlsOf(element: Element): string[] {
  const urls: string[] = [];
  const dataSrc = getAttribute(element, 'data-src')?.trim();
  const src = dataSrc ? dataSrc : getAttribute(element, 'src')?.trim();
  if (src) urls.push(src);
  const dataSrcset = getAttribute(element, 'data-srcset');
  const srcset = dataSrcset?.trim() ? dataSrcset : getAttribute(element, 'srcset');
  if (srcset) urls.push(...parseSrcset(srcset));
  return urls;
}

export function tokenizeBody(body: Element | undefined, options: TokenizeOptions): TokenStream {
  const tokenKinds = new IntList();
  const tokenIds = new IntList();
  const tokenHtml: string[] = [];
  const gapBounds = new IntList();
  const itemKinds = new IntList();
  const itemHtml: string[] = [];
  const linkStarts = new Map<number, number>();
  const imageUrls = new Map<number, string[]>();
  const tokenBlock = new IntList();
  const itemBlock = new IntList();
  const blockTag: string[] = ['body'];
  const blockParent = new IntList();
  const blockOpenItem = new IntList();
  const blockCloseItem = new IntList();
  const blockOpenGap = new IntList();
  const blockCloseGap = new IntList();
  blockParent.push(-1);
  blockOpenItem.push(-1);
  blockCloseItem.push(-1);
  blockOpenGap.push(0);
  blockCloseGap.push(0);
  const openBlocks: number[] = [0];
  const { ids } = options;
  gapBounds.push(0);

  const pushToken = (kind: number, id: number, html: string): void => {
    if (tokenKinds.length >= options.maxTokens) {
      throw new TooLargeError(
        `\`${options.side}\` has more than ${options.maxTokens} diffable tokens (HTML_TOKEN_MAX_TOKENS)`,
        { limit: 'tokens', max_tokens: options.maxTokens, side: options.side },
      );
    }
    tokenKinds.push(kind);
    tokenIds.push(id);
    tokenHtml.push(html);
    tokenBlock.push(openBlocks[openBlocks.length - 1]!);
    gapBounds.push(itemKinds.length);
  };
  const pushItem = (kind: number, html: string, block = NOT_A_BOUNDARY): void => {
    itemKinds.push(kind);
    itemHtml.push(html);
    itemBlock.push(block);
  };

  const openLinkStarts: number[] = [];
  if (body !== undefined) {
    const isWhole = (element: Element): boolean =>
      element !== body &&
      (element.namespaceURI !== HTML_NS || OPAQUE.has(element.tagName) || INVISIBLE.has(element.tagName) || element.tagName === 'img' || isHidden(element));
    for (const event of walk(body, isWhole)) {
      if (event.kind === 'leave') {
        const node = event.node;
        const name = node.tagName;
        if (node === body || isWhole(node) || VOID.has(name) || UNWRAPPED.has(name)) continue;
        if (name === 'a') {
          const start = openLinkStarts.pop() ?? tokenKinds.length;
          const href = getAttribute(node, 'href');
          if (href) {
            linkStarts.set(tokenKinds.length, start);
            pushToken(TOKEN_HREF, ids.idOf('href', normalizeUrl(href, options.urlRules)), href);
          }
        }
        if (isBlock(name) && node.namespaceURI === HTML_NS) {
          const block = openBlocks.pop()!;
          blockCloseItem.data[block] = itemKinds.length;
          blockCloseGap.data[block] = tokenKinds.length;
          pushItem(ITEM_CLOSE, `</${name}>`, block);
        } else {
          pushItem(ITEM_CLOSE, `</${name}>`);
        }
        continue;
      }
      const node = event.node;
      if (isTextNode(node)) {
        const text = node.value;
        WORD.lastIndex = 0;
        let match = WORD.exec(text);
        if (match === null) {
          if (text !== '') pushItem(ITEM_TEXT, escapeText(text));
          continue;
        }
        if (match.index > 0) pushItem(ITEM_TEXT, escapeText(text.slice(0, match.index)));
        while (match !== null) {
          const chunk = match[0];
          pushToken(TOKEN_WORD, ids.idOf('word', chunk.trimEnd()), escapeText(chunk));
          match = WORD.exec(text);
        }
        continue;
      }
      if (!isElement(node) || node === body) continue; // comments are dropped
      const name = node.tagName;
      if (UNWRAPPED.has(name) && node.namespaceURI === HTML_NS) continue;
      if (isWhole(node)) {
        if (node.namespaceURI === HTML_NS && isHidden(node)) {
          // Nothing of it shows, so it is markup like a tag: rendered, never compared or marked.
          pushItem(ITEM_VOID, safeOuterHtml(node, options.serializeBudget));
        } else if (name === 'img') {
          imageUrls.set(tokenKinds.length, imageUrlsOf(node));
          pushToken(TOKEN_IMAGE, -1, safeStartTag(node));
        } else {
          const html = safeOuterHtml(node, options.serializeBudget);
          pushToken(INVISIBLE.has(name) ? TOKEN_INVISIBLE : TOKEN_OPAQUE, ids.idOf('opaque', html), html);
        }
        continue;
      }
      if (SPACER_BLOCKS.has(name)) {
        const spacerId = ids.idOf('spacer', name);
        for (let i = 0; i < SPACERS_PER_BLOCK; i += 1) pushToken(TOKEN_SPACER, spacerId, '');
      }
      if (name === 'a') openLinkStarts.push(tokenKinds.length);
      if (VOID.has(name)) {
        pushItem(ITEM_VOID, safeStartTag(node), BOUNDARY_VOIDS.has(name) ? BOUNDARY_ITEM : NOT_A_BOUNDARY);
      } else {
        let html = safeStartTag(node);
        const first = node.childNodes[0];
        if (LEADING_NEWLINE_ELEMENTS.has(name) && first !== undefined && isTextNode(first) && first.value.startsWith('\n')) html += '\n';
        if (isBlock(name)) {
          const block = blockTag.length;
          blockTag.push(name);
          blockParent.push(openBlocks[openBlocks.length - 1]!);
          blockOpenItem.push(itemKinds.length);
          blockOpenGap.push(tokenKinds.length);
          blockCloseItem.push(-1);
          blockCloseGap.push(-1);
          openBlocks.push(block);
          pushItem(ITEM_OPEN, html, block);
        } else {
          pushItem(ITEM_OPEN, html);
        }
      }
    }
  }
  gapBounds.push(itemKinds.length);
  blockCloseGap.data[0] = tokenKinds.length;
  return {
    tokenKinds: tokenKinds.toArray(),
    tokenIds: tokenIds.toArray(),
    tokenHtml,
    linkStarts,
    imageUrls,
    gapBounds: gapBounds.toArray(),
    itemKinds: itemKinds.toArray(),
    itemHtml,
    tokenBlock: tokenBlock.toArray(),
    itemBlock: itemBlock.toArray(),
    blocks: {
      tagName: blockTag,
      parent: blockParent.toArray(),
      openItem: blockOpenItem.toArray(),
      closeItem: blockCloseItem.toArray(),
      openGap: blockOpenGap.toArray(),
      closeGap: blockCloseGap.toArray(),
    },
  };
}
