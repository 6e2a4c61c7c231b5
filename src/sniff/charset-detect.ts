// Statistical encoding detection, the last resort before UTF-8 for bodies with no BOM, no declared charset, no
// <meta> and no XML prolog. The statistics are jschardet's (a maintained TypeScript port of chardet 7, trained
// models for every legacy web encoding); this module only adds what a web page needs around it:
//  1. cheap answers first: pure ASCII or mostly binary bytes → no opinion (UTF-8 applies), valid UTF-8 → utf-8,
//     nearly valid UTF-8 (a page with a few broken bytes) → utf-8;
//  2. the detector reads the page's *text* with high bytes, not its ASCII markup (denser evidence, bounded cost),
//     and may only answer encodings a browser can decode (WHATWG), named by their WHATWG names;
//  3. no answer → windows-1252, the browsers' default for legacy pages.
import { createRequire } from 'node:module';
import { isAscii, isUtf8 } from 'node:buffer';
import type * as Jschardet from 'jschardet';
import { isMostlyBinary } from './binary-bytes.ts';
import { resolveEncodingLabel } from './encoding-labels.ts';

/** The detector never looks further than this into a body, so its cost is bounded. */
export const DETECTION_SAMPLE_BYTES = 64 * 1024;

/**
 * How much text (with its high bytes) the statistical detector reads: a page of prose is plenty (every legacy
 * fixture is detected right from under 1 KiB), and jschardet's cost grows with it (4 KiB cost twice as much).
 */
export const DETECTOR_TEXT_BYTES = 2 * 1024;

/** ASCII kept before a text run's first high byte (words around it are evidence too). */
const RUN_LEAD_IN_BYTES = 64;

/** Damaged-UTF-8 rules: at least this many valid multi-byte sequences, and at least one per 4 (or, unless the text is CJK or Thai, 8) invalid ones. */
const MIN_VALID_SEQUENCES_FOR_DAMAGED_UTF8 = 8;

/**
 * chardet names of encodings a browser decodes (and chardetng, Firefox's detector, answers). EBCDIC, DOS code
 * pages (but 866), Mac encodings (but Cyrillic), UTF-7, HZ and ISO-2022-KR are left out: a browser cannot or will
 * not decode them, and guessing them for a web page is always wrong. Where chardet has a strict encoding and
 * its superset, only the one the Encoding Standard decodes is asked for (cp932 for shift_jis, cp949 for euc-kr,
 * big5hkscs for big5, cp874 for tis-620, euc-jp without JIS X 0213, shift_jis without its 2004 extension):
 * jschardet's cost grows with the number of candidates, and the strict twins only ever named the same
 * WHATWG encoding. `ascii` is left out because the detector only ever sees text with high bytes.
 */
const DETECTABLE_ENCODINGS = [
  'utf-8',
  'windows-1250', 'windows-1251', 'windows-1252', 'windows-1253', 'windows-1254', 'windows-1255', 'windows-1256',
  'windows-1257', 'windows-1258', 'cp874',
  'iso-8859-2', 'iso-8859-4', 'iso-8859-5', 'iso-8859-6', 'iso-8859-7', 'iso-8859-8', 'iso-8859-13',
  'koi8-r', 'koi8-u', 'cp866', 'mac-cyrillic',
  'gb18030', 'big5hkscs', 'cp932', 'euc-jp', 'cp949',
  // ISO-2022-JP is recognised by its escape sequences, before any candidate is scored: all three variants stay.
  'iso2022-jp-2', 'iso2022-jp-2004', 'iso2022-jp-ext',
];

/** chardet names that are no WHATWG label (the rest, like `windows-1251` or `koi8-r`, are resolved as labels). */
const WHATWG_NAME_OF: Readonly<Record<string, string>> = {
  ascii: 'windows-1252',
  cp874: 'windows-874',
  cp932: 'shift_jis',
  shift_jis_2004: 'shift_jis',
  'euc-jis-2004': 'euc-jp',
  cp949: 'euc-kr',
  big5hkscs: 'big5',
  // The Encoding Standard decodes gbk and gb18030 alike; browsers report GBK for detected Chinese pages.
  gb18030: 'gbk',
  'mac-cyrillic': 'x-mac-cyrillic',
  'iso2022-jp-2': 'iso-2022-jp',
  'iso2022-jp-2004': 'iso-2022-jp',
  'iso2022-jp-ext': 'iso-2022-jp',
};

/**
 * Encodings whose text forms valid UTF-8 sequences by chance: CJK double-byte pairs, and Thai (a consonant in
 * 0xE0–0xEF followed by two vowels or tone marks in 0xA1–0xBF is a 3-byte sequence).
 */
const FORMS_UTF8_BY_CHANCE: ReadonlySet<string> = new Set(['gbk', 'big5', 'shift_jis', 'euc-jp', 'euc-kr', 'iso-2022-jp', 'windows-874']);

type Detector = typeof Jschardet;
let detector: Detector | undefined;

/**
 * Loaded on first use: its models cost ~40 MiB and a few hundred ms to unpack, which only workers that meet an
 * unlabelled legacy page should pay. (createRequire keeps decoding synchronous.)
 */
function loadDetector(): Detector {
  detector ??= createRequire(import.meta.url)('jschardet') as Detector;
  return detector;
}

/** A chardet encoding name → its WHATWG name, or null when browsers have no such encoding. */
export function whatwgNameOfDetected(name: string): string | null {
  const lower = name.toLowerCase();
  return WHATWG_NAME_OF[lower] ?? resolveEncodingLabel(lower);
}

/** A UTF-8 sequence cut by the sample's end is not an error: drop an incomplete tail (at most 3 bytes). */
function withoutCutSequence(sample: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, sample.length); back++) {
    const byte = sample[sample.length - back]!;
    if (byte < 0x80) return sample;
    if (byte >= 0xc0) return sample.subarray(0, sample.length - back);
  }
  return sample;
}

/** Count valid multi-byte UTF-8 sequences and invalid bytes (the Encoding Standard's UTF-8 decoder rules). */
function utf8SequenceCounts(bytes: Uint8Array): { valid: number; invalid: number } {
  let valid = 0;
  let invalid = 0;
  let pos = 0;
  while (pos < bytes.length) {
    const lead = bytes[pos]!;
    if (lead < 0x80) {
      pos++;
      continue;
    }
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
    }
    let seen = 0;
    let next = pos + 1;
    while (seen < needed && next < bytes.length) {
      const byte = bytes[next]!;
      if (byte < (seen === 0 ? lower : 0x80) || byte > (seen === 0 ? upper : 0xbf)) break;
      seen++;
      next++;
    }
    if (needed > 0 && seen === needed) valid++;
    else invalid++;
    pos = Math.max(next, pos + 1);
  }
  return { valid, invalid };
}

/**
 * The text runs of the sample (between `>` and `<`) that hold high bytes, joined by spaces, up to
 * DETECTOR_TEXT_BYTES: a legacy page's evidence is in its prose, and its head, scripts and markup are ASCII.
 * A sample with no markup is its own text.
 */
export function textWithHighBytes(sample: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.min(DETECTOR_TEXT_BYTES, sample.length));
  let length = 0;
  let runStart = 0;
  /** Where the current run's first high byte is (-1: none yet); a long ASCII lead-in is skipped. */
  let firstHighByte = -1;
  const takeRun = (end: number): void => {
    if (firstHighByte < 0 || length >= out.length) return;
    const from = Math.max(runStart, firstHighByte - RUN_LEAD_IN_BYTES);
    const run = sample.subarray(from, Math.min(end, from + out.length - length));
    out.set(run, length);
    length += run.length;
    if (length < out.length) out[length++] = 0x20;
  };
  for (let i = 0; i < sample.length && length < out.length; i++) {
    const byte = sample[i]!;
    if (byte === 0x3c /* < */ || byte === 0x3e /* > */) {
      takeRun(i);
      runStart = i + 1;
      firstHighByte = -1;
    } else if (byte >= 0x80 && firstHighByte < 0) {
      firstHighByte = i;
    }
  }
  takeRun(sample.length);
  return out.subarray(0, length);
}


/**
 * Guess the encoding of a body that declares none, from at most its first 64 KiB.
 * Returns a WHATWG encoding name, or null (use UTF-8) when the sample is pure ASCII or mostly binary bytes.
 */
export function detectEncoding(bytes: Uint8Array): string | null {
  const truncated = bytes.length > DETECTION_SAMPLE_BYTES;
  const window = bytes.subarray(0, DETECTION_SAMPLE_BYTES);
  const sample = truncated ? withoutCutSequence(window) : window;
  if (isAscii(sample)) return null;
  // Valid UTF-8 first: both checks are native and take microseconds, and the binary count below is a loop
  // over the whole sample (valid UTF-8 that is mostly control bytes decodes as UTF-8 either way).
  if (isUtf8(sample)) return 'utf-8';
  // Binary posing as text is no legacy encoding: leave it to UTF-8, whose replacement characters expose it
  // (a single-byte encoding maps every byte to a character and would hide it).
  if (isMostlyBinary(sample)) return null;
  // Real UTF-8 with a few broken bytes stays UTF-8; legacy text almost never forms valid sequences. Counted
  // over the text the detector reads (where the high bytes are), not the whole sample: the same evidence,
  // at a few percent of the cost.
  const text = textWithHighBytes(sample);
  const { valid, invalid } = utf8SequenceCounts(text);
  if (valid >= MIN_VALID_SEQUENCES_FOR_DAMAGED_UTF8 && invalid * 4 <= valid) return 'utf-8';
  const guess = loadDetector().detect(text, { detectEncodings: DETECTABLE_ENCODINGS }).encoding;
  const encoding = guess === null ? null : whatwgNameOfDetected(guess);
  if (encoding !== null && FORMS_UTF8_BY_CHANCE.has(encoding)) return encoding;
  // Damaged UTF-8 (a page that is UTF-8 apart from many broken bytes) still has many valid sequences, which
  // other single-byte text almost never forms (CJK and Thai text can, so the detector speaks first for them).
  if (valid >= MIN_VALID_SEQUENCES_FOR_DAMAGED_UTF8 && valid * 8 >= invalid) return 'utf-8';
  return encoding ?? 'windows-1252';
}
