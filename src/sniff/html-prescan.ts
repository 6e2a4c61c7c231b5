// The HTML standard's "prescan a byte stream to determine its encoding"
// (https://html.spec.whatwg.org/multipage/parsing.html#prescan-a-byte-stream-to-determine-its-encoding).
// Hand-written, although html-encoding-sniffer 7.0.0 has a prescan: run against test/sniff/html-prescan.test.ts
// it passed 26 of 28 cases and failed two where it cannot do what we need. It takes no label resolver, so the
// project's label rules (the `iso-8559-1` typo as windows-1252, `replacement` as unknown) cannot apply to a
// <meta>; and it treats an unknown `charset` label as "no charset yet", letting a later `content` fill it in,
// where the standard sets charset to failure. This is ~150 lines of bounded byte scanning over at most 1024
// bytes. It returns the label's encoding name, resolved by the caller's `resolveLabel` (so unknown labels are
// skipped, as the standard says).

/** The prescan only looks at this many bytes. */
export const PRESCAN_BYTES = 1024;

function isSpace(byte: number | undefined): boolean {
  return byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d || byte === 0x20;
}

function isAsciiLetter(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a));
}

function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}

function startsWithIgnoringCase(bytes: Uint8Array, pos: number, ascii: string): boolean {
  if (pos + ascii.length > bytes.length) return false;
  for (let i = 0; i < ascii.length; i++) {
    if (lower(bytes[pos + i]!) !== ascii.charCodeAt(i)) return false;
  }
  return true;
}

interface Attribute {
  name: string;
  value: string;
  next: number;
}

/** The bytes ended inside a tag: the standard aborts the whole prescan (a tag must end within the 1024 bytes). */
const OUT_OF_BYTES = 'out of bytes';

/**
 * "Get an attribute": reads one attribute at `pos`; null when the tag ends first, OUT_OF_BYTES when the bytes
 * run out before the attribute (or the tag) does.
 */
function getAttribute(bytes: Uint8Array, start: number): Attribute | null | typeof OUT_OF_BYTES {
  const end = bytes.length;
  let pos = start;
  while (pos < end && (isSpace(bytes[pos]) || bytes[pos] === 0x2f /* / */)) pos++;
  if (pos >= end) return OUT_OF_BYTES;
  if (bytes[pos] === 0x3e /* > */) return null;
  let name = '';
  let value = '';
  // Attribute name.
  for (;;) {
    if (pos >= end) return OUT_OF_BYTES;
    const byte = bytes[pos]!;
    if (byte === 0x3d /* = */ && name !== '') {
      pos++;
      break;
    }
    if (isSpace(byte)) {
      while (pos < end && isSpace(bytes[pos])) pos++;
      if (pos >= end) return OUT_OF_BYTES;
      if (bytes[pos] !== 0x3d) return { name, value, next: pos };
      pos++;
      break;
    }
    if (byte === 0x2f || byte === 0x3e) return { name, value, next: pos };
    name += String.fromCharCode(lower(byte));
    pos++;
  }
  // Attribute value.
  while (pos < end && isSpace(bytes[pos])) pos++;
  if (pos >= end) return OUT_OF_BYTES;
  const first = bytes[pos]!;
  if (first === 0x22 || first === 0x27) {
    pos++;
    for (;;) {
      if (pos >= end) return OUT_OF_BYTES;
      const byte = bytes[pos]!;
      pos++;
      if (byte === first) return { name, value, next: pos };
      value += String.fromCharCode(lower(byte));
    }
  }
  if (first === 0x3e) return { name, value, next: pos };
  for (;;) {
    if (pos >= end) return OUT_OF_BYTES;
    const byte = bytes[pos]!;
    if (isSpace(byte) || byte === 0x3e) return { name, value, next: pos };
    value += String.fromCharCode(lower(byte));
    pos++;
  }
}

/** "Extract a character encoding from a meta element" (the `content` attribute of http-equiv=Content-Type). */
export function charsetFromMetaContent(content: string): string | null {
  let pos = 0;
  for (;;) {
    const found = content.toLowerCase().indexOf('charset', pos);
    if (found < 0) return null;
    pos = found + 'charset'.length;
    while (isSpace(content.charCodeAt(pos))) pos++;
    if (content[pos] !== '=') continue;
    pos++;
    while (isSpace(content.charCodeAt(pos))) pos++;
    const quote = content[pos];
    if (quote === '"' || quote === "'") {
      const close = content.indexOf(quote, pos + 1);
      return close < 0 ? null : content.slice(pos + 1, close);
    }
    const match = /^[^\t\n\f\r ;]+/.exec(content.slice(pos));
    return match === null ? null : match[0];
  }
}

/**
 * Prescan the first 1024 bytes for `<meta charset>` / `<meta http-equiv=Content-Type content="…charset=…">`.
 * A tag that does not end within them is not read (the standard aborts the prescan when the bytes run out).
 * Returns the encoding name (per `resolveLabel`), with the standard's UTF-16 → UTF-8 and
 * x-user-defined → windows-1252 fix-ups, or null.
 */
export function prescanForEncoding(input: Uint8Array, resolveLabel: (label: string) => string | null): string | null {
  const bytes = input.subarray(0, PRESCAN_BYTES);
  const end = bytes.length;
  let pos = 0;
  while (pos < end) {
    if (bytes[pos] !== 0x3c /* < */) {
      pos++;
      continue;
    }
    if (startsWithIgnoringCase(bytes, pos, '<!--')) {
      // Ends at the first '>' preceded by '--' after the '<' (the dashes may overlap '<!--').
      let close = pos + 2;
      while (close < end && !(bytes[close] === 0x3e && bytes[close - 1] === 0x2d && bytes[close - 2] === 0x2d)) close++;
      pos = close + 1;
      continue;
    }
    if (startsWithIgnoringCase(bytes, pos, '<meta') && (isSpace(bytes[pos + 5]) || bytes[pos + 5] === 0x2f)) {
      pos += 6;
      const seen = new Set<string>();
      let gotPragma = false;
      let needPragma: boolean | null = null;
      // The standard's "null" (nothing yet) is `undefined` here, its "failure" (an unknown label) is `null`:
      // only a still-null charset may be taken from `content`; a `charset` attribute always sets it.
      let charset: string | null | undefined;
      for (;;) {
        const attribute = getAttribute(bytes, pos);
        if (attribute === OUT_OF_BYTES) return null;
        if (attribute === null) break;
        pos = attribute.next;
        if (seen.has(attribute.name)) continue;
        seen.add(attribute.name);
        if (attribute.name === 'http-equiv') {
          if (attribute.value === 'content-type') gotPragma = true;
        } else if (attribute.name === 'content') {
          const label = charsetFromMetaContent(attribute.value);
          const encoding = label === null ? null : resolveLabel(label);
          if (encoding !== null && charset === undefined) {
            charset = encoding;
            needPragma = true;
          }
        } else if (attribute.name === 'charset') {
          charset = resolveLabel(attribute.value);
          needPragma = false;
        }
      }
      if (needPragma === null || (needPragma && !gotPragma) || charset === null || charset === undefined) continue;
      if (charset === 'utf-16le' || charset === 'utf-16be') return 'utf-8';
      if (charset === 'x-user-defined') return 'windows-1252';
      return charset;
    }
    if ((bytes[pos + 1] === 0x2f && isAsciiLetter(bytes[pos + 2])) || isAsciiLetter(bytes[pos + 1])) {
      // Some other tag: skip its name and attributes.
      while (pos < end && !isSpace(bytes[pos]) && bytes[pos] !== 0x3e) pos++;
      for (;;) {
        const attribute = getAttribute(bytes, pos);
        if (attribute === OUT_OF_BYTES) return null;
        if (attribute === null) break;
        pos = attribute.next;
      }
      pos++;
      continue;
    }
    if (bytes[pos + 1] === 0x21 || bytes[pos + 1] === 0x2f || bytes[pos + 1] === 0x3f) {
      const close = bytes.indexOf(0x3e, pos + 1);
      if (close < 0) return null;
      pos = close + 1;
      continue;
    }
    pos++;
  }
  return null;
}
