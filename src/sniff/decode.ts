import { TextDecoder, getBOMEncoding } from '@exodus/bytes/encoding.js';
import { UndecodableContentError } from '../errors.ts';
import { detectEncoding } from './charset-detect.ts';
import { resolveEncodingLabel } from './encoding-labels.ts';
import { readAsUtf16, utf16FromFirstBytes } from './utf16.ts';
import { prescanForEncoding } from './html-prescan.ts';
import { isXmlMediaType, parseDeclaredContentType } from './media-types.ts';

/** Over this share of U+FFFD among the decoded characters, a body is binary posing as text. */
export const MAX_REPLACEMENT_SHARE = 0.25;

/** `<?xml version="1.0" encoding="…"?>` at the very start. */
const XML_PROLOG_ENCODING = /^<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([^"'<>]{1,64})\1/;

function encodingFromXmlProlog(bytes: Uint8Array): string | null {
  const utf16 = utf16FromFirstBytes(bytes);
  if (utf16 !== null) return utf16;
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString('latin1');
  const label = XML_PROLOG_ENCODING.exec(head)?.[2];
  const encoding = label === undefined ? null : resolveEncodingLabel(label);
  // A prolog readable as ASCII cannot be UTF-16, whatever it says (as the HTML prescan rules for <meta>).
  return encoding === 'utf-16le' || encoding === 'utf-16be' ? 'utf-8' : encoding;
}

/** The encoding to decode with, and where the text starts (past a UTF-8 BOM wrongly put before UTF-16 text). */
interface EncodingChoice {
  encoding: string;
  offset: number;
}

/**
 * Pick the encoding like a browser: BOM → declared charset → <meta> / XML prolog → statistics → UTF-8. With one
 * exception, as in identify: UTF-16 is what the bytes say (src/sniff/utf16.ts), so UTF-16 text is read as UTF-16
 * whatever its label, and a UTF-16 label on bytes that are not UTF-16 text is ignored like an unknown label.
 */
function chooseEncodingAt(bytes: Uint8Array, contentType: string | undefined): EncodingChoice {
  const declared = parseDeclaredContentType(contentType);
  const fromHeader = declared.charset === undefined ? null : resolveEncodingLabel(declared.charset);
  const utf16 = readAsUtf16(bytes, fromHeader);
  if (utf16 !== null) return utf16;
  const bom = getBOMEncoding(bytes);
  if (bom === 'utf-8') return { encoding: bom, offset: 0 };
  const at = (encoding: string): EncodingChoice => ({ encoding, offset: 0 });
  if (fromHeader !== null && fromHeader !== 'utf-16le' && fromHeader !== 'utf-16be') return at(fromHeader);
  const isXml = declared.essence !== undefined && isXmlMediaType(declared.essence);
  const fromDocument = isXml
    ? encodingFromXmlProlog(bytes)
    : (prescanForEncoding(bytes, resolveEncodingLabel) ?? encodingFromXmlProlog(bytes));
  return at(fromDocument ?? detectEncoding(bytes) ?? 'utf-8');
}

/** The encoding decodeVersion would use for these bytes and Content-Type. */
export function chooseEncoding(bytes: Uint8Array, contentType: string | undefined): string {
  return chooseEncodingAt(bytes, contentType).encoding;
}

function countReplacementCharacters(text: string): number {
  let count = 0;
  let from = text.indexOf('\uFFFD');
  while (from >= 0) {
    count++;
    from = text.indexOf('\uFFFD', from + 1);
  }
  return count;
}

export interface DecodeOptions {
  /** The version's Content-Type header, for its charset (and whether it is XML). */
  contentType?: string | undefined;
  ignoreDecodingErrors: boolean;
  /** Which version this is, named in UNDECODABLE_CONTENT. */
  side?: 'a' | 'b';
}

export interface DecodedText {
  text: string;
  /** The encoding used; undefined for an empty body (nothing to decode). */
  encoding?: string;
}

/** decodeVersion's text only. */
export function decodeBody(bytes: Uint8Array, options: DecodeOptions): string {
  return decodeVersion(bytes, options).text;
}

/**
 * Decode a body to text like a browser, and say with which encoding. Invalid bytes and NULs become U+FFFD;
 * never throws for bad bytes, but throws UndecodableContentError when more than 25% of the characters are
 * U+FFFD (binary posing as text), unless `ignoreDecodingErrors`.
 */
export function decodeVersion(bytes: Uint8Array, options: DecodeOptions): DecodedText {
  if (bytes.length === 0) return { text: '' };
  const { encoding, offset } = chooseEncodingAt(bytes, options.contentType);
  // TextDecoder strips a BOM matching the encoding; replacement mode never throws.
  const decoded = new TextDecoder(encoding).decode(bytes.subarray(offset));
  // UTF-8 decodes only a 0x00 byte to NUL: without one, skip a scan of the whole text (memchr instead).
  const text = encoding === 'utf-8' && !bytes.includes(0) ? decoded : decoded.replaceAll('\0', '\uFFFD');
  if (!options.ignoreDecodingErrors && text.length > 0) {
    const replaced = countReplacementCharacters(text);
    if (replaced > text.length * MAX_REPLACEMENT_SHARE) {
      const percent = Math.round((replaced / text.length) * 100);
      const subject = options.side === undefined ? 'The body' : `\`${options.side}\``;
      throw new UndecodableContentError(
        `${subject} is mostly undecodable as ${encoding} (${percent}% of its characters are replacement characters): it looks binary`,
        { ...(options.side === undefined ? {} : { side: options.side }), encoding, replacement_characters: replaced, characters: text.length },
      );
    }
  }
  return { text, encoding };
}
