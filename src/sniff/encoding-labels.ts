import { normalizeEncoding } from '@exodus/bytes/encoding.js';

/** Misspelt labels seen on real pages that the Encoding Standard does not list (EDGI processing#310). */
const LABEL_TYPOS: Readonly<Record<string, string>> = {
  'iso-8559-1': 'iso-8859-1',
};

/**
 * An encoding label → WHATWG encoding name (so `latin1`, `ascii`, `iso-8859-1` → windows-1252), or null for an
 * unknown label. The `replacement` encoding (labels like iso-2022-kr) is treated as unknown: it would turn
 * the whole page into one U+FFFD, which helps a browser's security but not a diff.
 */
export function resolveEncodingLabel(label: string): string | null {
  const trimmed = label.trim().toLowerCase();
  const name = normalizeEncoding(LABEL_TYPOS[trimmed] ?? trimmed);
  return name === null || name === 'replacement' ? null : name;
}

/** UTF-16 announced by the first bytes: a BOM, or a BOM-less `<?` of an XML prolog (XML 1.0 appendix F). */
export function utf16FromFirstBytes(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const [b0, b1, b2, b3] = bytes;
  if (b0 === 0xff && b1 === 0xfe) return 'utf-16le';
  if (b0 === 0xfe && b1 === 0xff) return 'utf-16be';
  if (b0 === 0x3c && b1 === 0x00 && b2 === 0x3f && b3 === 0x00) return 'utf-16le';
  if (b0 === 0x00 && b1 === 0x3c && b2 === 0x00 && b3 === 0x3f) return 'utf-16be';
  return null;
}
