// Statistical encoding detection, the last resort before UTF-8 for bodies with no BOM, no declared charset,
// no <meta> and no XML prolog. Hand-written because no npm dependency may be added (chardet/jschardet were
// measured and neither mirrors browsers anyway, see notes/ecosystem.md §4). It is deliberately small and honest:
//  1. valid (or nearly valid) UTF-8 → utf-8; pure ASCII or mostly binary bytes → no opinion (UTF-8 applies);
//  2. otherwise decode the sample as each CJK candidate and score how plausible the result is for that
//     language (kana for Japanese, ideographs and CJK punctuation for both; replacement characters and stray
//     half-width/Latin characters count against) — a real page in that encoding scores high, a wrong guess
//     produces errors or half-width kana soup;
//  3. many valid UTF-8 sequences among the broken ones → damaged UTF-8 → utf-8;
//  4. nothing plausible → windows-1252, the browsers' default for legacy Western pages (and a decoder that
//     never fails). Known gap: unlabelled Cyrillic, Greek, Korean, Big5 etc. pages come out as windows-1252.
import { TextDecoder } from '@exodus/bytes/encoding.js';
import { isMostlyBinary } from './binary-bytes.ts';

/** The detector never looks further than this into a body, so its cost is bounded. */
export const DETECTION_SAMPLE_BYTES = 64 * 1024;

/** Damaged-UTF-8 rule: at least this many valid multi-byte sequences, and at least one per 8 invalid ones. */
const MIN_VALID_SEQUENCES_FOR_DAMAGED_UTF8 = 8;

/** Share of a candidate's non-ASCII characters that must look like its language for it to win. */
const MIN_PLAUSIBILITY = 0.5;

interface Utf8Stats {
  nonAsciiBytes: number;
  validSequences: number;
  invalidSequences: number;
}

/** Count valid multi-byte UTF-8 sequences and invalid bytes (the Encoding Standard's UTF-8 decoder rules). */
function utf8Stats(bytes: Uint8Array, truncated: boolean): Utf8Stats {
  const stats: Utf8Stats = { nonAsciiBytes: 0, validSequences: 0, invalidSequences: 0 };
  const end = bytes.length;
  let pos = 0;
  while (pos < end) {
    const lead = bytes[pos]!;
    if (lead < 0x80) {
      pos++;
      continue;
    }
    stats.nonAsciiBytes++;
    let needed = 0;
    let lower = 0x80;
    let upper = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) needed = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      needed = 2;
      if (lead === 0xe0) lower = 0xa0;
      if (lead === 0xed) upper = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      needed = 3;
      if (lead === 0xf0) lower = 0x90;
      if (lead === 0xf4) upper = 0x8f;
    } else {
      stats.invalidSequences++;
      pos++;
      continue;
    }
    let seen = 0;
    let next = pos + 1;
    while (seen < needed && next < end) {
      const byte = bytes[next]!;
      const min = seen === 0 ? lower : 0x80;
      const max = seen === 0 ? upper : 0xbf;
      if (byte < min || byte > max) break;
      seen++;
      next++;
    }
    if (seen === needed) stats.validSequences++;
    else if (!(truncated && next === end)) stats.invalidSequences++; // a sequence cut by the sample's end is not an error
    stats.nonAsciiBytes += seen;
    pos = next;
  }
  return stats;
}

/** Above this share of lone high bytes a sample is taken as Western (Shift_JIS with ASCII trail bytes stays well below). */
const MAX_LONE_HIGH_BYTE_SHARE_FOR_CJK = 0.6;

function loneHighByteShare(bytes: Uint8Array): number {
  let high = 0;
  let lone = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! < 0x80) continue;
    high++;
    if ((bytes[i - 1] ?? 0) < 0x80 && (bytes[i + 1] ?? 0) < 0x80) lone++;
  }
  return high === 0 ? 0 : lone / high;
}

interface Candidate {
  encoding: string;
  /** Weight of a decoded character for this language: > 0 plausible, < 0 implausible. */
  weigh: (codePoint: number) => number;
}

const isKana = (cp: number): boolean => cp >= 0x3040 && cp <= 0x30ff;
const isIdeograph = (cp: number): boolean => (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf);
/** CJK symbols and punctuation, full-width forms (but not half-width katakana, a classic mis-decoding artefact). */
const isCjkPunctuation = (cp: number): boolean => (cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xff01 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6);

function weighJapanese(cp: number): number {
  if (cp === 0xfffd) return -4;
  if (isKana(cp)) return 2;
  if (isIdeograph(cp) || isCjkPunctuation(cp)) return 1;
  return -1;
}

function weighChinese(cp: number): number {
  if (cp === 0xfffd) return -4;
  // GB2312 has the kana rows too, at the same bytes as EUC-JP: neutral here so EUC-JP wins Japanese text.
  if (isKana(cp)) return 0;
  if (isIdeograph(cp) || isCjkPunctuation(cp)) return 1;
  return -1;
}

/** GBK first: on a tie (Chinese text also decodes as EUC-JP kanji) the more common encoding wins. */
const CANDIDATES: readonly Candidate[] = [
  { encoding: 'gbk', weigh: weighChinese },
  { encoding: 'shift_jis', weigh: weighJapanese },
  { encoding: 'euc-jp', weigh: weighJapanese },
];

function plausibility(sample: Uint8Array, candidate: Candidate): number {
  const text = new TextDecoder(candidate.encoding).decode(sample);
  let score = 0;
  let nonAscii = 0;
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (cp < 0x80) continue;
    nonAscii++;
    score += candidate.weigh(cp);
  }
  return nonAscii === 0 ? 0 : score / nonAscii;
}

/**
 * Guess the encoding of a body that declares none, from at most its first 64 KiB.
 * Returns an encoding name, or null (use UTF-8) when the sample is pure ASCII or mostly binary bytes.
 */
export function detectEncoding(bytes: Uint8Array): string | null {
  const truncated = bytes.length > DETECTION_SAMPLE_BYTES;
  const sample = bytes.subarray(0, DETECTION_SAMPLE_BYTES);
  const stats = utf8Stats(sample, truncated);
  if (stats.nonAsciiBytes === 0) return null;
  // Binary posing as text is no legacy encoding: leave it to UTF-8, whose replacement characters expose it
  // (windows-1252 maps every byte to a character and would hide it).
  if (isMostlyBinary(sample)) return null;
  // Real UTF-8 with a few broken bytes stays UTF-8; legacy text almost never forms valid sequences.
  if (stats.invalidSequences * 4 <= stats.validSequences) return 'utf-8';
  // Western legacy text has lone accented letters between ASCII ones ("café"); CJK text has runs of
  // high bytes. Mostly lone high bytes → windows-1252 without trying CJK (GBK would read "és" as a hanzi).
  if (loneHighByteShare(sample) > MAX_LONE_HIGH_BYTE_SHARE_FOR_CJK) return 'windows-1252';
  let best = 'windows-1252';
  let bestScore = MIN_PLAUSIBILITY;
  for (const candidate of CANDIDATES) {
    const score = plausibility(sample, candidate);
    if (score > bestScore) {
      best = candidate.encoding;
      bestScore = score;
    }
  }
  if (best !== 'windows-1252') return best;
  // Damaged UTF-8 (a page that is UTF-8 apart from some broken bytes) still has many valid sequences;
  // windows-1252 and other single-byte text almost never forms one.
  if (stats.validSequences >= MIN_VALID_SEQUENCES_FOR_DAMAGED_UTF8 && stats.validSequences * 8 >= stats.invalidSequences) {
    return 'utf-8';
  }
  return 'windows-1252';
}
