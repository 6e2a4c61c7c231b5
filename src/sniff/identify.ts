import { fileTypeFromBuffer } from 'file-type';
import { computedMIMEType } from 'whatwg-mimetype';
import { TextDecoder, getBOMEncoding } from '@exodus/bytes/encoding.js';
import type { ContentTypeInfo, ContentTypeOption } from './types.ts';
import { contentFamily, isTextualMediaType, parseDeclaredContentType } from './media-types.ts';
import { resolveEncodingLabel, utf16FromFirstBytes } from './encoding-labels.ts';
import { countBinaryDataBytes, isMostlyBinary } from './binary-bytes.ts';
import { classifyXmlRoot, mediaTypeOfXmlRoot } from './xml-root.ts';

/** How many bytes of a body are read before deciding what it is (file-type wants ≥ 4100 for a few formats; 4 KiB covers the rest). */
export const SNIFF_WINDOW_BYTES = 4096;

/** Real PDFs may carry junk before `%PDF-`; Adobe readers look for it within the first 1024 bytes. */
const PDF_SEARCH_BYTES = 1024;

/** What the first bytes of a body say. */
export interface SniffedContent {
  /** Sniffed essence, or undefined when there is nothing to sniff (empty body). */
  mediaType?: string;
  isText: boolean;
  /** The bytes are a binary format (magic number, or mostly binary bytes): they beat a text header. */
  isBinaryFormat: boolean;
}

function isWhitespaceByte(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** `%PDF-1.7`-style signature anywhere in the first 1024 bytes (digit.digit so prose mentioning "%PDF-" does not count). */
const EMBEDDED_PDF_SIGNATURE = /%PDF-\d\.\d/;

/** JSON looks like `{"` / `{}` / `[` + a JSON value start; plain prose rarely starts that way. */
const JSON_START = /^(?:\{\s*(?:"|\}|$)|\[\s*(?:[{["\d\-\]]|true\b|false\b|null\b|$))/;

/**
 * The text of the window as ASCII-compatible bytes, so the byte rules apply: a UTF-8 BOM is dropped, and UTF-16
 * (by BOM, BOM-less XML prolog, or declared charset) is transcoded, since its NUL bytes would look binary.
 */
function textView(window: Uint8Array, declaredCharset: string | undefined): { bytes: Uint8Array; isTranscoded: boolean } {
  if (getBOMEncoding(window) === 'utf-8') return { bytes: window.subarray(3), isTranscoded: true };
  const declared = declaredCharset === undefined ? null : resolveEncodingLabel(declaredCharset);
  const utf16 = utf16FromFirstBytes(window) ?? (declared === 'utf-16le' || declared === 'utf-16be' ? declared : null);
  if (utf16 === null) return { bytes: window, isTranscoded: false };
  // Cut to an even length so a half code unit at the window's end does not become U+FFFD (TextDecoder drops a BOM).
  const evenLength = window.subarray(0, window.length & ~1);
  return { bytes: new TextEncoder().encode(new TextDecoder(utf16).decode(evenLength)), isTranscoded: true };
}

/** Identify the window's content from its bytes alone. */
export async function sniffBytes(window: Uint8Array, declaredCharset?: string): Promise<SniffedContent> {
  if (window.length === 0) return { isText: true, isBinaryFormat: false };
  const { bytes, isTranscoded } = textView(window, declaredCharset);
  const binaryByteCount = countBinaryDataBytes(bytes);
  const binary = (mediaType: string): SniffedContent => ({ mediaType, isText: false, isBinaryFormat: true });
  const text = (mediaType: string): SniffedContent => ({ mediaType, isText: true, isBinaryFormat: false });

  let start = 0;
  while (isWhitespaceByte(bytes[start])) start++;
  const head = latin1(bytes.subarray(start, start + 64));
  if (head.startsWith('%PDF-')) return binary('application/pdf');
  if (head.startsWith('%!PS-Adobe-')) return binary('application/postscript');

  // A magic number is only believed if the window also holds binary bytes: "BMW…" is not a bitmap,
  // "ID3 tags…" not an MP3. (PDF and PostScript, which can be all-ASCII, are matched above.)
  if (!isTranscoded && binaryByteCount > 0) {
    const detected = await fileTypeFromBuffer(window);
    if (detected !== undefined && !isTextualMediaType(detected.mime)) return binary(detected.mime);
  }

  // WHATWG MIME Sniffing "identify an unknown MIME type" (HTML tag patterns, <?xml, image/audio/archive tables),
  // as implemented by whatwg-mimetype; we only take its HTML, XML and (backed by binary bytes) magic answers.
  const whatwg = computedMIMEType(bytes).essence;
  if (whatwg === 'text/html') return text('text/html');
  const isXmlProlog = whatwg === 'text/xml';
  if (!isXmlProlog && whatwg !== 'text/plain' && whatwg !== 'application/octet-stream' && binaryByteCount > 0) {
    return binary(whatwg);
  }

  const window1k = latin1(bytes.subarray(0, PDF_SEARCH_BYTES));
  if (bytes[start] === 0x3c /* < */) {
    const root = classifyXmlRoot(latin1(bytes), start);
    if (isXmlProlog) return text(mediaTypeOfXmlRoot(root ?? 'other'));
    // Without a prolog only roots that name themselves (<svg>, <rss>, <feed>) are taken as XML.
    if (root !== null && root !== 'other' && root !== 'xhtml') return text(mediaTypeOfXmlRoot(root));
  }
  if (EMBEDDED_PDF_SIGNATURE.test(window1k)) return binary('application/pdf');
  if (isMostlyBinary(bytes, binaryByteCount)) return binary('application/octet-stream');
  if (JSON_START.test(head)) return text('application/json');
  return text('text/plain');
}

function describe(media_type: string, source: ContentTypeInfo['source'], is_text: boolean, charset: string | undefined): ContentTypeInfo {
  return charset === undefined ? { media_type, source, is_text } : { media_type, source, charset, is_text };
}

/** Header and bytes name the same kind of thing (`application/xml` and `text/xml`, `text/html` twice). */
function agrees(declared: string, sniffed: string): boolean {
  if (declared === sniffed) return true;
  const family = contentFamily(declared);
  return family !== 'other' && family === contentFamily(sniffed);
}

/** Generic XML header, specific sniffed XML (XHTML, SVG, feed): the bytes refine the header. */
function refinesGenericXml(declared: string, sniffed: string): boolean {
  return contentFamily(declared) === 'xml' && ['xhtml', 'svg', 'feed'].includes(contentFamily(sniffed));
}

/**
 * Identify one side from its declared Content-Type header (may be undefined) and the first bytes of its body.
 * Only the first SNIFF_WINDOW_BYTES of `prefix` are looked at.
 */
export async function identifyContent(
  declaredContentType: string | undefined,
  prefix: Uint8Array,
  option: ContentTypeOption,
): Promise<ContentTypeInfo> {
  const { essence: declared, charset } = parseDeclaredContentType(declaredContentType);
  if (option === 'nosniff') {
    return declared === undefined
      ? describe('unknown', 'none', true, charset)
      : describe(declared, 'header', isTextualMediaType(declared), charset);
  }

  const sniffed = await sniffBytes(prefix.subarray(0, SNIFF_WINDOW_BYTES), charset);
  const fromBytes = (): ContentTypeInfo => {
    if (sniffed.mediaType === undefined) return describe('unknown', 'none', true, charset);
    const source = declared !== undefined && agrees(declared, sniffed.mediaType) ? 'both' : 'sniffed';
    return describe(sniffed.mediaType, source, sniffed.isText, charset);
  };

  if (option === 'nocheck' || declared === undefined) return fromBytes();
  // normal (and ignore, which still reports what each side is): binary bytes beat the header.
  if (sniffed.isBinaryFormat && sniffed.mediaType !== undefined) {
    // Header and bytes both binary but the bytes have no known signature: keep the more specific header.
    if (sniffed.mediaType === 'application/octet-stream' && !isTextualMediaType(declared)) {
      return describe(declared, 'header', false, charset);
    }
    return fromBytes();
  }
  if (sniffed.mediaType !== undefined && refinesGenericXml(declared, sniffed.mediaType)) {
    return describe(sniffed.mediaType, 'both', true, charset);
  }
  const source = sniffed.mediaType !== undefined && agrees(declared, sniffed.mediaType) ? 'both' : 'header';
  return describe(declared, source, isTextualMediaType(declared), charset);
}
