import { MIMEType } from 'whatwg-mimetype';

/** Declared types that say nothing about the body: treated like a missing header ("unknown, sniff"). */
const MEANINGLESS_ESSENCES: ReadonlySet<string> = new Set([
  'application/octet-stream',
  'binary/octet-stream',
  'application/x-download',
  'application/unknown',
  'unknown/unknown',
  '*/*',
]);

/** `application/*` types whose bodies are text; everything else under application/ is treated as binary. */
const TEXTUAL_APPLICATION_SUBTYPES: ReadonlySet<string> = new Set([
  'json',
  'xml',
  'javascript',
  'ecmascript',
  'x-javascript',
  'x-ecmascript',
  'x-json',
  'xhtml+xml',
  'x-sh',
  'x-csh',
  'x-httpd-php',
  'x-php',
  'sql',
  'graphql',
  'yaml',
  'x-yaml',
  'toml',
  'x-tex',
  'x-www-form-urlencoded',
]);

export interface DeclaredContentType {
  /** Essence of a meaningful declared type; undefined when missing, unparseable or meaningless. */
  essence?: string;
  /** The `charset` parameter, kept even when the type itself is meaningless: decoding may still use it. */
  charset?: string;
}

/** Read a Content-Type header value (treating `application/octet-stream` and friends as absent). */
export function parseDeclaredContentType(header: string | undefined): DeclaredContentType {
  if (header === undefined) return {};
  const parsed = MIMEType.parse(header);
  if (parsed === null) return {};
  const result: DeclaredContentType = {};
  if (!MEANINGLESS_ESSENCES.has(parsed.essence)) result.essence = parsed.essence;
  const charset = parsed.parameters.get('charset');
  if (charset) result.charset = charset;
  return result;
}

/** Whether a media type names a text format (decodable as a document) rather than a binary one. */
export function isTextualMediaType(essence: string): boolean {
  if (essence === 'unknown') return true;
  const slash = essence.indexOf('/');
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (type === 'text') return true;
  if (subtype.endsWith('+xml') || subtype.endsWith('+json')) return true;
  return type === 'application' && TEXTUAL_APPLICATION_SUBTYPES.has(subtype);
}

export function isXmlMediaType(essence: string): boolean {
  return essence === 'text/xml' || essence === 'application/xml' || essence.endsWith('+xml');
}

/**
 * Coarse family of a media type, used to decide whether a header and the bytes agree
 * (`application/xml` header and `text/xml` sniffed are the same thing).
 */
export type ContentFamily = 'html' | 'xhtml' | 'svg' | 'feed' | 'xml' | 'json' | 'plain' | 'other';

export function contentFamily(essence: string): ContentFamily {
  switch (essence) {
    case 'text/html':
      return 'html';
    case 'application/xhtml+xml':
    case 'application/vnd.wap.xhtml+xml':
      return 'xhtml';
    case 'image/svg+xml':
      return 'svg';
    case 'application/rss+xml':
    case 'application/atom+xml':
    case 'application/rdf+xml':
      return 'feed';
    case 'text/xml':
    case 'application/xml':
      return 'xml';
    case 'application/json':
    case 'text/json':
    case 'application/x-json':
      return 'json';
    case 'text/plain':
      return 'plain';
    default:
      if (essence.endsWith('+json')) return 'json';
      return 'other';
  }
}
