import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody, decodeVersion } from '../../src/sniff/index.ts';
import { chooseEncoding } from '../../src/sniff/decode.ts';
import { resolveEncodingLabel } from '../../src/sniff/encoding-labels.ts';
import { DETECTION_SAMPLE_BYTES } from '../../src/sniff/charset-detect.ts';
import { UndecodableContentError } from '../../src/errors.ts';
import { ascii, concat, fixture, randomBytes } from './helpers.ts';

const decode = (bytes: Uint8Array, contentType?: string) =>
  decodeBody(bytes, contentType === undefined ? { ignoreDecodingErrors: false } : { contentType, ignoreDecodingErrors: false });

const countFFFD = (text: string) => text.split('\uFFFD').length - 1;

/** [name, bytes, Content-Type, encoding chosen, strings the text must contain, strings it must not contain] */
const DECODE_CASES: Array<[string, () => Uint8Array, string | undefined, string, string[], string[]]> = [
  ['UTF-16LE with BOM', () => fixture('sniff/utf16le-bom.html'), undefined, 'utf-16le', ['<!DOCTYPE html>', 'Café ☕', 'Grüße – “quoted” 日本語'], ['\uFEFF', '\uFFFD']],
  ['UTF-16BE with BOM', () => fixture('sniff/utf16be-bom.html'), 'text/html', 'utf-16be', ['Café ☕', '日本語'], ['\uFEFF', '\uFFFD']],
  ['BOM beats the declared charset', () => fixture('sniff/utf16le-bom.html'), 'text/html; charset=windows-1252', 'utf-16le', ['Café ☕'], []],
  ['Shift_JIS declared only in <meta>', () => fixture('sniff/shift_jis-meta.html'), 'text/html', 'shift_jis', ['日本語のページ', 'こんにちは、世界。', '東京都'], ['\uFFFD']],
  ['windows-1252 declared only in <meta http-equiv>', () => fixture('sniff/windows-1252-meta.html'), 'text/html', 'windows-1252', ['3 €', '“très”', 'café', 'coûte', '…'], ['\uFFFD']],
  ['declared charset beats <meta>', () => fixture('sniff/shift_jis-meta.html'), 'text/html; charset=utf-8', 'utf-8', [], ['こんにちは']],
  ['unknown declared label falls through to <meta>', () => fixture('sniff/shift_jis-meta.html'), 'text/html; charset=who-knows-what', 'shift_jis', ['こんにちは'], []],
  ['typo iso-8559-1 in the header', () => ascii('3 \x80 caf\xe9'), 'text/plain; charset=iso-8559-1', 'windows-1252', ['3 € café'], []],
  ['typo iso-8559-1 in <meta>', () => fixture('sniff/meta-typo-label.html'), undefined, 'windows-1252', ['Ça va? 3 €'], []],
  ['latin1 means windows-1252', () => ascii('\x93quoted\x94'), 'text/plain; charset=latin1', 'windows-1252', ['“quoted”'], []],
  ['us-ascii means windows-1252', () => ascii('\x80'), 'text/plain; charset=us-ascii', 'windows-1252', ['€'], []],
  ['unknown label in <meta> falls through (unknown_encoding.html)', () => fixture('encoding/unknown_encoding.html'), 'text/html', 'utf-8', ['NWS Level II Radar Receive Status'], ['\uFFFD']],
  ['XML prolog encoding (no header)', () => fixture('sniff/xml-prolog-latin1.xml'), undefined, 'windows-1252', ['Zoë', 'Déjà vu'], ['\uFFFD']],
  ['XML prolog encoding (application/xml)', () => fixture('sniff/xml-prolog-latin1.xml'), 'application/xml', 'windows-1252', ['Zoë'], []],
  ['XML media types ignore <meta>', () => concat(ascii('<html xmlns="http://www.w3.org/1999/xhtml"><head><meta charset="windows-1252"/></head><body>'), new TextEncoder().encode('Grüße</body></html>')), 'application/xhtml+xml', 'utf-8', ['Grüße'], []],
  ['XML prolog claiming UTF-16 in ASCII bytes means UTF-8', () => new TextEncoder().encode('<?xml version="1.0" encoding="UTF-16"?><a>Zoë</a>'), 'text/xml', 'utf-8', ['<a>Zoë</a>'], []],
  ['BOM-less UTF-16LE XML prolog', () => new Uint8Array(Buffer.from('<?xml version="1.0"?><a>Zoë</a>', 'utf16le')), 'text/xml', 'utf-16le', ['<a>Zoë</a>'], []],
  ['statistics: EUC-JP declared nowhere', () => fixture('sniff/euc-jp-undeclared.html'), undefined, 'euc-jp', ['こんにちは、世界。', '東京都の天気'], ['\uFFFD']],
  ['statistics: Shift_JIS declared nowhere', () => fixture('sniff/shift_jis-undeclared.txt'), 'text/plain', 'shift_jis', ['こんにちは、世界。'], ['\uFFFD']],
  ['statistics: GBK declared nowhere', () => fixture('sniff/gbk-undeclared.html'), undefined, 'gbk', ['你好，世界。', '北京'], ['\uFFFD']],
  ['statistics: windows-1252 declared nowhere', () => fixture('sniff/windows-1252-undeclared.html'), undefined, 'windows-1252', ['café', '3 €', 'l’été', 'façade'], ['\uFFFD']],
  ['statistics: damaged UTF-8 stays UTF-8', () => fixture('encoding/poorly_encoded_utf8.txt'), undefined, 'utf-8', ['"\u03BA\u1F79\u03C3\u03BC\u03B5"', '\uFFFD'], []],
  ['poorly encoded UTF-8 labelled utf-8', () => fixture('encoding/poorly_encoded_utf8.txt'), 'text/plain; charset=utf-8', 'utf-8', ['"\u03BA\u1F79\u03C3\u03BC\u03B5"', '\uFFFD'], []],
  ['ASCII defaults to UTF-8', () => fixture('examples/add-list.before'), undefined, 'utf-8', [], ['\uFFFD']],
  ['real page, charset in <meta>', () => fixture('real-versions/f2d5d701-707a-42e0-8881-653346d01e0a'), 'text/html', 'utf-8', ['Ελλην'], ['\uFFFD']],
  ['NUL bytes become U+FFFD', () => fixture('encoding/has_null_byte.txt'), 'text/plain', 'utf-8', ['blah blah \uFFFD null! blah blah'], ['\0']],
];

describe('decodeBody: encoding choice and text', () => {
  for (const [name, bytes, contentType, encoding, contains, excludes] of DECODE_CASES) {
    it(name, () => {
      const body = bytes();
      assert.equal(chooseEncoding(body, contentType), encoding);
      const text = decode(body, contentType);
      for (const s of contains) assert.ok(text.includes(s), `expected ${JSON.stringify(s)} in ${JSON.stringify(text.slice(0, 200))}`);
      for (const s of excludes) assert.ok(!text.includes(s), `did not expect ${JSON.stringify(s)}`);
    });
  }

  it('decodeVersion reports the encoding it used', () => {
    assert.equal(decodeVersion(fixture('sniff/shift_jis-meta.html'), { contentType: 'text/html', ignoreDecodingErrors: false }).encoding, 'shift_jis');
    assert.deepEqual(decodeVersion(ascii('caf\xe9'), { contentType: 'text/plain; charset=latin1', ignoreDecodingErrors: false }), { text: 'café', encoding: 'windows-1252' });
    assert.deepEqual(decodeVersion(new Uint8Array(0), { contentType: 'text/html; charset=gbk', ignoreDecodingErrors: false }), { text: '' });
  });

  it('an empty body is valid text', () => {
    assert.equal(decode(fixture('encoding/empty.txt')), '');
    assert.equal(decode(new Uint8Array(0), 'text/html; charset=utf-8'), '');
  });

  it('a long UTF-8 page with a few broken sequences deep in it stays UTF-8 (damaged UTF-8, counted where the text is)', () => {
    // 20 KiB of ASCII head first, then Greek and Russian prose with one sequence in 30 cut short.
    const prose = Buffer.from('<p>Ελληνικά κείμενα και русский текст о городе.</p>\n'.repeat(200), 'utf8');
    for (let i = 40; i < prose.length; i += 30 * 2 + 7) if (prose[i]! >= 0xc0) prose[i + 1] = 0x20;
    const page = concat(ascii(`<html><head><script>${'var x = 1;\n'.repeat(1800)}</script></head><body>`), prose);
    assert.equal(chooseEncoding(page, 'text/html'), 'utf-8');
  });

  it('poorly encoded UTF-8 keeps its replacement characters under the 25% limit', () => {
    const text = decode(fixture('encoding/poorly_encoded_utf8.txt'), 'text/plain; charset=utf-8');
    const share = countFFFD(text) / text.length;
    assert.ok(share > 0 && share < 0.25, `share ${share}`);
  });
});

describe('decodeBody: binary posing as text (the 25% U+FFFD limit)', () => {
  const random = randomBytes(8 * 1024 * 1024);

  it('8 MiB of random bytes labelled text/html → UndecodableContentError', () => {
    assert.throws(() => decode(random, 'text/html'), (err: unknown) => {
      assert.ok(err instanceof UndecodableContentError);
      assert.equal(err.type, 'UNDECODABLE_CONTENT');
      assert.equal(err.details['encoding'], 'utf-8');
      return true;
    });
  });

  it('names the side that failed, in the message and the details', () => {
    assert.throws(() => decodeBody(concat(ascii('abcdefgh'), new Uint8Array(8)), { contentType: 'text/plain; charset=windows-1252', ignoreDecodingErrors: false, side: 'b' }), (err: unknown) => {
      assert.ok(err instanceof UndecodableContentError);
      assert.match(err.message, /^`b` is mostly undecodable as windows-1252 \(50% of its characters are replacement characters\)/);
      assert.deepEqual(err.details, { side: 'b', encoding: 'windows-1252', replacement_characters: 8, characters: 16 });
      return true;
    });
    assert.throws(() => decodeBody(random.subarray(0, 4096), { contentType: 'text/html', ignoreDecodingErrors: false, side: 'a' }), { message: /^`a` is mostly undecodable as utf-8/ });
  });

  it('… unless ignoreDecodingErrors', () => {
    const text = decodeBody(random, { contentType: 'text/html', ignoreDecodingErrors: true });
    assert.ok(countFFFD(text) > text.length / 4);
  });

  it('random bytes with no header are not mistaken for a legacy single-byte encoding', () => {
    assert.throws(() => decode(random.subarray(0, 100_000)), UndecodableContentError);
  });

  it('exactly 25% passes, more fails (limit)', () => {
    assert.equal(decode(ascii('abc\xff'), 'text/plain; charset=utf-8'), 'abc\uFFFD');
    assert.throws(() => decode(ascii('ab\xff\xff'), 'text/plain; charset=utf-8'), UndecodableContentError);
  });

  it('NULs count as replacement characters', () => {
    assert.throws(() => decode(new Uint8Array(64), 'text/plain'), UndecodableContentError);
    assert.equal(decodeBody(new Uint8Array(2), { ignoreDecodingErrors: true }), '\uFFFD\uFFFD');
  });
});

describe('encoding labels', () => {
  const LABELS: Array<[string, string | null]> = [
    ['utf-8', 'utf-8'],
    [' UTF8 ', 'utf-8'],
    ['iso-8859-1', 'windows-1252'],
    ['ISO-8559-1', 'windows-1252'],
    ['latin1', 'windows-1252'],
    ['ascii', 'windows-1252'],
    ['Shift_JIS', 'shift_jis'],
    ['x-sjis', 'shift_jis'],
    ['gb2312', 'gbk'],
    ['iso-2022-kr', null], // the "replacement" encoding: treated as unknown
    ['who-knows-what-i-am', null],
    ['', null],
  ];
  for (const [label, name] of LABELS) {
    it(`${JSON.stringify(label)} → ${name}`, () => assert.equal(resolveEncodingLabel(label), name));
  }
});

describe('statistical detector is bounded to the first 64 KiB (limit)', () => {
  const sjis = fixture('sniff/shift_jis-undeclared.txt');

  it('Shift_JIS within the first 64 KiB is detected', () => {
    const body = concat(ascii('a'.repeat(DETECTION_SAMPLE_BYTES - sjis.length - 10)), sjis);
    assert.equal(chooseEncoding(body, undefined), 'shift_jis');
  });

  it('Shift_JIS after the first 64 KiB is not looked at', () => {
    const body = concat(ascii('a'.repeat(DETECTION_SAMPLE_BYTES)), sjis);
    assert.equal(chooseEncoding(body, undefined), 'utf-8');
  });
});
