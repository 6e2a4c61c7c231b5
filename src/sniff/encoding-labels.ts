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
