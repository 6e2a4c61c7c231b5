// The content-type guard end to end: real sockets, a local upstream, the real worker pool.
// What each version is decides, while fetching, whether a diff type may see it (spec/sniffing.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { diffTypes } from '../../src/diff/index.ts';
import { startUpstream, serve, type Handler, type Upstream } from '../helpers/upstream.ts';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';
import { randomBytes } from '../sniff/helpers.ts';

const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url));

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves on 'drain' or 'close', whichever comes first. */
const drained = (res: ServerResponse) => new Promise((resolve) => res.once('drain', resolve).once('close', resolve));

interface PacedBody {
  handler: Handler;
  /** The client went away before the whole body was written. */
  closedEarly(): boolean;
  /** Resolves once at least `bytes` have been written. */
  wrote(bytes: number): Promise<void>;
}

/**
 * `head`, then `filler` repeated up to `totalBytes`, chunked (no Content-Length), with backpressure and a pause
 * between chunks. The pace keeps loopback's multi-MiB socket buffers out of the count, as a real link would.
 */
function pacedBody(contentType: string, head: Uint8Array, filler: Uint8Array, totalBytes: number, pauseMs: number): PacedBody {
  let closedEarly = false;
  let written = 0;
  const waiters: Array<{ bytes: number; resolve: () => void }> = [];
  const progress = (bytes: number) => {
    written += bytes;
    for (const waiter of waiters.filter((w) => written >= w.bytes)) waiter.resolve();
  };
  return {
    handler: async (_req, res) => {
      res.writeHead(200, { 'Content-Type': contentType });
      res.once('close', () => {
        if (!res.writableFinished) closedEarly = true;
      });
      if (!res.write(head)) await drained(res);
      progress(head.length);
      while (written < totalBytes && !res.destroyed) {
        if (!res.write(filler)) await drained(res);
        progress(filler.length);
        await sleep(pauseMs);
      }
      res.end();
    },
    closedEarly: () => closedEarly,
    wrote: (bytes) => (written >= bytes ? Promise.resolve() : new Promise((resolve) => void waiters.push({ bytes, resolve }))),
  };
}

describe('content-type guard over HTTP', () => {
  let upstream: Upstream;
  let service: TestService;
  const pdf = fixture('encoding/simple.pdf');
  const html = fixture('examples/two-paragraphs.after');

  // 50 MiB served as text/html: a PHP warning, then a PDF (then more PDF-ish binary).
  const pdfBehindWarning = pacedBody('text/html; charset=UTF-8', fixture('sniff/pdf-php-warning-prefix.pdf'), randomBytes(32 * 1024), 50 * MiB, 1);
  // 50 MiB served as text/html: an <html> start, then random bytes.
  const htmlThenRandom = pacedBody('text/html', Buffer.from('<html><head><title>x</title></head><body>'), randomBytes(32 * 1024, 7), 50 * MiB, 1);
  // 50 MiB of real HTML at ~1.6 MB/s, for the side that is fine while the other is refused.
  const bigHtmlPage = `<!DOCTYPE html><html><body>${'<p>A paragraph of a very long page.</p>\n'.repeat(400)}`;
  const bigHtml = pacedBody('text/html', Buffer.from(bigHtmlPage), Buffer.from('<p>More of the page, and more.</p>\n'.repeat(468)), 50 * MiB, 10);

  // Passes the sniff (the first 4 KiB are a page) but is mostly binary after: decoding decides.
  const mostlyBinary = Buffer.concat([Buffer.from(`<html><body>${'<p>text</p>'.repeat(400)}`), randomBytes(64 * 1024, 11)]);

  before(async () => {
    upstream = await startUpstream({
      '/page.html': serve(html, 'text/html; charset=utf-8'),
      '/pdf-behind-warning': pdfBehindWarning.handler,
      '/html-then-random': htmlThenRandom.handler,
      '/big.html': bigHtml.handler,
      // Sent only once /big.html is well under way, so the refusal interrupts a download in progress.
      '/late.pdf': async (_req, res) => {
        await Promise.race([bigHtml.wrote(128 * 1024), sleep(5000)]);
        serve(pdf, 'application/pdf')(_req, res);
      },
      '/lying.pdf': serve(pdf, 'text/html'),
      '/mostly-binary.html': serve(mostlyBinary, 'text/html; charset=utf-8'),
      '/empty': serve(''),
      '/windows-1252-meta.html': serve(fixture('sniff/windows-1252-meta.html'), 'text/html'),
      '/empty.html': serve('', 'text/html'),
    });
    service = await startTestService();
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  const diff = (type: string, params: Record<string, string>) => service.get(`/${type}?${query(params)}`);

  it('refuses a 50 MiB PDF behind a PHP warning, served as text/html, before 1 MiB of it was sent', async (t) => {
    const res = await diff('html_source_dmp', { a: upstream.url('/pdf-behind-warning'), b: upstream.url('/page.html') });
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDIFFABLE_CONTENT');
    assert.match(body.error, /`a` is application\/pdf \(sniffed\)/);
    await sleep(100);
    const sent = upstream.bytesSent.get('/pdf-behind-warning') ?? 0;
    t.diagnostic(`upstream sent ${sent} bytes`);
    assert.ok(sent < MiB, `upstream sent ${sent} bytes`);
    assert.ok(pdfBehindWarning.closedEarly(), 'the download was aborted');
  });

  it('refuses 50 MiB of <html> then random bytes before 1 MiB of it was sent', async (t) => {
    const res = await diff('html_text_dmp', { a: upstream.url('/page.html'), b: upstream.url('/html-then-random') });
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDIFFABLE_CONTENT');
    assert.match(body.error, /`b` is application\/octet-stream \(sniffed\)/);
    await sleep(100);
    const sent = upstream.bytesSent.get('/html-then-random') ?? 0;
    t.diagnostic(`upstream sent ${sent} bytes`);
    assert.ok(sent < MiB, `upstream sent ${sent} bytes`);
  });

  it('aborts the other download too when one side is refused', async (t) => {
    const res = await diff('html_text_dmp', { a: upstream.url('/late.pdf'), b: upstream.url('/big.html') });
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDIFFABLE_CONTENT');
    assert.match(body.error, /`a` is application\/pdf/);
    await sleep(100);
    const sent = upstream.bytesSent.get('/big.html') ?? 0;
    t.diagnostic(`upstream sent ${sent} bytes of b`);
    assert.ok(sent >= 128 * 1024, `b was under way (${sent} bytes) when a was refused`);
    assert.ok(sent < MiB, `upstream sent ${sent} bytes of b`);
    assert.ok(bigHtml.closedEarly(), 'the download of b was aborted');
  });

  it('reports the encoding each side was decoded with, found where a browser finds it', async () => {
    // `a` declares windows-1252 only in a <meta> inside the page; the header has no charset.
    const res = await diff('side_by_side_text', { a: upstream.url('/windows-1252-meta.html'), b: upstream.url('/page.html') });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(body.a_content_type, { media_type: 'text/html', source: 'both', is_text: true, encoding: 'windows-1252' });
    assert.equal(body.b_content_type.encoding, 'utf-8');
    assert.equal(body.b_content_type.charset, 'utf-8');
    assert.match(body.diff.a_text, /Le café coûte 3 € — “très” cher…/);
  });

  it('answers 422 UNDECODABLE_CONTENT naming the side, and ignore_decoding_errors=true alone lets it through', async () => {
    const params = { a: upstream.url('/page.html'), b: upstream.url('/mostly-binary.html') };
    const res = await diff('html_text_dmp', params);
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.type, 'UNDECODABLE_CONTENT');
    assert.equal(body.side, 'b');
    assert.equal(body.encoding, 'utf-8');
    assert.match(body.error, /^`b` is mostly undecodable as utf-8/);
    const ignored = await diff('html_text_dmp', { ...params, ignore_decoding_errors: 'true' });
    assert.equal(ignored.status, 200);
    assert.equal((await json(ignored)).type, 'html_text_dmp');
  });

  describe('content_type_options with a PDF labelled text/html', () => {
    const params = (path: string, option?: string) => ({
      a: upstream.url(path),
      b: upstream.url('/page.html'),
      ...(option === undefined ? {} : { content_type_options: option }),
    });

    for (const option of [undefined, 'normal', 'nocheck']) {
      it(`${option ?? 'default (normal)'}: the bytes say PDF, refused`, async () => {
        const res = await diff('html_source_dmp', params('/lying.pdf', option));
        assert.equal(res.status, 422);
        const body = await json(res);
        assert.equal(body.type, 'UNDIFFABLE_CONTENT');
        assert.match(body.error, /`a` is application\/pdf \(sniffed\)/);
      });
    }

    it('nosniff: the header is believed (text/html, declared) and the guard lets it through; decoding then finds it binary', async () => {
      const res = await diff('html_source_dmp', params('/lying.pdf', 'nosniff'));
      assert.equal(res.status, 422);
      const body = await json(res);
      assert.equal(body.type, 'UNDECODABLE_CONTENT');
      assert.equal(body.side, 'a');
      // What the guard made of it shows once decoding errors are ignored.
      const ignored = await diff('html_source_dmp', { ...params('/lying.pdf', 'nosniff'), ignore_decoding_errors: 'true' });
      assert.equal(ignored.status, 200);
      const answer = await json(ignored);
      assert.deepEqual({ media_type: answer.a_content_type.media_type, source: answer.a_content_type.source }, { media_type: 'text/html', source: 'header' });
    });

    it('ignore: no check at all; decoding still applies', async () => {
      const res = await diff('html_source_dmp', params('/lying.pdf', 'ignore'));
      assert.equal(res.status, 422);
      assert.equal((await json(res)).type, 'UNDECODABLE_CONTENT');
    });
  });

  describe('an empty body is valid text for every diff type', () => {
    for (const type of diffTypes.keys()) {
      it(`${type}: empty vs page, and empty vs empty → 200`, async () => {
        const one = await diff(type, { a: upstream.url('/empty'), b: upstream.url('/page.html') });
        assert.equal(one.status, 200, JSON.stringify(await one.clone().json()));
        assert.equal((await json(one)).type, type);
        const both = await diff(type, { a: upstream.url('/empty.html'), b: upstream.url('/empty') });
        assert.equal(both.status, 200, JSON.stringify(await both.clone().json()));
      });
    }
  });
});
