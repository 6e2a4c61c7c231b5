// text_dmp and side_by_side_text on PDFs through the real service (worker processes with the
// default limits), and every hostile PDF answered with a clear error or a correct result while
// the service and other jobs carry on.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  cyclicPdf,
  decompressionBombPdf,
  deeplyNestedPdf,
  editDocument,
  encryptedPdf,
  expectedText,
  javascriptPdf,
  lyingXrefPdf,
  makeTextDocument,
  manyPagesPdf,
  noTextPdf,
  textPdf,
  truncated,
  withJunkPrefix,
} from '../../../fixtures/pdf/make-pdfs.ts';
import type { DiffSegment } from '../../../src/diff/types.ts';
import { json, startTestService, type TestService } from '../../helpers/service.ts';

/** The production defaults for worker limits (the test helper's are smaller). */
const DEFAULT_WORKER_LIMITS = { WORKERS: '2', MAX_QUEUED_JOBS: '4', JOB_CPU_LIMIT_MS: '10000', WORKER_HEAP_MIB: '160', WORKER_RSS_LIMIT_MIB: '256' };

interface Version {
  bytes: Uint8Array | string;
  type: string;
}

const pdfVersion = (bytes: Uint8Array): Version => ({ bytes, type: 'application/pdf' });
const html = (text: string): Version => ({ bytes: text, type: 'text/html; charset=utf-8' });

function rebuild(segments: readonly DiffSegment[]): { a: string; b: string } {
  return {
    a: segments.filter(([op]) => op !== 1).map(([, text]) => text).join(''),
    b: segments.filter(([op]) => op !== -1).map(([, text]) => text).join(''),
  };
}

describe('PDF text through the service', () => {
  let service: TestService;
  const ten = makeTextDocument(10, 3);
  const tenEdited = editDocument(ten, 3);

  before(async () => {
    service = await startTestService(DEFAULT_WORKER_LIMITS);
  });
  after(async () => {
    await service.close();
  });

  /** POSTs both versions as multipart (each part with its own Content-Type). */
  const post = (type: string, a: Version, b: Version, params = '') => {
    const form = new FormData();
    form.append('a', new Blob([typeof a.bytes === 'string' ? a.bytes : Buffer.from(a.bytes)], { type: a.type }), 'a');
    form.append('b', new Blob([typeof b.bytes === 'string' ? b.bytes : Buffer.from(b.bytes)], { type: b.type }), 'b');
    return service.get(`/${type}${params}`, { method: 'POST', body: form });
  };

  /** A normal diff still answers correctly (the service and its workers carry on). */
  const assertStillServing = async () => {
    const res = await post('text_dmp', pdfVersion(textPdf(ten)), pdfVersion(textPdf(tenEdited)));
    assert.equal(res.status, 200);
    assert.equal((await json(res)).change_count > 0, true);
    assert.equal((await service.get('/healthz')).status, 200);
  };

  it('lists text_dmp in GET /', async () => {
    const body = await json(await service.get('/'));
    assert.ok(body.diff_types.includes('text_dmp'));
  });

  it('diffs two editions of a PDF: the texts are what the pages say, with page counts', async () => {
    const res = await post('text_dmp', pdfVersion(textPdf(ten)), pdfVersion(textPdf(tenEdited)));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.type, 'text_dmp');
    assert.deepEqual(body.pages, { a: 10, b: 10 });
    assert.equal(body.warnings, undefined);
    assert.deepEqual(rebuild(body.diff), { a: expectedText(ten), b: expectedText(tenEdited) });
    // One word changed on pages 1, 4, 7 and 10: a deletion and an insertion each.
    assert.equal(body.change_count, 8);
    assert.equal(body.a_content_type.media_type, 'application/pdf');
    assert.equal(body.a_content_type.encoding, undefined, 'a PDF is not decoded as text');
  });

  it('takes the html_text_dmp options (granularity, context)', async () => {
    const res = await post('text_dmp', pdfVersion(textPdf(ten)), pdfVersion(textPdf(tenEdited)), '?granularity=word&context=2');
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.granularity, 'word');
    assert.equal(body.context, 2);
    assert.equal(body.change_count, 8);
    assert.ok(body.diff.filter(([op]: DiffSegment) => op !== 0).every(([, text]: DiffSegment) => /^\S+$/.test(text)), JSON.stringify(body.diff));
  });

  it('diffs an HTML page against the PDF it became, and plain text against a PDF', async () => {
    const one = makeTextDocument(1, 5);
    const page = one.pages[0]!.map((lines) => `<p>${lines.join('\n')}</p>`).join('\n');
    const res = await post('text_dmp', html(`<!doctype html><title>Report</title><body>${page}</body>`), pdfVersion(textPdf(one)));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(body.pages, { b: 1 });
    assert.equal(rebuild(body.diff).b, expectedText(one));

    const plain = { bytes: 'Section 1 <not markup>\n\nsecond paragraph', type: 'text/plain' };
    const fromText = await json(await post('text_dmp', plain, pdfVersion(textPdf(one))));
    assert.equal(rebuild(fromText.diff).a, 'Section 1 <not markup>\n\nsecond paragraph', 'text/plain is diffed as it is');
  });

  it('reads a real 41-page manual (R Data Import/Export, from Debian’s r-doc-pdf)', async () => {
    const manual = readFileSync(new URL('../../../fixtures/pdf/real/R-data.pdf', import.meta.url));
    const same = await json(await post('text_dmp', pdfVersion(manual), pdfVersion(manual)));
    assert.equal(same.change_count, 0);
    assert.deepEqual(same.pages, { a: 41, b: 41 });
    const side = await json(await post('side_by_side_text', pdfVersion(manual), html('<p>R Data Import/Export</p>')));
    assert.match(side.diff.a_text, /^R Data Import\/Export Version 4\.2\.2/);
    assert.equal(side.diff.a_text.split('\n\f\n').length, 41);
    assert.ok(side.diff.a_text.includes('Permission is granted to make and distribute verbatim copies of this manual'));
  });

  it('side_by_side_text gives a PDF’s text next to an HTML page’s', async () => {
    const res = await post('side_by_side_text', pdfVersion(textPdf(ten)), html('<p>Now a web page</p>'));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(body.diff, { a_text: expectedText(ten), b_text: 'Now a web page' });
    assert.deepEqual(body.pages, { a: 10 });
  });

  it('every other diff type keeps refusing PDFs', async () => {
    for (const type of ['html_text_dmp', 'html_source_dmp', 'html_token', 'links', 'links_json']) {
      const res = await post(type, pdfVersion(textPdf(ten)), html('<p>x</p>'));
      assert.equal(res.status, 422, type);
      const body = await json(res);
      assert.equal(body.type, 'UNDIFFABLE_CONTENT', type);
      assert.match(body.error, /`a` is application\/pdf/, type);
    }
  });

  it('refuses what text_dmp cannot read (an image) with 422', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const res = await post('text_dmp', { bytes: png, type: 'image/png' }, pdfVersion(textPdf(ten)));
    assert.equal(res.status, 422);
    assert.match((await json(res)).error, /text_dmp diffs HTML, XHTML, text\/\* or PDF only/);
  });

  it('answers a PDF without text (a scan) with empty text and a warning', async () => {
    const res = await post('text_dmp', pdfVersion(noTextPdf()), pdfVersion(textPdf(ten)));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(body.warnings, ['no extractable text on side a']);
    assert.equal(rebuild(body.diff).a, '');
    assert.deepEqual(body.pages, { a: 1, b: 10 });
  });

  it('refuses an encrypted PDF with 422 saying it needs a password', async () => {
    const res = await post('text_dmp', pdfVersion(textPdf(ten)), pdfVersion(encryptedPdf(ten)));
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDIFFABLE_CONTENT');
    assert.equal(body.reason, 'encrypted_pdf');
    assert.equal(body.side, 'b');
    assert.match(body.error, /`b` is an encrypted PDF that needs a password/);
  });

  describe('hostile PDFs', () => {
    it('a decompression bomb in a content stream (512 MiB of spaces from 0.5 MB) is stopped, while another job carries on', async () => {
      const bomb = await decompressionBombPdf(512 * 1024 * 1024);
      const [bombed] = await Promise.all([post('text_dmp', pdfVersion(bomb), pdfVersion(textPdf(ten))), assertStillServing()]);
      const body = await json(bombed);
      assert.equal(bombed.status, 422, JSON.stringify(body));
      assert.equal(body.type, 'LIMIT_EXCEEDED');
      assert.equal(body.limit, 'memory');
      await assertStillServing();
    });

    it('arrays and dictionaries nested 100 000 deep: a clear 422', async () => {
      const res = await post('text_dmp', pdfVersion(deeplyNestedPdf(100_000)), pdfVersion(textPdf(ten)));
      const body = await json(res);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(body.type, 'UNDIFFABLE_CONTENT');
      assert.match(body.error, /`a` is not a readable PDF/);
      await assertStillServing();
    });

    it('cyclic object references (a page tree that leads back to its root, a loop of references): a clear 422', async () => {
      const res = await post('text_dmp', pdfVersion(cyclicPdf()), pdfVersion(textPdf(ten)));
      const body = await json(res);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.match(body.error, /`a` is not a readable PDF \(.*circular/);
      await assertStillServing();
    });

    it('a balanced page tree of 100 000 pages: 413 naming the page limit', async () => {
      const res = await post('text_dmp', pdfVersion(textPdf(ten)), pdfVersion(manyPagesPdf(100_000, { fanOut: 50 })));
      const body = await json(res);
      assert.equal(res.status, 413, JSON.stringify(body));
      assert.equal(body.type, 'TOO_LARGE');
      assert.equal(body.limit, 'pdf_pages');
      assert.equal(body.pages, 100_000);
      assert.equal(body.max_pages, 500);
      assert.equal(body.side, 'b');
      assert.match(body.error, /`b` is a PDF of 100000 pages; at most 500 are read \(MAX_PDF_PAGES\)/);
    });

    it('a flat page tree of 100 000 pages: 413 naming the page limit, or a memory stop', async () => {
      const res = await post('text_dmp', pdfVersion(textPdf(ten)), pdfVersion(manyPagesPdf(100_000)));
      const body = await json(res);
      // pdf.js walks a flat /Kids array of the whole tree before it reports the page count; that
      // walk may pass the worker's memory limit first (see README, text_dmp limits).
      if (res.status === 413) {
        assert.equal(body.limit, 'pdf_pages');
        assert.equal(body.pages, 100_000);
        assert.equal(body.max_pages, 500);
        assert.equal(body.side, 'b');
      } else {
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.equal(body.limit, 'memory');
      }
      await assertStillServing();
    });

    it('an xref table pointing everywhere: pdf.js rebuilds it, and the text is right', async () => {
      const res = await post('text_dmp', pdfVersion(lyingXrefPdf(ten)), pdfVersion(textPdf(ten)));
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.change_count, 0);
      assert.deepEqual(body.pages, { a: 10, b: 10 });
    });

    it('JavaScript in /OpenAction, /Names, /AA and a link never runs', async () => {
      const marker = join(tmpdir(), `diffguard-pdf-js-${process.pid}-${Date.now()}`);
      rmSync(marker, { force: true });
      const res = await post('text_dmp', pdfVersion(javascriptPdf(marker, ten)), pdfVersion(textPdf(ten)));
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.change_count, 0, 'the text is the document’s, nothing a script added');
      const side = await json(await post('side_by_side_text', pdfVersion(javascriptPdf(marker, ten)), html('<p>x</p>')));
      assert.equal(side.diff.a_text, expectedText(ten));
      assert.equal(existsSync(marker), false, 'a script wrote its marker file');
    });

    it('a truncated file: a clear 422, or the text pdf.js could recover', async () => {
      const res = await post('text_dmp', pdfVersion(truncated(textPdf(ten), 0.6)), pdfVersion(textPdf(ten)));
      const body = await json(res);
      if (res.status === 200) assert.ok(rebuild(body.diff).a.length < expectedText(ten).length);
      else {
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.match(body.error, /`a` is not a readable PDF/);
      }
      await assertStillServing();
    });

    it('junk before %PDF- (a PHP warning, served as text/html): read as the PDF it is', async () => {
      const res = await post('text_dmp', { bytes: withJunkPrefix(textPdf(ten)), type: 'text/html; charset=UTF-8' }, pdfVersion(textPdf(tenEdited)));
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.a_content_type.media_type, 'application/pdf');
      assert.deepEqual(rebuild(body.diff), { a: expectedText(ten), b: expectedText(tenEdited) });
    });
  });
});

describe('PDF limits are configurable', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService({ ...DEFAULT_WORKER_LIMITS, MAX_PDF_PAGES: '9', MAX_TEXT_CHARS: '20000' });
  });
  after(async () => {
    await service.close();
  });

  const post = (a: Uint8Array, b: Uint8Array) => {
    const form = new FormData();
    form.append('a', new Blob([Buffer.from(a)], { type: 'application/pdf' }), 'a');
    form.append('b', new Blob([Buffer.from(b)], { type: 'application/pdf' }), 'b');
    return service.get('/text_dmp', { method: 'POST', body: form });
  };

  it('MAX_PDF_PAGES: 9 pages pass, 10 get 413 naming the limit', async () => {
    const nine = textPdf(makeTextDocument(9, 2));
    const tiny = textPdf(makeTextDocument(1, 2));
    assert.equal((await post(tiny, textPdf(makeTextDocument(8, 2)))).status, 200);
    const res = await post(tiny, textPdf(makeTextDocument(10, 2)));
    const body = await json(res);
    assert.equal(res.status, 413);
    assert.equal(body.type, 'TOO_LARGE');
    assert.equal(body.limit, 'pdf_pages');
    assert.equal(body.max_pages, 9);
    assert.match(body.error, /MAX_PDF_PAGES/);
    assert.ok(nine.byteLength > 0);
  });

  it('a bomb of text (16 MiB of lines of text from ~20 KB) is stopped at MAX_TEXT_CHARS, while another job carries on', async () => {
    const bomb = await decompressionBombPdf(16 * 1024 * 1024, { text: true });
    const tiny = textPdf(makeTextDocument(1, 2));
    const [res, normal] = await Promise.all([post(bomb, tiny), post(tiny, tiny)]);
    const body = await json(res);
    assert.equal(res.status, 413, JSON.stringify(body));
    assert.equal(body.limit, 'text_chars');
    assert.equal(body.side, 'a');
    assert.equal(normal.status, 200);
  });

  it('MAX_TEXT_CHARS bounds the extracted text', async () => {
    const tiny = textPdf(makeTextDocument(1, 2));
    const res = await post(tiny, textPdf(makeTextDocument(9, 2)));
    const body = await json(res);
    assert.equal(res.status, 413, JSON.stringify(body));
    assert.equal(body.limit, 'text_chars');
    assert.equal(body.max_chars, 20000);
    assert.equal(body.side, 'b');
  });
});
