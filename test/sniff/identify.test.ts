import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { identifyContent, refusalReason, SNIFF_WINDOW_BYTES } from '../../src/sniff/index.ts';
import type { AcceptedContent, ContentTypeInfo, ContentTypeOption } from '../../src/sniff/index.ts';

/** The families this matrix checks (the PDF-reading ones are covered by diff-type-matrix.test.ts). */
type CheckedFamily = Extract<AcceptedContent, 'any' | 'text' | 'html'>;
import { CONTENT_TYPE_OPTIONS } from '../../src/sniff/types.ts';
import { ascii, concat, fixture, randomBytes } from './helpers.ts';

/** What a fixture really is, and what each diff family should make of it. */
interface FixtureTruth {
  file: string;
  /** The Content-Type a correct server would send. */
  correctType: string;
  /** What the bytes alone say ('unknown' for an empty body). */
  sniffed: string;
  isText: boolean;
  /** Accepted by the html family when its correct header is believed. */
  htmlByHeader: boolean;
  /** Accepted by the html family when only its bytes are looked at. */
  htmlBySniff: boolean;
  /** The correct header and the bytes agree (source 'both'). */
  agrees: boolean;
}

const FIXTURES: FixtureTruth[] = [
  { file: 'sniff/pixel.png', correctType: 'image/png', sniffed: 'image/png', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/pixel.gif', correctType: 'image/gif', sniffed: 'image/gif', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/page.html.gz', correctType: 'application/gzip', sniffed: 'application/gzip', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/archive.zip', correctType: 'application/zip', sniffed: 'application/zip', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/pdf-leading-whitespace.pdf', correctType: 'application/pdf', sniffed: 'application/pdf', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/pdf-junk-prefix.pdf', correctType: 'application/pdf', sniffed: 'application/pdf', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'encoding/simple.pdf', correctType: 'application/pdf', sniffed: 'application/pdf', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'examples/empty.pdf', correctType: 'application/pdf', sniffed: 'application/pdf', isText: false, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/data.json', correctType: 'application/json', sniffed: 'application/json', isText: true, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/drawing.svg', correctType: 'image/svg+xml', sniffed: 'image/svg+xml', isText: true, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/drawing-no-prolog.svg', correctType: 'image/svg+xml', sniffed: 'image/svg+xml', isText: true, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/page.xhtml', correctType: 'application/xhtml+xml', sniffed: 'application/xhtml+xml', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'sniff/feed.rss.xml', correctType: 'application/rss+xml', sniffed: 'application/rss+xml', isText: true, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/feed.atom.xml', correctType: 'application/atom+xml', sniffed: 'application/atom+xml', isText: true, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/plain.xml', correctType: 'application/xml', sniffed: 'text/xml', isText: true, htmlByHeader: false, htmlBySniff: false, agrees: true },
  { file: 'sniff/style.css', correctType: 'text/css', sniffed: 'text/plain', isText: true, htmlByHeader: false, htmlBySniff: true, agrees: false },
  { file: 'sniff/script.js', correctType: 'text/javascript', sniffed: 'text/plain', isText: true, htmlByHeader: false, htmlBySniff: true, agrees: false },
  { file: 'sniff/utf16le-bom.html', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'sniff/utf16be-bom.html', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'sniff/shift_jis-meta.html', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'sniff/windows-1252-meta.html', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'sniff/euc-jp-undeclared.html', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'sniff/shift_jis-undeclared.txt', correctType: 'text/plain', sniffed: 'text/plain', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'encoding/empty.txt', correctType: 'text/plain', sniffed: 'unknown', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: false },
  { file: 'encoding/has_null_byte.txt', correctType: 'text/plain', sniffed: 'text/plain', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'encoding/poorly_encoded_utf8.txt', correctType: 'text/plain', sniffed: 'text/plain', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'encoding/unknown_encoding.html', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'examples/add-list.before', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  // `<h2>` and `<ins>` are not in the WHATWG list: plain text, which HTML diffs still accept.
  { file: 'examples/change-tag.after', correctType: 'text/html', sniffed: 'text/plain', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: false },
  { file: 'examples/ins-in-source.before', correctType: 'text/html', sniffed: 'text/plain', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: false },
  { file: 'real-versions/775a8b04-9bac-4d0d-8db0-a8e133c4a964', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'real-versions/9d4de183-a186-456c-bffb-55d82989877d', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'real-versions/f2d5d701-707a-42e0-8881-653346d01e0a', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
  { file: 'real-versions/fc74d750-c651-46b7-bf74-434ad8c62e04', correctType: 'text/html', sniffed: 'text/html', isText: true, htmlByHeader: true, htmlBySniff: true, agrees: true },
];

type HeaderVariant = 'correct' | 'missing' | 'invalid' | 'octet-stream';
const HEADER_VARIANTS: HeaderVariant[] = ['correct', 'missing', 'invalid', 'octet-stream'];

function headerFor(variant: HeaderVariant, truth: FixtureTruth): string | undefined {
  switch (variant) {
    case 'correct':
      return truth.correctType;
    case 'missing':
      return undefined;
    case 'invalid':
      return 'nonsense';
    case 'octet-stream':
      return 'application/octet-stream';
  }
}

interface Expected {
  info: Pick<ContentTypeInfo, 'media_type' | 'source' | 'is_text'>;
  accepted: Record<CheckedFamily, boolean>;
}

/** The expected outcome, derived from the fixture's truth by the rules of spec/sniffing.md. */
function expectedOutcome(truth: FixtureTruth, variant: HeaderVariant, option: ContentTypeOption): Expected {
  const hasHeader = variant === 'correct';
  const bySniff = (): Expected => ({
    info:
      truth.sniffed === 'unknown'
        ? { media_type: 'unknown', source: 'none', is_text: true }
        : { media_type: truth.sniffed, source: hasHeader && truth.agrees ? 'both' : 'sniffed', is_text: truth.isText },
    accepted: { any: true, text: truth.isText, html: truth.htmlBySniff },
  });
  const byHeader = (): Expected => ({
    info: { media_type: truth.correctType, source: option === 'nosniff' || !truth.agrees ? 'header' : 'both', is_text: truth.isText },
    accepted: { any: true, text: truth.isText, html: truth.htmlByHeader },
  });
  const unknownAllowed: Expected = { info: { media_type: 'unknown', source: 'none', is_text: true }, accepted: { any: true, text: true, html: true } };

  let expected: Expected;
  if (option === 'nosniff') expected = hasHeader ? byHeader() : unknownAllowed;
  else if (option === 'nocheck' || !hasHeader) expected = bySniff();
  else expected = byHeader(); // a correct header never contradicts the bytes' binary-ness
  if (option === 'ignore') expected.accepted = { any: true, text: true, html: true };
  return expected;
}

function accepted(info: ContentTypeInfo, option: ContentTypeOption): Record<CheckedFamily, boolean> {
  return {
    any: refusalReason('any', info, option) === null,
    text: refusalReason('text', info, option) === null,
    html: refusalReason('html', info, option) === null,
  };
}

describe('identifyContent × refusalReason: fixture matrix (fixture × header × option)', () => {
  for (const truth of FIXTURES) {
    describe(truth.file, () => {
      const bytes = fixture(truth.file);
      for (const variant of HEADER_VARIANTS) {
        for (const option of CONTENT_TYPE_OPTIONS) {
          it(`header ${variant}, ${option}`, async () => {
            const info = await identifyContent(headerFor(variant, truth), bytes.subarray(0, SNIFF_WINDOW_BYTES), option);
            const expected = expectedOutcome(truth, variant, option);
            assert.deepEqual({ media_type: info.media_type, source: info.source, is_text: info.is_text }, expected.info);
            assert.deepEqual(accepted(info, option), expected.accepted);
          });
        }
      }
    });
  }
});

const RANDOM_8_MIB = randomBytes(8 * 1024 * 1024);

/** Wrong or odd headers: what wins, and what each family does. [file or bytes, header, option, media_type, source, accepted {text, html}] */
const WRONG_HEADER_CASES: Array<{
  name: string;
  bytes: () => Uint8Array;
  header: string | undefined;
  option: ContentTypeOption;
  media_type: string;
  source: ContentTypeInfo['source'];
  text: boolean;
  html: boolean;
}> = [
  { name: 'PDF served as text/html (bytes win)', bytes: () => fixture('encoding/simple.pdf'), header: 'text/html', option: 'normal', media_type: 'application/pdf', source: 'sniffed', text: false, html: false },
  { name: 'PDF served as text/html, nocheck', bytes: () => fixture('encoding/simple.pdf'), header: 'text/html', option: 'nocheck', media_type: 'application/pdf', source: 'sniffed', text: false, html: false },
  { name: 'PDF served as text/html, nosniff (header believed)', bytes: () => fixture('encoding/simple.pdf'), header: 'text/html', option: 'nosniff', media_type: 'text/html', source: 'header', text: true, html: true },
  { name: 'PDF served as text/html, ignore', bytes: () => fixture('encoding/simple.pdf'), header: 'text/html', option: 'ignore', media_type: 'application/pdf', source: 'sniffed', text: true, html: true },
  { name: 'PDF with leading whitespace served as text/html', bytes: () => fixture('sniff/pdf-leading-whitespace.pdf'), header: 'text/html; charset=utf-8', option: 'normal', media_type: 'application/pdf', source: 'sniffed', text: false, html: false },
  { name: 'PDF with junk before %PDF- served as text/plain', bytes: () => fixture('sniff/pdf-junk-prefix.pdf'), header: 'text/plain', option: 'normal', media_type: 'application/pdf', source: 'sniffed', text: false, html: false },
  { name: 'PNG served as text/html', bytes: () => fixture('sniff/pixel.png'), header: 'text/html', option: 'normal', media_type: 'image/png', source: 'sniffed', text: false, html: false },
  { name: 'gzip served as text/html', bytes: () => fixture('sniff/page.html.gz'), header: 'text/html', option: 'normal', media_type: 'application/gzip', source: 'sniffed', text: false, html: false },
  { name: '8 MiB of random bytes served as text/html', bytes: () => RANDOM_8_MIB, header: 'text/html', option: 'normal', media_type: 'application/octet-stream', source: 'sniffed', text: false, html: false },
  { name: '8 MiB of random bytes served as text/plain, nocheck', bytes: () => RANDOM_8_MIB, header: 'text/plain', option: 'nocheck', media_type: 'application/octet-stream', source: 'sniffed', text: false, html: false },
  { name: 'unknown binary bytes served as application/x-foo (binary header kept)', bytes: () => RANDOM_8_MIB, header: 'application/x-foo', option: 'normal', media_type: 'application/x-foo', source: 'header', text: false, html: false },
  { name: 'HTML served as application/octet-stream', bytes: () => fixture('examples/add-list.before'), header: 'application/octet-stream', option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'HTML served as application/x-download', bytes: () => fixture('examples/add-list.before'), header: 'application/x-download', option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'HTML served as */*', bytes: () => fixture('examples/add-list.before'), header: '*/*', option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'HTML served as image/png (a meaningful header wins over text bytes)', bytes: () => fixture('examples/add-list.before'), header: 'image/png', option: 'normal', media_type: 'image/png', source: 'header', text: false, html: false },
  { name: 'HTML served as image/png, nocheck', bytes: () => fixture('examples/add-list.before'), header: 'image/png', option: 'nocheck', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'HTML served as text/plain', bytes: () => fixture('examples/add-list.before'), header: 'text/plain', option: 'normal', media_type: 'text/plain', source: 'header', text: true, html: true },
  { name: 'JSON served as text/html (header wins)', bytes: () => fixture('sniff/data.json'), header: 'text/html', option: 'normal', media_type: 'text/html', source: 'header', text: true, html: true },
  { name: 'JSON served as text/html, nocheck', bytes: () => fixture('sniff/data.json'), header: 'text/html', option: 'nocheck', media_type: 'application/json', source: 'sniffed', text: true, html: false },
  { name: 'SVG served as text/xml (bytes refine generic XML)', bytes: () => fixture('sniff/drawing.svg'), header: 'text/xml', option: 'normal', media_type: 'image/svg+xml', source: 'both', text: true, html: false },
  { name: 'XHTML served as application/xml (XML that is XHTML)', bytes: () => fixture('sniff/page.xhtml'), header: 'application/xml', option: 'normal', media_type: 'application/xhtml+xml', source: 'both', text: true, html: true },
  { name: 'XHTML served as text/html', bytes: () => fixture('sniff/page.xhtml'), header: 'text/html', option: 'normal', media_type: 'text/html', source: 'header', text: true, html: true },
  { name: 'CSS served as text/css', bytes: () => fixture('sniff/style.css'), header: 'text/css', option: 'normal', media_type: 'text/css', source: 'header', text: true, html: false },
  { name: 'header with parameters and odd case', bytes: () => fixture('examples/add-list.before'), header: 'Text/HTML ; Charset="UTF-8"', option: 'normal', media_type: 'text/html', source: 'both', text: true, html: true },
  { name: 'malformed header from a Ruby object dump (diff#75)', bytes: () => fixture('examples/add-list.before'), header: '#<MIME::NullType:0x00007f>', option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'empty body served as text/html', bytes: () => new Uint8Array(0), header: 'text/html', option: 'normal', media_type: 'text/html', source: 'header', text: true, html: true },
  { name: 'empty body, no header', bytes: () => new Uint8Array(0), header: undefined, option: 'normal', media_type: 'unknown', source: 'none', text: true, html: true },
  { name: 'empty body served as application/pdf', bytes: () => new Uint8Array(0), header: 'application/pdf', option: 'normal', media_type: 'application/pdf', source: 'header', text: false, html: false },
  { name: 'text starting "BM" is not a bitmap', bytes: () => ascii('BMW and Audi are car makers. '.repeat(10)), header: undefined, option: 'normal', media_type: 'text/plain', source: 'sniffed', text: true, html: true },
  { name: 'text starting "ID3" is not an MP3 even when labelled text/html', bytes: () => ascii('ID3 tags are metadata. '.repeat(10)), header: 'text/html', option: 'normal', media_type: 'text/html', source: 'header', text: true, html: true },
  { name: 'HTML that mentions %PDF-1.4 in prose stays HTML', bytes: () => ascii('<html><body><p>A PDF starts with %PDF-1.4 and ends with %%EOF.</p></body></html>'), header: undefined, option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'PostScript served as text/plain', bytes: () => ascii('%!PS-Adobe-3.0\n%%Title: x\n'), header: 'text/plain', option: 'normal', media_type: 'application/postscript', source: 'sniffed', text: false, html: false },
  { name: 'HTML after a UTF-8 BOM and whitespace', bytes: () => concat(new Uint8Array([0xef, 0xbb, 0xbf]), ascii('\n\t <HTML><body>x</body></HTML>')), header: undefined, option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'BOM-less UTF-16LE HTML declared charset=utf-16le', bytes: () => new Uint8Array(Buffer.from('<html><body><p>Grüße</p></body></html>', 'utf16le')), header: 'text/html; charset=utf-16le', option: 'normal', media_type: 'text/html', source: 'both', text: true, html: true },
  // Its NUL bytes (one per ASCII character, always in the same half of a code unit) make it UTF-16 text: a missing label does not make text binary.
  { name: 'BOM-less UTF-16LE HTML, undeclared', bytes: () => new Uint8Array(Buffer.from('<html><body><p>Grüße</p></body></html>', 'utf16le')), header: undefined, option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: 'BOM-less UTF-16LE HTML declared charset=utf-8', bytes: () => new Uint8Array(Buffer.from('<html><body><p>Grüße</p></body></html>', 'utf16le')), header: 'text/html; charset=utf-8', option: 'normal', media_type: 'text/html', source: 'both', text: true, html: true },
  { name: 'BOM-less UTF-16LE XML prolog', bytes: () => new Uint8Array(Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', 'utf16le')), header: undefined, option: 'normal', media_type: 'image/svg+xml', source: 'sniffed', text: true, html: false },
  // A preamble that looks like HTML does not hide a PDF, PostScript or binary bytes behind it.
  { name: 'PDF behind a PHP warning served as text/html', bytes: () => fixture('sniff/pdf-php-warning-prefix.pdf'), header: 'text/html; charset=UTF-8', option: 'normal', media_type: 'application/pdf', source: 'sniffed', text: false, html: false },
  { name: 'PDF behind a PHP warning, no header', bytes: () => fixture('sniff/pdf-php-warning-prefix.pdf'), header: undefined, option: 'normal', media_type: 'application/pdf', source: 'sniffed', text: false, html: false },
  { name: 'PDF behind a PHP warning, nocheck', bytes: () => fixture('sniff/pdf-php-warning-prefix.pdf'), header: 'text/html', option: 'nocheck', media_type: 'application/pdf', source: 'sniffed', text: false, html: false },
  { name: '<html> followed by random bytes served as text/html', bytes: () => concat(ascii('<html><head><title>x</title></head><body>'), randomBytes(8192)), header: 'text/html', option: 'normal', media_type: 'application/octet-stream', source: 'sniffed', text: false, html: false },
  { name: '<!DOCTYPE html> followed by random bytes, no header', bytes: () => concat(ascii('<!DOCTYPE html>\n'), randomBytes(8192)), header: undefined, option: 'normal', media_type: 'application/octet-stream', source: 'sniffed', text: false, html: false },
  { name: 'PostScript behind a junk line served as text/plain', bytes: () => ascii('Content-Disposition: inline\r\n%!PS-Adobe-3.0\n%%Creator: groff\n%%Pages: 1\n'), header: 'text/plain', option: 'normal', media_type: 'application/postscript', source: 'sniffed', text: false, html: false },
  { name: 'PostScript behind an HTML-looking preamble served as text/html', bytes: () => ascii('<br />\n<b>Notice</b>: x<br />\n%!PS-Adobe-2.0 EPSF-2.0\r\n%%BoundingBox: 0 0 10 10\r\n'), header: 'text/html', option: 'normal', media_type: 'application/postscript', source: 'sniffed', text: false, html: false },
  { name: 'HTML that mentions %!PS-Adobe-3.0 in prose stays HTML', bytes: () => ascii('<html><body><p>PostScript files start with %!PS-Adobe-3.0 and a comment.</p></body></html>'), header: undefined, option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  // XHTML without an <?xml prolog sniffs as HTML; under a generic XML header it is XHTML (spec: "XML that is XHTML").
  { name: 'XHTML without a prolog served as application/xml', bytes: () => fixture('sniff/page-no-prolog.xhtml'), header: 'application/xml', option: 'normal', media_type: 'application/xhtml+xml', source: 'both', text: true, html: true },
  { name: 'XHTML without a prolog served as text/xml; charset=utf-8', bytes: () => fixture('sniff/page-no-prolog.xhtml'), header: 'text/xml; charset=utf-8', option: 'normal', media_type: 'application/xhtml+xml', source: 'both', text: true, html: true },
  { name: '<html> root without a namespace served as application/xml', bytes: () => ascii('<html><head><title>t</title></head><body><p>x</p></body></html>'), header: 'application/xml', option: 'normal', media_type: 'application/xhtml+xml', source: 'both', text: true, html: true },
  { name: 'XHTML-namespace root that is not <html>, no prolog, served as application/xml', bytes: () => ascii('<page xmlns="http://www.w3.org/1999/xhtml"><p>x</p></page>'), header: 'application/xml', option: 'normal', media_type: 'application/xhtml+xml', source: 'both', text: true, html: true },
  { name: 'XML with a leading comment (sniffs as HTML) served as application/xml stays XML', bytes: () => ascii('<!-- export --><catalog><item/></catalog>'), header: 'application/xml', option: 'normal', media_type: 'application/xml', source: 'header', text: true, html: false },
  { name: 'XHTML without a prolog, no header (HTML is fine)', bytes: () => fixture('sniff/page-no-prolog.xhtml'), header: undefined, option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
  { name: '<!-- comment --> then a page', bytes: () => ascii('<!-- generated --><html><body>x</body></html>'), header: undefined, option: 'normal', media_type: 'text/html', source: 'sniffed', text: true, html: true },
];

describe('identifyContent × refusalReason: wrong and odd headers', () => {
  for (const c of WRONG_HEADER_CASES) {
    it(c.name, async () => {
      const info = await identifyContent(c.header, c.bytes(), c.option);
      assert.equal(info.media_type, c.media_type);
      assert.equal(info.source, c.source);
      assert.equal(refusalReason('text', info, c.option) === null, c.text, `text family: ${refusalReason('text', info, c.option)}`);
      assert.equal(refusalReason('html', info, c.option) === null, c.html, `html family: ${refusalReason('html', info, c.option)}`);
      assert.equal(refusalReason('any', info, c.option), null);
    });
  }
});

describe('identifyContent details', () => {
  it('reports the declared charset', async () => {
    const info = await identifyContent('text/html; charset=Shift_JIS', fixture('sniff/shift_jis-meta.html'), 'normal');
    assert.deepEqual(info, { media_type: 'text/html', source: 'both', charset: 'Shift_JIS', is_text: true });
  });

  it('looks only at the first SNIFF_WINDOW_BYTES bytes (limit)', async () => {
    assert.equal(SNIFF_WINDOW_BYTES, 4096);
    const text = ascii('x'.repeat(SNIFF_WINDOW_BYTES));
    const nuls = new Uint8Array(SNIFF_WINDOW_BYTES);
    assert.equal((await identifyContent(undefined, concat(text, nuls), 'normal')).media_type, 'text/plain');
    assert.equal((await identifyContent(undefined, concat(nuls, text), 'normal')).media_type, 'application/octet-stream');
  });

  it('finds %PDF- within the first 1024 bytes only (limit)', async () => {
    const pdf = fixture('encoding/simple.pdf');
    const junk = (n: number) => ascii('j'.repeat(n));
    assert.equal((await identifyContent('text/html', concat(junk(1000), pdf), 'normal')).media_type, 'application/pdf');
    // Past 1024 bytes the signature is not looked for; the PDF's binary stream bytes are outside the window too.
    const late = concat(junk(1100), ascii('%PDF-1.4 no binary here'));
    assert.equal((await identifyContent('text/html', late, 'normal')).media_type, 'text/html');
  });

  it('a stray NUL does not make text binary, but more than 5% binary bytes does (limit)', async () => {
    const body = (binaryBytes: number) => concat(ascii('a'.repeat(100 - binaryBytes)), new Uint8Array(binaryBytes));
    assert.equal((await identifyContent(undefined, body(5), 'normal')).media_type, 'text/plain');
    assert.equal((await identifyContent(undefined, body(6), 'normal')).media_type, 'application/octet-stream');
    assert.equal((await identifyContent('text/html', body(6), 'normal')).media_type, 'application/octet-stream');
  });

  it('the 5% binary-byte limit holds for a window that starts like HTML too (limit)', async () => {
    const page = (binaryBytes: number) => concat(ascii('<html><body>'), ascii('a'.repeat(88 - binaryBytes)), new Uint8Array(binaryBytes));
    assert.equal((await identifyContent(undefined, page(5), 'normal')).media_type, 'text/html');
    assert.equal((await identifyContent(undefined, page(6), 'normal')).media_type, 'application/octet-stream');
    assert.equal((await identifyContent('text/html', page(6), 'normal')).media_type, 'application/octet-stream');
  });

  it('finds %PDF- behind an HTML preamble within the first 1024 bytes only (limit)', async () => {
    const pdf = fixture('encoding/simple.pdf');
    const preamble = (n: number) => ascii(`<br />\n<b>Warning</b>: ${'w'.repeat(n - 30)}<br />\n`);
    assert.equal(preamble(1000).length, 1000);
    assert.equal((await identifyContent('text/html', concat(preamble(1019), pdf), 'normal')).media_type, 'application/pdf');
    // Starting at byte 1020, `%PDF-` ends past byte 1024: not looked for. The PDF's binary stream is
    // then past the 4 KiB window too, so what is left is the header's word.
    const late = concat(preamble(1020), ascii('%PDF-1.4\n1 0 obj\n<< >>\nendobj\n'));
    assert.equal((await identifyContent('text/html', late, 'normal')).media_type, 'text/html');
  });

  it('finds %!PS-Adobe- within the first 1024 bytes only (limit)', async () => {
    const postscript = ascii('%!PS-Adobe-3.0\n%%Creator: x\n');
    const junk = (n: number) => ascii(`${'j'.repeat(n - 1)}\n`);
    assert.equal((await identifyContent('text/plain', concat(junk(1013), postscript), 'normal')).media_type, 'application/postscript');
    assert.equal((await identifyContent('text/plain', concat(junk(1014), postscript), 'normal')).media_type, 'text/plain');
  });
});
