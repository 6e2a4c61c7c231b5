// The formats, labels and BOMs of issue #14's matrix: whether a version is text follows from its bytes alone.
import { readFileSync } from 'node:fs';
import { concat, fixture, randomBytes } from './helpers.ts';

export interface MatrixFormat {
  name: string;
  bytes: Uint8Array;
  /** What the bytes are: text (every diff type takes it) or binary (only the byte diffs do). */
  isText: boolean;
}

const pageHtml = readFileSync(new URL('../../fixtures/pages/00-tutorial_whatnow.a.html', import.meta.url));
const utf16Html = fixture('sniff/utf16le-bom.html').subarray(2); // its own BOM off: the BOM is a column of the matrix

/** A WOFF header (signature, TrueType flavour, length, table count) and font bytes after it. */
const woff = concat(Buffer.from('wOFF\x00\x01\x00\x00', 'latin1'), new Uint8Array([0, 0, 0x10, 0, 0, 4, 0, 0]), randomBytes(1024, 5));
/** An MP4 `ftyp` box, then a `moov` box of binary data. */
const mp4 = concat(new Uint8Array([0, 0, 0, 0x18]), Buffer.from('ftypmp42\x00\x00\x00\x00mp42isom', 'latin1'), new Uint8Array([0, 0, 4, 8]), Buffer.from('moov', 'latin1'), randomBytes(1024, 6));

export const FORMATS: readonly MatrixFormat[] = [
  { name: 'PDF', bytes: fixture('encoding/simple.pdf'), isText: false },
  { name: 'PNG', bytes: fixture('sniff/pixel.png'), isText: false },
  { name: 'GIF', bytes: fixture('sniff/pixel.gif'), isText: false },
  { name: 'ZIP', bytes: fixture('sniff/archive.zip'), isText: false },
  { name: 'gzip', bytes: fixture('sniff/page.html.gz'), isText: false },
  { name: 'WOFF', bytes: woff, isText: false },
  { name: 'MP4', bytes: mp4, isText: false },
  { name: 'random bytes', bytes: randomBytes(16 * 1024, 99), isText: false },
  { name: 'real HTML', bytes: new Uint8Array(pageHtml), isText: true },
  { name: 'real UTF-16 HTML', bytes: utf16Html, isText: true },
];

export const LABELS: ReadonlyArray<readonly [string, string | undefined]> = [
  ['none', undefined],
  ['text/html', 'text/html'],
  ['text/plain', 'text/plain'],
  ['charset=utf-16le', 'text/html; charset=utf-16le'],
  ['charset=utf-16be', 'text/html; charset=utf-16be'],
  ['charset=utf-8', 'text/html; charset=utf-8'],
];

export const BOMS: ReadonlyArray<readonly [string, Uint8Array]> = [
  ['no BOM', new Uint8Array(0)],
  ['UTF-8 BOM', new Uint8Array([0xef, 0xbb, 0xbf])],
  ['UTF-16LE BOM', new Uint8Array([0xff, 0xfe])],
  ['UTF-16BE BOM', new Uint8Array([0xfe, 0xff])],
];
