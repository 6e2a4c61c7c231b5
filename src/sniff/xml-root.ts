/** What an XML document is, told by its root element. */
export type XmlRootKind = 'xhtml' | 'svg' | 'rss' | 'atom' | 'other';

const XHTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';
const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';

const MEDIA_TYPE_BY_ROOT_KIND: Record<XmlRootKind, string> = {
  xhtml: 'application/xhtml+xml',
  svg: 'image/svg+xml',
  rss: 'application/rss+xml',
  atom: 'application/atom+xml',
  other: 'text/xml',
};

export function mediaTypeOfXmlRoot(kind: XmlRootKind): string {
  return MEDIA_TYPE_BY_ROOT_KIND[kind];
}

function isXmlWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c;
}

/**
 * Find the root element of the (latin1-decoded) start of an XML-ish document, skipping the prolog,
 * comments, processing instructions and a DOCTYPE. Hand-written (a linear scan over ≤ 4 KiB) because a
 * real XML parser would need the whole document and would reject a truncated prefix.
 * Returns null when no root start tag is complete within `text`.
 */
export function classifyXmlRoot(text: string, start = 0): XmlRootKind | null {
  let pos = start;
  const end = text.length;
  while (pos < end) {
    const code = text.charCodeAt(pos);
    if (isXmlWhitespace(code)) {
      pos++;
      continue;
    }
    if (code !== 0x3c /* < */) return null;
    if (text.startsWith('<?', pos)) {
      const close = text.indexOf('?>', pos + 2);
      if (close < 0) return null;
      pos = close + 2;
    } else if (text.startsWith('<!--', pos)) {
      const close = text.indexOf('-->', pos + 4);
      if (close < 0) return null;
      pos = close + 3;
    } else if (text.startsWith('<!', pos)) {
      // DOCTYPE, possibly with an internal subset in [...] that itself contains '>'.
      const bracket = text.indexOf('[', pos);
      const firstClose = text.indexOf('>', pos);
      if (firstClose < 0) return null;
      if (bracket >= 0 && bracket < firstClose) {
        const subsetEnd = text.indexOf(']', bracket);
        if (subsetEnd < 0) return null;
        const close = text.indexOf('>', subsetEnd);
        if (close < 0) return null;
        pos = close + 1;
      } else {
        pos = firstClose + 1;
      }
    } else {
      const tagEnd = text.indexOf('>', pos);
      if (tagEnd < 0) return null;
      return classifyStartTag(text.slice(pos + 1, tagEnd));
    }
  }
  return null;
}

function declaresDefaultNamespace(tag: string, namespace: string): boolean {
  const match = /(?:^|\s)xmlns\s*=\s*(["'])(.*?)\1/.exec(tag);
  return match?.[2] === namespace;
}

function classifyStartTag(tag: string): XmlRootKind {
  const nameMatch = /^[^\s/>]+/.exec(tag);
  const qualifiedName = (nameMatch?.[0] ?? '').toLowerCase();
  const colon = qualifiedName.indexOf(':');
  const localName = colon >= 0 ? qualifiedName.slice(colon + 1) : qualifiedName;
  if (localName === 'html') return 'xhtml';
  if (localName === 'svg') return 'svg';
  if (localName === 'rss' || qualifiedName === 'rdf:rdf') return 'rss';
  if (localName === 'feed') return 'atom';
  // Only the root's default namespace counts: Atom feeds routinely declare xmlns:xhtml for content.
  if (declaresDefaultNamespace(tag, XHTML_NAMESPACE)) return 'xhtml';
  if (declaresDefaultNamespace(tag, SVG_NAMESPACE)) return 'svg';
  return 'other';
}
