import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TooLargeError } from '../../../src/errors.ts';
import { parseHtmlDocument } from '../../../src/diff/html-parse.ts';
import {
  extractPageLinks,
  LINK_TEXT_MAX_CHARS,
  MAX_LINK_NESTING,
  normalizeHref,
  resolveHref,
  type PageLinks,
} from '../../../src/diff/links/extract.ts';

function extract(html: string, options: { pageUrl?: string; maxLinks?: number } = {}): PageLinks {
  const document = parseHtmlDocument(html, { maxNodes: 1_000_000 });
  return extractPageLinks(document, { pageUrl: options.pageUrl, maxLinks: options.maxLinks ?? 10_000, side: 'a' });
}

const texts = (html: string): string[] => extract(html).links.map((link) => link.text);
const hrefs = (html: string): string[] => extract(html).links.map((link) => link.href);

describe('extractPageLinks: which links', () => {
  it('takes <a> with a non-empty href not starting with #, in document order', () => {
    const html = '<a href="/x">X</a><a href="#top">Top</a><a href="">Empty</a><a>No href</a><a name="n">Named</a><a href="y#z">Y</a>';
    assert.deepEqual(hrefs(html), ['/x', 'y#z']);
  });

  it('keeps duplicates (de-duplication happens in the comparison)', () => {
    assert.deepEqual(hrefs('<a href="/x">X</a><a href="/x">X</a>'), ['/x', '/x']);
  });

  it('finds links nested in links (through a table) in document order, each with its own text', () => {
    const { links } = extract('<a href="/outer">Outer <table><tr><td><a href="/inner">Inner</a></td></tr></table></a>');
    assert.deepEqual(links.map((l) => [l.href, l.text]), [['/outer', 'Outer Inner'], ['/inner', 'Inner']]);
  });
});

describe('extractPageLinks: link text', () => {
  it('is the trimmed text of the element', () => {
    assert.deepEqual(texts('<a href="/x">\n   Read <b>the</b> report  \n</a>'), ['Read the report']);
  });

  it('writes images as [image: alt] or [image]', () => {
    assert.deepEqual(texts('<a href="/x"><img src="a.png" alt="Alt text!"></a><a href="/y"><img src="b.png"></a><a href="/z">Go <img alt=""></a>'), [
      '[image: Alt text!]',
      '[image]',
      'Go [image]',
    ]);
  });

  it('leaves out script, style, svg and other undiffable descendants', () => {
    const html =
      '<a href="/x">Visible<script>var hidden = 1;</script><style>.h{}</style><svg><text>svgtext</text></svg><template>tpl</template><select><option>opt</option></select></a>';
    assert.deepEqual(texts(html), ['Visible']);
  });

  it('uses [tooltip: title] for empty text when there is a title attribute (even empty), else [no text]', () => {
    assert.deepEqual(texts('<a href="/x" title="Home page"> </a><a href="/y" title=""></a><a href="/z"><script>x</script></a>'), [
      '[tooltip: Home page]',
      '[tooltip: ]',
      '[no text]',
    ]);
  });

  it(`is cut at ${LINK_TEXT_MAX_CHARS} characters (limit)`, () => {
    const [text] = texts(`<a href="/x">   ${'word '.repeat(2_000)}</a>`);
    assert.equal(text!.length, LINK_TEXT_MAX_CHARS + 1);
    assert.ok(text!.startsWith('word word'));
    assert.ok(text!.endsWith('…'));
  });

  it('never cuts an emoji in half', () => {
    const [text] = texts(`<a href="/x">${'a'.repeat(LINK_TEXT_MAX_CHARS - 1)}😀</a>`);
    assert.equal(text, `${'a'.repeat(LINK_TEXT_MAX_CHARS - 1)}…`);
  });
});

describe('hrefs', () => {
  it('lower-cases the scheme and host only', () => {
    assert.equal(normalizeHref('HTTPS://Example.COM/Path?Q=A'), 'https://example.com/Path?Q=A');
    assert.equal(normalizeHref('//CDN.Example.com/A'), '//cdn.example.com/A');
    assert.equal(normalizeHref('/Relative/Path'), '/Relative/Path');
    assert.equal(normalizeHref('mailto:Someone@Example.COM'), 'mailto:Someone@Example.COM');
    assert.deepEqual(hrefs('<a href="HTTP://WWW.EPA.GOV/Reports">R</a>'), ['http://www.epa.gov/Reports']);
  });

  it('resolves against the page URL', () => {
    const { links } = extract('<a href="../data/set.csv">Data</a><a href="https://other.example/x">X</a>', {
      pageUrl: 'https://www.epa.gov/reports/2019/index.html',
    });
    assert.deepEqual(links.map((l) => [l.href, l.resolved_href]), [
      ['../data/set.csv', 'https://www.epa.gov/reports/data/set.csv'],
      ['https://other.example/x', 'https://other.example/x'],
    ]);
  });

  it('resolves against <base href> (itself resolved against the page URL), wherever it is', () => {
    const html = '<a href="report.pdf">Report</a><base href="/docs/"><base href="/ignored/">';
    assert.equal(extract(html, { pageUrl: 'https://www.epa.gov/a/b' }).links[0]!.resolved_href, 'https://www.epa.gov/docs/report.pdf');
    assert.equal(extract('<base href="https://cdn.example/x/"><a href="y">Y</a>').links[0]!.resolved_href, 'https://cdn.example/x/y');
  });

  it('leaves the href as written when it cannot be resolved', () => {
    assert.equal(extract('<a href="/a">A</a>').links[0]!.resolved_href, '/a');
    assert.equal(extract('<base href="relative/"><a href="/a">A</a>').links[0]!.resolved_href, '/a');
    assert.equal(resolveHref('http://[bad', 'https://example.com/'), 'http://[bad');
  });
});

describe('title', () => {
  it('is the first HTML <title>, whitespace collapsed', () => {
    assert.equal(extract('<svg><title>Icon</title></svg><title>\n  The  new\ttitle </title>').title, 'The new title');
    assert.equal(extract('<p>no title</p>').title, undefined);
  });
});

describe('limits', () => {
  it('refuses more links than maxLinks with TooLargeError', () => {
    const html = '<a href="/x">x</a>'.repeat(11);
    assert.equal(extract(html, { maxLinks: 11 }).links.length, 11);
    assert.throws(
      () => extract(html + '<a href="/y">y</a>', { maxLinks: 11 }),
      (error: unknown) => error instanceof TooLargeError && error.details['limit'] === 'links' && error.details['side'] === 'a',
    );
  });

  it(`refuses links nested more than ${MAX_LINK_NESTING} deep with TooLargeError`, () => {
    const nest = (depth: number): string => '<a href="/x">x<table><tr><td>'.repeat(depth);
    assert.equal(extract(nest(MAX_LINK_NESTING)).links.length, MAX_LINK_NESTING);
    assert.throws(
      () => extract(nest(MAX_LINK_NESTING + 1)),
      (error: unknown) => error instanceof TooLargeError && error.details['limit'] === 'link_nesting',
    );
  });
});
