// Every diff type in the registry × fixtures × header variants: which diff types accept which versions.
// The expectations are written here from spec/sniffing.md ("What each diff type accepts"), never derived from
// the code under test, so a diff type declaring the wrong `accepts` (or a sniffing change) fails a row.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffTypes } from '../../src/diff/index.ts';
import { identifyContent, refusalReason, SNIFF_WINDOW_BYTES } from '../../src/sniff/index.ts';
import type { AcceptedContent, ContentTypeInfo } from '../../src/sniff/index.ts';
import { ascii, concat, fixture, randomBytes } from './helpers.ts';

/**
 * The spec's table, per diff type: accepts anything, any text, or HTML (XHTML, unknown/plain text) only;
 * README "Diff types": side_by_side_text also reads PDF, text_dmp reads HTML, XHTML, text/* or PDF.
 */
type Family = 'anything' | 'text' | 'html' | 'html_or_pdf' | 'document';
const FAMILY_BY_DIFF_TYPE: Readonly<Record<string, Family>> = {
  length: 'anything',
  identical_bytes: 'anything',
  html_source_dmp: 'text',
  html_text_dmp: 'html',
  html_token: 'html',
  side_by_side_text: 'html_or_pdf',
  text_dmp: 'document',
  links: 'html',
  links_json: 'html',
};

/**
 * What a version is to the guard, as the widest family accepting it:
 * H = every diff type; T = length, identical_bytes and html_source_dmp, not the HTML diffs; B = length and identical_bytes only.
 */
type Verdict = 'H' | 'T' | 'B';
const ACCEPTED_BY: Record<Verdict, ReadonlySet<Family>> = {
  H: new Set(['anything', 'text', 'html']),
  T: new Set(['anything', 'text']),
  B: new Set(['anything']),
};

type HeaderVariant = 'correct' | 'wrong' | 'missing' | 'invalid' | 'octet-stream';
const VARIANTS: readonly HeaderVariant[] = ['correct', 'wrong', 'missing', 'invalid', 'octet-stream'];
/** Not a `type/subtype`: treated as absent (some servers really send this). */
const INVALID_HEADER = 'html';

interface Case {
  name: string;
  bytes: () => Uint8Array;
  correct: string;
  wrong: string;
  /** Verdicts for the header variants, in VARIANTS order: correct, wrong, missing, invalid, octet-stream. */
  expect: [Verdict, Verdict, Verdict, Verdict, Verdict];
}

const RANDOM_8_MIB = randomBytes(8 * 1024 * 1024);
/** Text with 10% NUL bytes: over the 5% binary-byte limit. */
const NUL_RIDDLED = concat(...Array.from({ length: 400 }, () => concat(ascii('abcdefghi'), new Uint8Array(1))));

const CASES: Case[] = [
  // Binary formats: the bytes win over any header, so only the byte diffs take them.
  { name: 'PDF', bytes: () => fixture('encoding/simple.pdf'), correct: 'application/pdf', wrong: 'text/html', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: 'PDF with leading whitespace', bytes: () => fixture('sniff/pdf-leading-whitespace.pdf'), correct: 'application/pdf', wrong: 'text/html; charset=utf-8', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: 'PDF behind a PHP warning', bytes: () => fixture('sniff/pdf-php-warning-prefix.pdf'), correct: 'application/pdf', wrong: 'text/html; charset=UTF-8', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: 'PDF behind proxy junk', bytes: () => fixture('sniff/pdf-junk-prefix.pdf'), correct: 'application/pdf', wrong: 'text/plain', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: 'PNG', bytes: () => fixture('sniff/pixel.png'), correct: 'image/png', wrong: 'text/html', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: 'ZIP', bytes: () => fixture('sniff/archive.zip'), correct: 'application/zip', wrong: 'text/plain', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: 'gzip', bytes: () => fixture('sniff/page.html.gz'), correct: 'application/gzip', wrong: 'text/html', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: '8 MiB of random bytes', bytes: () => RANDOM_8_MIB, correct: 'application/octet-stream', wrong: 'text/html', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: '<html> then random bytes', bytes: () => concat(ascii('<html><body>'), RANDOM_8_MIB.subarray(0, 8192)), correct: 'application/octet-stream', wrong: 'text/html', expect: ['B', 'B', 'B', 'B', 'B'] },
  { name: 'text riddled with NUL bytes (10%)', bytes: () => NUL_RIDDLED, correct: 'application/octet-stream', wrong: 'text/plain', expect: ['B', 'B', 'B', 'B', 'B'] },
  // HTML: every diff type, unless a meaningful header says something else (text bytes do not overrule a header).
  { name: 'HTML', bytes: () => fixture('examples/add-list.before'), correct: 'text/html', wrong: 'image/jpeg', expect: ['H', 'B', 'H', 'H', 'H'] },
  { name: 'a real page', bytes: () => fixture('real-versions/775a8b04-9bac-4d0d-8db0-a8e133c4a964'), correct: 'text/html; charset=utf-8', wrong: 'application/json', expect: ['H', 'T', 'H', 'H', 'H'] },
  { name: 'HTML with a UTF-16LE BOM', bytes: () => fixture('sniff/utf16le-bom.html'), correct: 'text/html; charset=utf-16le', wrong: 'text/plain; charset=windows-1252', expect: ['H', 'H', 'H', 'H', 'H'] },
  { name: 'HTML with a UTF-16BE BOM', bytes: () => fixture('sniff/utf16be-bom.html'), correct: 'text/html', wrong: 'application/json', expect: ['H', 'T', 'H', 'H', 'H'] },
  { name: 'Shift_JIS declared only in <meta>', bytes: () => fixture('sniff/shift_jis-meta.html'), correct: 'text/html', wrong: 'text/plain', expect: ['H', 'H', 'H', 'H', 'H'] },
  { name: 'windows-1252 declared only in <meta>', bytes: () => fixture('sniff/windows-1252-meta.html'), correct: 'text/html', wrong: 'application/pdf', expect: ['H', 'B', 'H', 'H', 'H'] },
  { name: 'HTML without a WHATWG start tag (<h2>)', bytes: () => fixture('examples/change-tag.after'), correct: 'text/html', wrong: 'text/css', expect: ['H', 'T', 'H', 'H', 'H'] },
  // XHTML, with and without a prolog: HTML diffs take it, and "XML that is XHTML" too.
  { name: 'XHTML', bytes: () => fixture('sniff/page.xhtml'), correct: 'application/xhtml+xml', wrong: 'application/xml', expect: ['H', 'H', 'H', 'H', 'H'] },
  { name: 'XHTML without a prolog', bytes: () => fixture('sniff/page-no-prolog.xhtml'), correct: 'application/xhtml+xml', wrong: 'text/xml', expect: ['H', 'H', 'H', 'H', 'H'] },
  // Other text: html_source_dmp only (besides the byte diffs); a text/html header makes it HTML.
  { name: 'SVG', bytes: () => fixture('sniff/drawing.svg'), correct: 'image/svg+xml', wrong: 'text/html', expect: ['T', 'H', 'T', 'T', 'T'] },
  { name: 'SVG without a prolog', bytes: () => fixture('sniff/drawing-no-prolog.svg'), correct: 'image/svg+xml', wrong: 'text/xml', expect: ['T', 'T', 'T', 'T', 'T'] },
  { name: 'JSON', bytes: () => fixture('sniff/data.json'), correct: 'application/json', wrong: 'text/html', expect: ['T', 'H', 'T', 'T', 'T'] },
  { name: 'plain XML', bytes: () => fixture('sniff/plain.xml'), correct: 'application/xml', wrong: 'application/pdf', expect: ['T', 'B', 'T', 'T', 'T'] },
  { name: 'RSS', bytes: () => fixture('sniff/feed.rss.xml'), correct: 'application/rss+xml', wrong: 'text/plain', expect: ['T', 'H', 'T', 'T', 'T'] },
  // CSS and JavaScript sniff as plain text, which HTML diffs read; their own types are not HTML.
  { name: 'CSS', bytes: () => fixture('sniff/style.css'), correct: 'text/css', wrong: 'text/html', expect: ['T', 'H', 'H', 'H', 'H'] },
  { name: 'JavaScript', bytes: () => fixture('sniff/script.js'), correct: 'text/javascript', wrong: 'image/png', expect: ['T', 'B', 'H', 'H', 'H'] },
  // Plain text, a stray NUL, and an empty body (valid text of unknown type).
  { name: 'plain text with a stray NUL', bytes: () => fixture('encoding/has_null_byte.txt'), correct: 'text/plain', wrong: 'image/gif', expect: ['H', 'B', 'H', 'H', 'H'] },
  { name: 'undeclared Shift_JIS text', bytes: () => fixture('sniff/shift_jis-undeclared.txt'), correct: 'text/plain', wrong: 'application/json', expect: ['H', 'T', 'H', 'H', 'H'] },
  { name: 'empty body', bytes: () => new Uint8Array(0), correct: 'text/html', wrong: 'application/pdf', expect: ['H', 'B', 'H', 'H', 'H'] },
];

function headerFor(c: Case, variant: HeaderVariant): string | undefined {
  switch (variant) {
    case 'correct':
      return c.correct;
    case 'wrong':
      return c.wrong;
    case 'missing':
      return undefined;
    case 'invalid':
      return INVALID_HEADER;
    case 'octet-stream':
      return 'application/octet-stream';
  }
}

interface Identified {
  label: string;
  info: ContentTypeInfo;
  verdict: Verdict;
}

/** Identify every case × variant once, as the guard does (normal checking, the first SNIFF_WINDOW_BYTES). */
async function identifyAll(): Promise<Identified[]> {
  const rows: Identified[] = [];
  for (const c of CASES) {
    const prefix = c.bytes().subarray(0, SNIFF_WINDOW_BYTES);
    for (const [index, variant] of VARIANTS.entries()) {
      const info = await identifyContent(headerFor(c, variant), prefix, 'normal');
      rows.push({ label: `${c.name}, ${variant} header (${headerFor(c, variant) ?? 'none'})`, info, verdict: c.expect[index]! });
    }
  }
  return rows;
}

/** Whether a diff type of `family` should take a version: the verdict, and for the PDF-reading families its media type. */
function expectedAcceptance(family: Family, row: Identified): boolean {
  const isPdf = row.info.media_type === 'application/pdf';
  switch (family) {
    case 'html_or_pdf':
      return ACCEPTED_BY[row.verdict].has('html') || isPdf;
    case 'document':
      return ACCEPTED_BY[row.verdict].has('html') || isPdf || (row.verdict === 'T' && row.info.media_type.startsWith('text/'));
    default:
      return ACCEPTED_BY[row.verdict].has(family);
  }
}

/** Every disagreement between what a registry's diff types accept and the expected verdicts. */
function mismatches(registry: ReadonlyMap<string, { accepts: AcceptedContent }>, rows: readonly Identified[]): string[] {
  const found: string[] = [];
  for (const [name, definition] of registry) {
    const family = FAMILY_BY_DIFF_TYPE[name];
    if (family === undefined) {
      found.push(`${name}: no expected family in this test; add it to FAMILY_BY_DIFF_TYPE`);
      continue;
    }
    for (const row of rows) {
      const expected = expectedAcceptance(family, row);
      const reason = refusalReason(definition.accepts, row.info, 'normal');
      if ((reason === null) !== expected) {
        found.push(`${name} ${expected ? 'refused' : 'accepted'} ${row.label}: ${row.info.media_type} (${row.info.source})${reason === null ? '' : `, ${reason}`}`);
      }
    }
  }
  return found;
}

describe('diff types × fixtures × header variants (normal checking)', async () => {
  const rows = await identifyAll();

  it('the registry holds exactly the diff types this matrix knows', () => {
    assert.deepEqual([...diffTypes.keys()].sort(), Object.keys(FAMILY_BY_DIFF_TYPE).sort());
  });

  for (const name of diffTypes.keys()) {
    it(`${name} accepts and refuses what its family (${FAMILY_BY_DIFF_TYPE[name]}) does`, () => {
      const one = new Map([[name, diffTypes.get(name)!]]);
      assert.deepEqual(mismatches(one, rows), []);
    });
  }

  it('catches a diff type that accepts more than the spec says (side_by_side_text declared as text)', () => {
    const mutated = new Map([...diffTypes].map(([name, d]) => [name, name === 'side_by_side_text' ? { accepts: 'text' as const } : d]));
    const found = mismatches(mutated, rows);
    assert.ok(found.some((m) => m.startsWith('side_by_side_text accepted JSON, correct header')), found.join('\n'));
    assert.ok(found.every((m) => m.startsWith('side_by_side_text ')), found.join('\n'));
  });
});
