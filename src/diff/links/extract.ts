// Extracts a page's outgoing links (and its title) for the links diffs, in one iterative walk.
// Model (spec/html-token.md §3.12 steps 2–4): every <a> with a non-empty href not starting with
// `#`; text with images as `[image: alt]` and undiffable descendants left out; scheme and host of
// the href lower-cased. Extension: `resolved_href`, against the page URL and any <base href>.

import { TooLargeError } from '../../errors.ts';
import { getAttribute, isElement, isTextNode, walk, type Document, type Element } from '../html-parse.ts';

export interface Link {
  /** Link text, trimmed; `[image: alt]` for images, `[tooltip: title]` or `[no text]` when empty. */
  text: string;
  /** The href as written, with scheme and host lower-cased. */
  href: string;
  /** The href resolved against the page URL and <base href>; the href itself when it cannot be resolved. */
  resolved_href: string;
}

export interface PageLinks {
  /** Outgoing links in document order (not de-duplicated). */
  links: Link[];
  /** Text of the page's <title>, whitespace collapsed; undefined when there is none. */
  title: string | undefined;
}

export interface ExtractLinksOptions {
  /** URL the page was fetched from, if known. */
  pageUrl?: string | undefined;
  /** Most outgoing links the page may have; beyond it → TooLargeError. */
  maxLinks: number;
  /** Which side this is, for error messages. */
  side?: string;
}

/** Elements whose content is not link text (script, style, embedded documents, form widgets). */
const UNDIFFABLE_TAGS: ReadonlySet<string> = new Set([
  'script', 'style', 'svg', 'math', 'template', 'textarea', 'select', 'option', 'datalist', 'rp',
]);

/** Longest link text kept (a link wrapping a whole article must not make every later step huge). */
export const LINK_TEXT_MAX_CHARS = 4_000;

/** Deepest nesting of links inside links (reachable through tables): bounds the per-text-node work. */
export const MAX_LINK_NESTING = 64;

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

// An optional scheme then `//host`: the part of an href that is case-insensitive.
const SCHEME_AND_HOST = /^(?:[\w+.-]+:)?\/\/[^/?#]*/;

/** Lower-cases the scheme and host of an href (`HTTPS://Example.COM/Path` → `https://example.com/Path`). */
export function normalizeHref(href: string): string {
  const match = SCHEME_AND_HOST.exec(href);
  return match === null ? href : match[0].toLowerCase() + href.slice(match[0].length);
}

/** Resolves an href against a base URL; the href unchanged when it cannot be resolved. */
export function resolveHref(href: string, base: string | undefined): string {
  return URL.parse(href, base)?.href ?? href;
}

interface OpenLink {
  element: Element;
  /** Its slot in document order (links close in reverse order when nested). */
  found: { text: string; href: string };
  parts: string[];
  length: number;
}

function appendText(open: OpenLink, text: string, textTrimmedStart: string): void {
  if (open.length >= LINK_TEXT_MAX_CHARS) return;
  // Leading whitespace is trimmed away anyway: skip it so it cannot use up the length budget.
  const piece = open.length === 0 ? textTrimmedStart : text;
  if (piece.length === 0) return;
  const room = LINK_TEXT_MAX_CHARS - open.length;
  const kept = piece.length <= room ? piece : cutAt(piece, room) + '…';
  open.parts.push(kept);
  open.length += piece.length <= room ? piece.length : LINK_TEXT_MAX_CHARS;
}

/** The first `length` UTF-16 units of `text`, never ending in half a surrogate pair. */
function cutAt(text: string, length: number): string {
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

function finishText(open: OpenLink): string {
  const text = open.parts.join('').trim();
  if (text !== '') return text;
  const title = getAttribute(open.element, 'title');
  return title === undefined ? '[no text]' : `[tooltip: ${title}]`;
}

function isHtml(element: Element, tagName: string): boolean {
  return element.tagName === tagName && element.namespaceURI === HTML_NAMESPACE;
}

/** Outgoing links and title of a parsed page. Throws TooLargeError past `maxLinks` or `MAX_LINK_NESTING`. */
export function extractPageLinks(document: Document, options: ExtractLinksOptions): PageLinks {
  const side = options.side === undefined ? 'A document' : `\`${options.side}\``;
  const found: { text: string; href: string }[] = [];
  const open: OpenLink[] = [];
  let baseHref: string | undefined;
  let title: string | undefined;
  let inTitle: Element | undefined;
  let titleParts: string[] = [];

  const skipUndiffable = (element: Element): boolean => open.length > 0 && UNDIFFABLE_TAGS.has(element.tagName);

  for (const event of walk(document, skipUndiffable)) {
    const node = event.node;
    if (event.kind === 'leave') {
      if (open.length > 0 && open[open.length - 1]!.element === node) {
        const link = open.pop()!;
        link.found.text = finishText(link);
      }
      if (inTitle === node) {
        title = titleParts.join('').replace(/[\t\n\f\r ]+/g, ' ').trim();
        inTitle = undefined;
        titleParts = [];
      }
      continue;
    }
    if (isTextNode(node)) {
      if (inTitle !== undefined) titleParts.push(node.value);
      if (open.length > 0) {
        const trimmedStart = node.value.trimStart();
        for (const link of open) appendText(link, node.value, trimmedStart);
      }
      continue;
    }
    if (!isElement(node)) continue;
    if (node.tagName === 'a') {
      const href = getAttribute(node, 'href');
      if (href === undefined || href === '' || href.startsWith('#')) continue;
      if (found.length >= options.maxLinks) {
        throw new TooLargeError(`${side} has more than ${options.maxLinks} links`, {
          limit: 'links',
          max_links: options.maxLinks,
          ...(options.side === undefined ? {} : { side: options.side }),
        });
      }
      if (open.length >= MAX_LINK_NESTING) {
        throw new TooLargeError(`${side} nests links more than ${MAX_LINK_NESTING} deep`, {
          limit: 'link_nesting',
          max_nesting: MAX_LINK_NESTING,
          ...(options.side === undefined ? {} : { side: options.side }),
        });
      }
      const slot = { text: '', href: normalizeHref(href) };
      found.push(slot);
      open.push({ element: node, found: slot, parts: [], length: 0 });
    } else if (node.tagName === 'img' && open.length > 0) {
      const alt = getAttribute(node, 'alt');
      const text = alt ? `[image: ${alt}]` : '[image]';
      for (const link of open) appendText(link, text, text);
    } else if (baseHref === undefined && isHtml(node, 'base')) {
      baseHref = getAttribute(node, 'href');
    } else if (title === undefined && inTitle === undefined && isHtml(node, 'title')) {
      inTitle = node;
    }
  }

  // As browsers do: the first <base href>, itself resolved against the page URL; if that fails, the page URL.
  const pageUrl = options.pageUrl;
  const base = (baseHref === undefined ? undefined : URL.parse(baseHref, pageUrl)?.href) ?? pageUrl;
  const links = found.map(({ text, href }) => ({ text, href, resolved_href: resolveHref(href, base) }));
  return { links, title };
}
