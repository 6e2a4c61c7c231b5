// PDF text as text_dmp reads it: layout (lines, paragraphs, pages) and the limits, in-process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDocument, expectedText, makeTextDocument, noTextPdf, textPdf } from '../../../fixtures/pdf/make-pdfs.ts';
import { extractPdfText, layoutPage, type TextItem } from '../../../src/diff/pdf-text/extract.ts';
import { TooLargeError, UndiffableContentError } from '../../../src/errors.ts';

const item = (str: string, y: number, options: { hasEOL?: boolean; size?: number; x?: number } = {}): TextItem => ({
  str,
  hasEOL: options.hasEOL ?? false,
  height: options.size ?? 10,
  transform: [options.size ?? 10, 0, 0, options.size ?? 10, options.x ?? 72, y],
});

describe('layoutPage', () => {
  it('joins the lines of a block with spaces, one paragraph per block, blank lines between them', () => {
    const items = [
      item('First line of a', 700, { hasEOL: true }),
      item('paragraph.', 688),
      // 30 units below the last line at size 10: a new block.
      item('Second', 658),
      item(' ', 658),
      item('block.', 658, { x: 120 }),
    ];
    assert.equal(layoutPage(items), 'First line of a paragraph.\n\nSecond block.');
  });

  it('starts a new block when text jumps up the page (a second column, a header drawn last)', () => {
    assert.equal(layoutPage([item('Column one', 200, { hasEOL: true }), item('Column two', 700)]), 'Column one\n\nColumn two');
  });

  it('collapses runs of white space and drops empty lines', () => {
    assert.equal(layoutPage([item('  spaced   out  ', 700, { hasEOL: true }), item('', 700, { hasEOL: true }), item('next', 688)]), 'spaced out next');
  });

  it('is empty for a page without text', () => {
    assert.equal(layoutPage([]), '');
  });
});

describe('extractPdfText', () => {
  it('gives the text of every page, pages separated by a form feed on its own line', async () => {
    const document = makeTextDocument(3, 9);
    const { text, pages } = await extractPdfText(textPdf(document), { maxPages: 500, maxChars: 1e6 }, 'a');
    assert.equal(pages, 3);
    assert.equal(text, expectedText(document));
    assert.equal(text.split('\n\f\n').length, 3);
    assert.match(text, /^Section 1: /);
  });

  it('reads an edited copy as the same document with its edits', async () => {
    const document = makeTextDocument(4, 9);
    const { text } = await extractPdfText(textPdf(editDocument(document, 2)), { maxPages: 500, maxChars: 1e6 }, 'b');
    assert.equal(text, expectedText(editDocument(document, 2)));
    assert.equal(text.match(/REVISED/g)?.length, 2);
  });

  it('is empty for a PDF without a text layer', async () => {
    assert.deepEqual(await extractPdfText(noTextPdf(), { maxPages: 500, maxChars: 1e6 }, 'a'), { text: '', pages: 1 });
  });

  it('MAX_PDF_PAGES: exactly the limit passes, one more is refused before reading', async () => {
    const document = makeTextDocument(3, 9);
    assert.equal((await extractPdfText(textPdf(document), { maxPages: 3, maxChars: 1e6 }, 'a')).pages, 3);
    await assert.rejects(
      extractPdfText(textPdf(document), { maxPages: 2, maxChars: 1e6 }, 'b'),
      (err: unknown) => err instanceof TooLargeError && err.details.limit === 'pdf_pages' && err.details.pages === 3 && err.details.max_pages === 2 && err.details.side === 'b',
    );
  });

  it('MAX_TEXT_CHARS: a text of exactly the limit passes, one character less is refused', async () => {
    const document = makeTextDocument(3, 9);
    const length = expectedText(document).length;
    assert.equal((await extractPdfText(textPdf(document), { maxPages: 500, maxChars: length }, 'a')).text.length, length);
    await assert.rejects(
      extractPdfText(textPdf(document), { maxPages: 500, maxChars: length - 1 }, 'a'),
      (err: unknown) => err instanceof TooLargeError && err.details.limit === 'text_chars' && err.details.max_chars === length - 1,
    );
  });

  it('refuses bytes that are not a PDF with 422', async () => {
    await assert.rejects(
      extractPdfText(new TextEncoder().encode('<html>not a pdf</html>'), { maxPages: 500, maxChars: 1e6 }, 'a'),
      (err: unknown) => err instanceof UndiffableContentError && err.details.reason === 'unreadable_pdf' && /`a` is not a readable PDF/.test(err.message),
    );
  });
});
