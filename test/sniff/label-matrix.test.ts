// Issue #14's matrix on the identification function, the whole product: format × label × BOM × every diff type.
// The answer (accepted or refused) follows from what the bytes are, never from the label or BOM; text that is
// accepted also decodes (no UNDECODABLE_CONTENT), so the service answers 200. Over HTTP (GET, multipart, JSON) a
// representative slice runs in test/http/guard.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffTypes } from '../../src/diff/index.ts';
import { decodeVersion, identifyContent, refusalReason } from '../../src/sniff/index.ts';
import { concat } from './helpers.ts';
import { BOMS, FORMATS, LABELS } from './label-matrix.helpers.ts';

describe('the guard cannot be talked out of what the bytes are (format × label × BOM × diff type)', () => {
  for (const format of FORMATS) {
    it(`${format.name}: ${format.isText ? 'text under every label and BOM' : format.name === 'PDF' ? 'a PDF under every label and BOM: refused by every text diff type, read only by those that read PDFs' : 'refused by every text diff type under every label and BOM'}`, async () => {
      const wrong: string[] = [];
      for (const [labelName, contentType] of LABELS) {
        for (const [bomName, bom] of BOMS) {
          const bytes = concat(bom, format.bytes);
          const info = await identifyContent(contentType, bytes, 'normal');
          for (const [diffType, definition] of diffTypes) {
            const refused = refusalReason(definition.accepts, info, 'normal') !== null;
            // Diff types that read PDFs (text_dmp, side_by_side_text) take a PDF, but only as a PDF:
            // whatever the label or BOM, it must have been identified as application/pdf.
            const readsPdf = definition.accepts === 'document' || definition.accepts === 'html_or_pdf';
            const expected = definition.accepts !== 'any' && !format.isText && !(format.name === 'PDF' && readsPdf);
            if (refused !== expected) wrong.push(`${diffType}, ${labelName}, ${bomName}: ${refused ? 'refused' : 'accepted'} as ${info.media_type} (${info.source})`);
            if (format.name === 'PDF' && info.media_type !== 'application/pdf') wrong.push(`${labelName}, ${bomName}: identified as ${info.media_type}, not a PDF`);
          }
          if (format.isText) {
            try {
              decodeVersion(bytes, { contentType, ignoreDecodingErrors: false });
            } catch (err) {
              wrong.push(`${labelName}, ${bomName}: does not decode (${(err as Error).message})`);
            }
          }
        }
      }
      assert.deepEqual(wrong, []);
    });
  }

  it('UTF-16 text decodes as UTF-16 under any label, and keeps its words', () => {
    const utf16 = FORMATS.find((f) => f.name === 'real UTF-16 HTML')!.bytes;
    for (const [, contentType] of LABELS) {
      for (const [bomName, bom] of BOMS.filter(([name]) => name !== 'UTF-16BE BOM')) {
        const decoded = decodeVersion(concat(bom, utf16), { contentType, ignoreDecodingErrors: false });
        assert.equal(decoded.encoding, 'utf-16le', `${contentType}, ${bomName}`);
        assert.match(decoded.text, /Café ☕/, `${contentType}, ${bomName}`);
      }
    }
  });

  it('a UTF-16 label on ASCII-compatible text is ignored, like an unknown label', () => {
    const html = FORMATS.find((f) => f.name === 'real HTML')!.bytes;
    assert.equal(decodeVersion(html, { contentType: 'text/html; charset=utf-16le', ignoreDecodingErrors: false }).encoding, 'utf-8');
  });

  it('3 MB of random or gzip bytes labelled UTF-16 are binary from the first 4 KiB', async () => {
    for (const format of FORMATS.filter((f) => f.name === 'random bytes' || f.name === 'gzip')) {
      for (const contentType of ['text/html; charset=utf-16le', 'text/plain; charset=utf-16be']) {
        const info = await identifyContent(contentType, format.bytes.subarray(0, 4096), 'normal');
        assert.equal(info.is_text, false, `${format.name}, ${contentType}`);
      }
    }
  });
});
