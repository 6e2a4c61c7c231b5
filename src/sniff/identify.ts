import { fileTypeFromBuffer } from 'file-type';
import { computedMIMEType } from 'whatwg-mimetype';
import { TextDecoder } from '@exodus/bytes/encoding.js';
import type { ContentTypeInfo, ContentTypeOption } from './types.ts';
import { contentFamily, isTextualMediaType, parseDeclaredContentType } from './media-types.ts';
import { resolveEncodingLabel } from './encoding-labels.ts';
import { readAsUtf16 } from './utf16.ts';
import { countBinaryDataBytes, isMostlyBinary } from './binary-bytes.ts';
import { classifyXmlRoot, mediaTypeOfXmlRoot, type XmlRootKind } from './xml-root.ts';

/** How many bytes of a body are read before deciding what it is (file-type wants ≥ 4100 for a few formats; 4 KiB covers the rest). */
export const SNIFF_WINDOW_BYTES = 4096;

/** Real PDFs (and PostScript) may carry junk before their signature; Adobe readers look for it within the first 1024 bytes. */
const SIGNATURE_SEARCH_BYTES = 1024;

/** What the first bytes of a body say. */
export interface SniffedContent {
  /** Sniffed essence, or undefined when there is nothing to sniff (empty body). */
  mediaType?: string;
  isText: boolean;
  /** The bytes are a binary format (magic number, or mostly binary bytes): they beat a text header. */
  isBinaryFormat: boolean;
  /** For text starting with `<`: what its root element makes it as XML (an `<html>` root → 'xhtml'), if complete in the window. */
  xmlRoot?: XmlRootKind;
}

function isWhitespaceByte(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** `%PDF-1.7`, `%!PS-Adobe-3.0`: the version digits keep prose that merely mentions "%PDF-" out. */
const EMBEDDED_PDF_SIGNATURE = /%PDF-\d\.\d/;
const EMBEDDED_POSTSCRIPT_SIGNATURE = /%!PS-Adobe-\d/;
/** What follows a real signature: a PDF's first object (`4 0 obj`), PostScript's DSC comments (`%%Creator:`). Bounded repeats keep the scan linear. */
const PDF_OBJECT = /\d{1,10}[\t\n\f\r ]{1,8}\d{1,5}[\t\n\f\r ]{1,8}obj\b/;
const POSTSCRIPT_DSC_COMMENT = /[\r\n]%%[A-Za-z]/;

/**
 * PDF and PostScript by signature: at the start (after whitespace), or anywhere in the first 1024 bytes when the
 * format's structure follows it (junk before a PDF, e.g. a PHP warning, is common; an HTML page mentioning
 * "%PDF-1.4" in prose is not a PDF). Both formats can be all-ASCII, so no binary-byte evidence is needed.
 */
function documentSignature(bytes: Uint8Array, start: number): string | undefined {
  const head = latin1(bytes.subarray(start, start + 16));
  if (head.startsWith('%PDF-')) return 'application/pdf';
  if (head.startsWith('%!PS-Adobe-')) return 'application/postscript';
  // The signature itself (`%PDF-`) must start and end within the 1024 bytes; its version digits may follow after.
  const searched = latin1(bytes.subarray(0, SIGNATURE_SEARCH_BYTES + 4));
  const within = (at: number, signature: string): boolean => at >= 0 && at + signature.length <= SIGNATURE_SEARCH_BYTES;
  const pdfAt = searched.search(EMBEDDED_PDF_SIGNATURE);
  if (within(pdfAt, '%PDF-') && PDF_OBJECT.test(latin1(bytes.subarray(pdfAt)))) return 'application/pdf';
  const postscriptAt = searched.search(EMBEDDED_POSTSCRIPT_SIGNATURE);
  if (within(postscriptAt, '%!PS-Adobe-') && POSTSCRIPT_DSC_COMMENT.test(latin1(bytes.subarray(postscriptAt)))) return 'application/postscript';
  return undefined;
}

/** JSON looks like `{"` / `{}` / `[` + a JSON value start; plain prose rarely starts that way. */
const JSON_START = /^(?:\{\s*(?:"|\}|$)|\[\s*(?:[{["\d\-\]]|true\b|false\b|null\b|$))/;

/** The bytes after a byte order mark (UTF-8, UTF-16LE or UTF-16BE), where a signature would be. */
function afterBom(window: Uint8Array): Uint8Array {
  const [b0, b1, b2] = window;
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return window.subarray(3);
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) return window.subarray(2);
  return window;
}

function firstNonWhitespace(bytes: Uint8Array): number {
  let start = 0;
  while (isWhitespaceByte(bytes[start])) start++;
  return start;
}

const binary = (mediaType: string): SniffedContent => ({ mediaType, isText: false, isBinaryFormat: true });

/**
 * What the raw bytes are by signature: PDF/PostScript, file-type's magic numbers, and WHATWG's image, audio,
 * video and archive patterns (the last two only believed with binary bytes in the window: "BMW…" is not a
 * bitmap, "ID3 tags…" not an MP3). Looked at before any decoding, after a BOM if there is one: no label or BOM
 * makes a PDF text.
 */
async function signatureOf(raw: Uint8Array): Promise<string | undefined> {
  const document = documentSignature(raw, firstNonWhitespace(raw));
  if (document !== undefined) return document;
  if (countBinaryDataBytes(raw) === 0) return undefined;
  const detected = await fileTypeFromBuffer(raw);
  if (detected !== undefined && !isTextualMediaType(detected.mime)) return detected.mime;
  const whatwg = computedMIMEType(raw).essence;
  if (whatwg !== 'text/html' && whatwg !== 'text/xml' && whatwg !== 'text/plain' && whatwg !== 'application/octet-stream') return whatwg;
  return undefined;
}

/** What kind of text an ASCII-compatible view of the window is (HTML, XML, JSON, plain). */
function classifyText(bytes: Uint8Array): SniffedContent {
  const start = firstNonWhitespace(bytes);
  const whatwg = computedMIMEType(bytes).essence;
  const xmlRoot = bytes[start] === 0x3c /* < */ ? (classifyXmlRoot(latin1(bytes), start) ?? undefined) : undefined;
  const text = (mediaType: string): SniffedContent =>
    xmlRoot === undefined ? { mediaType, isText: true, isBinaryFormat: false } : { mediaType, isText: true, isBinaryFormat: false, xmlRoot };
  if (whatwg === 'text/html') return text('text/html');
  if (whatwg === 'text/xml') return text(mediaTypeOfXmlRoot(xmlRoot ?? 'other'));
  // Without a prolog only roots that name themselves (<svg>, <rss>, <feed>) are taken as XML.
  if (xmlRoot !== undefined && xmlRoot !== 'other' && xmlRoot !== 'xhtml') return text(mediaTypeOfXmlRoot(xmlRoot));
  if (JSON_START.test(latin1(bytes.subarray(start, start + 64)))) return text('application/json');
  return text('text/plain');
}

/**
 * Identify the window's content from its bytes. A declared charset (or a BOM) only proposes how text is encoded:
 * signatures and binary bytes are checked on the raw bytes first, and UTF-16 is only believed when the transcoded
 * window is itself plausible text (src/sniff/utf16.ts).
 */
export async function sniffBytes(window: Uint8Array, declaredCharset?: string): Promise<SniffedContent> {
  if (window.length === 0) return { isText: true, isBinaryFormat: false };
  const raw = afterBom(window);
  const signature = await signatureOf(raw);
  if (signature !== undefined) return binary(signature);

  const declared = declaredCharset === undefined ? null : resolveEncodingLabel(declaredCharset);
  const utf16 = readAsUtf16(window, declared);
  if (utf16 !== null) {
    // Cut to an even length so a half code unit at the window's end does not become U+FFFD (TextDecoder drops a BOM).
    const units = window.subarray(utf16.offset, utf16.offset + ((window.length - utf16.offset) & ~1));
    const transcoded = new TextEncoder().encode(new TextDecoder(utf16.encoding).decode(units));
    // A PDF spelled in UTF-16 is still no page.
    const document = documentSignature(transcoded, firstNonWhitespace(transcoded));
    return document === undefined ? classifyText(transcoded) : binary(document);
  }
  // The binary-byte rule holds for the whole window, whatever its first bytes look like: `<html>` followed by
  // random bytes is not a page.
  if (isMostlyBinary(raw)) return binary('application/octet-stream');
  return classifyText(raw);
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

/**
 * Generic XML header, specific XML bytes (XHTML, SVG, feed): the bytes refine the header. XHTML without an
 * `<?xml` prolog sniffs as HTML; under an XML header its `<html>` root (namespace or not) makes it XHTML.
 */
function refineGenericXml(declared: string, sniffed: SniffedContent): string | undefined {
  if (contentFamily(declared) !== 'xml' || sniffed.mediaType === undefined || !sniffed.isText) return undefined;
  if (['xhtml', 'svg', 'feed'].includes(contentFamily(sniffed.mediaType))) return sniffed.mediaType;
  return sniffed.xmlRoot === 'xhtml' ? mediaTypeOfXmlRoot('xhtml') : undefined;
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
  const refined = refineGenericXml(declared, sniffed);
  if (refined !== undefined) return describe(refined, 'both', true, charset);
  const source = sniffed.mediaType !== undefined && agrees(declared, sniffed.mediaType) ? 'both' : 'header';
  return describe(declared, source, isTextualMediaType(declared), charset);
}
