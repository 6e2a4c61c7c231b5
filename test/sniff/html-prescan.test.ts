import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { charsetFromMetaContent, prescanForEncoding, PRESCAN_BYTES } from '../../src/sniff/html-prescan.ts';
import { resolveEncodingLabel } from '../../src/sniff/encoding-labels.ts';
import { ascii } from './helpers.ts';

const prescan = (html: string) => prescanForEncoding(ascii(html), resolveEncodingLabel);

const CASES: Array<[string, string, string | null]> = [
  ['meta charset, quoted', '<head><meta charset="Shift_JIS"><title>x</title>', 'shift_jis'],
  ['meta charset, unquoted', '<meta charset=euc-jp>', 'euc-jp'],
  ['meta charset, upper case', '<META CHARSET="GB2312">', 'gbk'],
  ['self-closing meta', '<meta charset="windows-1251"/>', 'windows-1251'],
  ['http-equiv + content', '<meta http-equiv="Content-Type" content="text/html; charset=gbk">', 'gbk'],
  ['content before http-equiv, single-quoted charset', `<meta content="text/html; charset='koi8-r'" http-equiv="content-type">`, 'koi8-r'],
  ['content without http-equiv needs the pragma', '<meta content="text/html; charset=gbk">', null],
  ['inside a comment is ignored', '<!-- <meta charset="gbk"> --><meta charset="euc-kr">', 'euc-kr'],
  ['inside an attribute value is ignored', '<div title="<meta charset=gbk>"><meta charset="euc-jp">', 'euc-jp'],
  ['unknown label falls through to the next meta', '<meta charset="bogus"><meta charset="big5">', 'big5'],
  ['utf-16 in meta means utf-8', '<meta charset="utf-16le">', 'utf-8'],
  ['x-user-defined means windows-1252', '<meta charset="x-user-defined">', 'windows-1252'],
  ['iso-8559-1 typo', '<meta charset="iso-8559-1">', 'windows-1252'],
  ['not a meta element', '<metal charset="gbk"><meta-data charset="gbk">', null],
  ['doctype and processing instruction skipped', '<!DOCTYPE html><?php echo 1 ?><meta charset="shift_jis">', 'shift_jis'],
  ['duplicate attribute: first wins', '<meta charset="gbk" charset="euc-jp">', 'gbk'],
  ['unterminated attribute value', '<meta charset="gbk', null],
  ['a tag the bytes end inside is not read (the prescan aborts)', '<meta charset="gbk"', null],
  ['… even with an unquoted value and a trailing space', '<meta charset=gbk ', null],
  // WHATWG: `content` only sets a still-null charset; `charset` always sets it (whatever came first).
  ['charset attribute after content wins', '<meta http-equiv="Content-Type" content="text/html; charset=big5" charset="shift_jis">', 'shift_jis'],
  ['charset attribute before content wins', '<meta charset="shift_jis" http-equiv="Content-Type" content="text/html; charset=big5">', 'shift_jis'],
  ['an unknown charset label is a failure, not "no charset yet": content cannot fill it in', '<meta charset="bogus" http-equiv="Content-Type" content="text/html; charset=big5"><meta charset="euc-kr">', 'euc-kr'],
  ['an unknown label in content leaves charset null for a later charset attribute', '<meta http-equiv="Content-Type" content="text/html; charset=bogus" charset="gbk">', 'gbk'],
  ['no meta at all', '<html><body><p>hello</p></body></html>', null],
  ['empty input', '', null],
];

describe('HTML prescan for <meta> encodings', () => {
  for (const [name, html, expected] of CASES) {
    it(name, () => assert.equal(prescan(html), expected));
  }

  it('looks at the first 1024 bytes only (limit)', () => {
    const meta = '<meta charset="shift_jis">';
    assert.equal(prescan(' '.repeat(PRESCAN_BYTES - meta.length) + meta), 'shift_jis');
    assert.equal(prescan(' '.repeat(PRESCAN_BYTES) + meta), null);
  });

  it('ignores a <meta> that starts before byte 1024 but ends after it (the standard aborts at the end condition)', () => {
    const meta = '<meta charset="shift_jis">';
    // Only the closing '>' is past the limit: the attribute is complete, the tag is not.
    assert.equal(prescan(' '.repeat(PRESCAN_BYTES - meta.length + 1) + meta), null);
  });
});

describe('charset in a meta content attribute', () => {
  const CONTENT: Array<[string, string | null]> = [
    ['text/html; charset=utf-8', 'utf-8'],
    ['text/html;charset = "gbk"', 'gbk'],
    ['text/html; charset', null],
    ['text/html; charsetX; charset=big5', 'big5'],
    ["charset='unterminated", null],
  ];
  for (const [content, expected] of CONTENT) {
    it(JSON.stringify(content), () => assert.equal(charsetFromMetaContent(content), expected));
  }
});
