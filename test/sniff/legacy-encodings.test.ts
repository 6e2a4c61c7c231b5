// One page per supported legacy encoding (fixtures/encoding/legacy, generated from real prose by generate.ts):
// detected and decoded right with no charset anywhere, and still right under a charset a browser would ignore.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeVersion } from '../../src/sniff/index.ts';
import { page } from '../../fixtures/encoding/legacy/generate.ts';
import { concat, fixture } from './helpers.ts';

const texts = JSON.parse(readFileSync(new URL('../../fixtures/encoding/legacy/texts.json', import.meta.url), 'utf8')) as Record<string, { lang: string; title: string; text: string }>;
/** Encodings that decode these pages to the same text (the Encoding Standard decodes gbk and gb18030 alike). */
const SAME_TEXT: Record<string, string[]> = { gb18030: ['gbk'], 'iso-8859-7': ['windows-1253'], 'windows-1255': ['iso-8859-8'] };

describe('legacy encodings, detected like a browser would', () => {
  for (const [encoding, sample] of Object.entries(texts)) {
    const bytes = fixture(`encoding/legacy/${encoding}.html`);
    const expected = page(sample).normalize('NFC');
    const check = (contentType: string | undefined, body = bytes) => {
      const decoded = decodeVersion(body, { contentType, ignoreDecodingErrors: false });
      assert.ok([encoding, ...(SAME_TEXT[encoding] ?? [])].includes(decoded.encoding!), `${contentType}: detected ${decoded.encoding}`);
      assert.equal(decoded.text.normalize('NFC'), expected, `${contentType}: text`);
    };
    it(`${encoding}: no charset anywhere`, () => check(undefined));
    it(`${encoding}: a charset label browsers do not know (ignored)`, () => check('text/html; charset=unknown-8bit'));
    it(`${encoding}: a UTF-16 label on ASCII-compatible bytes (ignored)`, () => check('text/html; charset=utf-16le'));
    it(`${encoding}: an unknown header label and a <meta> that agrees with the bytes`, () => {
      const withMeta = concat(Buffer.from(`<meta charset="${encoding}">`, 'latin1'), bytes);
      const decoded = decodeVersion(withMeta, { contentType: 'text/html; charset=x-unknown', ignoreDecodingErrors: false });
      assert.equal(decoded.text.normalize('NFC'), `<meta charset="${encoding}">${expected}`);
    });
  }
  it('a UTF-8 BOM beats a wrong legacy header', () => {
    const decoded = decodeVersion(concat(new Uint8Array([0xef, 0xbb, 0xbf]), Buffer.from('Привет, мир', 'utf8')), { contentType: 'text/plain; charset=windows-1251', ignoreDecodingErrors: false });
    assert.deepEqual(decoded, { text: 'Привет, мир', encoding: 'utf-8' });
  });
});
