// Whether bytes are UTF-16 text. A BOM, a BOM-less `<?xml` prolog or a declared charset only *propose* UTF-16;
// the bytes decide: the transcoded text must itself be plausible text. Without any of those, UTF-16 is still
// recognised by its NUL bytes (every ASCII character of a page has one, always in the same half of its code
// unit), so a UTF-16 page is text whatever its label says, and random or compressed bytes are not, whatever it says.
import { TextDecoder } from '@exodus/bytes/encoding.js';
import { isMostlyBinary } from './binary-bytes.ts';

export type Utf16Encoding = 'utf-16le' | 'utf-16be';

/** Only this much of a body is looked at (the sniff window). */
export const UTF16_CHECK_BYTES = 4096;

/**
 * Over this share of implausible characters (C0 controls other than whitespace, U+FFFD — which unpaired
 * surrogates and cut sequences become — and private-use characters) the transcoded text is not text. Random
 * bytes read as UTF-16 give ~3 % lone surrogates and ~10 % private-use characters; real text has none of either.
 */
const MAX_IMPLAUSIBLE_SHARE = 0.02;

/**
 * NUL-pattern rule: at least half the code units have a NUL in one half (ASCII characters: the markup alone of a
 * page in any language is that much of its head), and almost none in the other.
 */
const MIN_NUL_HALF_SHARE = 0.5;
const MAX_NUL_OTHER_HALF_SHARE = 0.02;

function isImplausible(code: number): boolean {
  if (code < 0x20) return code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d;
  return code === 0xfffd || (code >= 0xe000 && code <= 0xf8ff) || (code >= 0x7f && code <= 0x9f);
}

/** The window decoded as `encoding` is plausible text (few controls, lone surrogates, U+FFFD, private-use characters). */
export function isPlausibleUtf16(bytes: Uint8Array, encoding: Utf16Encoding): boolean {
  const window = bytes.subarray(0, Math.min(bytes.length, UTF16_CHECK_BYTES) & ~1);
  if (window.length === 0) return false;
  const text = new TextDecoder(encoding).decode(window);
  let implausible = 0;
  for (let i = 0; i < text.length; i++) if (isImplausible(text.charCodeAt(i))) implausible++;
  return implausible <= text.length * MAX_IMPLAUSIBLE_SHARE;
}

/** UTF-16 by its NUL bytes alone: ASCII characters in UTF-16LE are `xx 00`, in UTF-16BE `00 xx`. */
function utf16FromNulPattern(bytes: Uint8Array): Utf16Encoding | null {
  const end = Math.min(bytes.length, UTF16_CHECK_BYTES) & ~1;
  if (end < 4) return null;
  let evenNuls = 0;
  let oddNuls = 0;
  for (let i = 0; i < end; i += 2) {
    if (bytes[i] === 0) evenNuls++;
    if (bytes[i + 1] === 0) oddNuls++;
  }
  const units = end / 2;
  if (oddNuls >= units * MIN_NUL_HALF_SHARE && evenNuls <= units * MAX_NUL_OTHER_HALF_SHARE) return 'utf-16le';
  if (evenNuls >= units * MIN_NUL_HALF_SHARE && oddNuls <= units * MAX_NUL_OTHER_HALF_SHARE) return 'utf-16be';
  return null;
}

/** UTF-16 announced by the first bytes: a BOM, or a BOM-less `<?` of an XML prolog (XML 1.0 appendix F). */
export function utf16FromFirstBytes(bytes: Uint8Array): Utf16Encoding | null {
  const [b0, b1, b2, b3] = bytes;
  if (b0 === 0xff && b1 === 0xfe) return 'utf-16le';
  if (b0 === 0xfe && b1 === 0xff) return 'utf-16be';
  if (b0 === 0x3c && b1 === 0x00 && b2 === 0x3f && b3 === 0x00) return 'utf-16le';
  if (b0 === 0x00 && b1 === 0x3c && b2 === 0x00 && b3 === 0x3f) return 'utf-16be';
  return null;
}

function hasUtf16Bom(bytes: Uint8Array): boolean {
  return (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
}

function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

export interface Utf16Reading {
  encoding: Utf16Encoding;
  /** Where the UTF-16 text starts: after a wrong BOM put in front of it (3 for UTF-8's, 2 for the other byte order's), else 0 (a right BOM is the decoder's to drop). */
  offset: number;
}

/**
 * How the bytes read as UTF-16 text, or null when they are not UTF-16 text. Proposals, strongest first: a UTF-16
 * BOM or BOM-less prolog, the NUL pattern, a declared UTF-16 charset; each is taken only when the transcoded
 * window is plausible text. A declared charset alone is not believed for bytes that read as ASCII-compatible
 * text (no NULs): UTF-16 of any page has them, so the label is wrong (as the HTML standard rules for <meta>).
 */
export function readAsUtf16(bytes: Uint8Array, declared: string | null): Utf16Reading | null {
  const announced = hasUtf8Bom(bytes) ? null : utf16FromFirstBytes(bytes);
  if (announced !== null && isPlausibleUtf16(bytes, announced)) return { encoding: announced, offset: 0 };
  // A BOM that is wrong (UTF-8's, or the other byte order's) is skipped: the text after it may still be UTF-16.
  const offset = hasUtf8Bom(bytes) ? 3 : hasUtf16Bom(bytes) ? 2 : 0;
  const body = bytes.subarray(offset);
  const byNuls = utf16FromNulPattern(body);
  if (byNuls !== null && isPlausibleUtf16(body, byNuls)) return { encoding: byNuls, offset };
  if ((declared === 'utf-16le' || declared === 'utf-16be') && isMostlyBinary(body.subarray(0, UTF16_CHECK_BYTES)) && isPlausibleUtf16(body, declared)) {
    return { encoding: declared, offset };
  }
  return null;
}
