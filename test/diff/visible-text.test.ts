import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TooLargeError } from '../../src/errors.ts';
import { collapseBlankLines, extractVisibleText, isPythonWhitespace, stripPythonWhitespace } from '../../src/diff/visible-text.ts';

const text = (html: string, maxNodes = 300_000): string => extractVisibleText(html, { maxNodes });

describe('extractVisibleText: spec §2.3 rules', () => {
  it('gives the spec examples', () => {
    assert.equal(text('<html><body>hi</body></html>'), 'hi');
    assert.equal(text('<!--First comment--><h1>First Heading</h1><p>First paragraph.</p>'), 'First Heading First paragraph.');
  });

  it('drops comments without merging the text around them', () => {
    assert.equal(text('<p>a<!-- hidden -->b</p>'), 'a b');
  });

  it('drops text whose direct parent is style, script, head or title', () => {
    const html =
      '<!doctype html><html><head><title>Title</title><style>p{}</style><script>var a;</script></head>' +
      '<body><script>var b;</script><style>q{}</style><p>Body</p></body></html>';
    assert.equal(text(html), 'Body');
  });

  it('checks only the direct parent: text nested deeper inside a hidden element is kept', () => {
    // An <svg><title> is a title too (dropped), but text in a <tspan> inside <svg> is kept.
    assert.equal(text('<p>x</p><svg><title>T</title><text><tspan>kept</tspan></text></svg>'), 'x kept');
  });

  it('keeps text inside <template> (its content fragment stands for the template)', () => {
    assert.equal(text('<body><p>a</p><template><b>in</b> template</template></body>'), 'a in  template');
  });

  it('keeps text inside <noscript> in the body', () => {
    assert.match(text('<body><noscript>no js</noscript><p>after</p></body>'), /^no js after$/);
  });

  it(
    'parses <noscript> with scripting disabled, like the anchor (markup inside is not text)',
    () => {
      assert.equal(text('<body><noscript><b>bold</b> text</noscript></body>'), 'bold  text');
    },
  );

  it('joins nodes with single spaces, whitespace-only nodes included', () => {
    assert.equal(text('<p>Example</p> <p>Top</p>'), 'Example   Top');
  });

  it('collapses blank-line runs, with the whitespace around them, to one blank line', () => {
    const html = '<p>Deleted</p>\n    <script>x()</script>\n    <img src="a.png">\n    <p>Unchanged</p>';
    assert.equal(text(html), 'Deleted\n\nUnchanged');
  });

  it('keeps a single line break and its indentation', () => {
    assert.equal(text('<body><p>one</p>\n    <p>two</p></body>'), 'one \n     two');
  });

  it('reproduces the two-paragraphs example page', () => {
    const html = '<html>\n  <head>\n  </head>\n  <body>\n    <p>Unchanged</p>\n    <p>Deleted</p>\n  </body>\n<html>\n';
    assert.equal(text(html), 'Unchanged \n     Deleted');
  });

  it('returns "" for a document without visible text', () => {
    assert.equal(text(''), '');
    assert.equal(text('<!doctype html><title>only a title</title>'), '');
  });
});

describe('whitespace helpers follow Python', () => {
  it('uses Python\'s whitespace set, not JavaScript\'s', () => {
    for (const code of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]) {
      assert.ok(isPythonWhitespace(code), code.toString(16));
    }
    for (const code of [0x08, 0x21, 0x84, 0x200b, 0xfeff, 0x180e]) assert.ok(!isPythonWhitespace(code), code.toString(16));
    assert.equal(stripPythonWhitespace('\ufeff a \x1c'), '\ufeff a');
  });

  it('counts only LF as a line break, with any whitespace between and around', () => {
    assert.equal(collapseBlankLines('a \r\n\t\r\n b'), 'a\n\nb');
    assert.equal(collapseBlankLines('a\u00a0\n\u3000\nb'), 'a\n\nb');
    assert.equal(collapseBlankLines('a\r\rb'), 'a\r\rb');
    assert.equal(collapseBlankLines('a \n b \n c'), 'a \n b \n c');
    assert.equal(collapseBlankLines('\n\n\na\n\n\n\n'), 'a');
  });

  it('takes the whole run around a line break, whitespace before it included, and leaves runs with one alone', () => {
    assert.equal(collapseBlankLines('a \n b \n\n c'), 'a \n b\n\nc');
    assert.equal(collapseBlankLines('x\u2028\n\u0085\ny'), 'x\n\ny');
    assert.equal(collapseBlankLines('a\u200b\n\nb'), 'a\u200b\n\nb');
    assert.equal(collapseBlankLines('a\n\nb \t\nc\n \n'), 'a\n\nb \t\nc');
    assert.equal(collapseBlankLines(' \t\n\t x \n \n'), 'x');
  });
});

describe('extractVisibleText on hostile input', () => {
  it('refuses 100 000 nested <div>s over a small node cap with TooLargeError', () => {
    const html = '<div>'.repeat(100_000) + 'deep' + '</div>'.repeat(100_000);
    assert.throws(
      () => extractVisibleText(html, { maxNodes: 1_000, side: 'b' }),
      (err: unknown) => err instanceof TooLargeError && err.details.limit === 'html_nodes' && err.details.side === 'b',
    );
  });

  it('walks 100 000 nested <div>s under the default cap without recursion', () => {
    const html = '<div>'.repeat(100_000) + 'deep' + '</div>'.repeat(100_000);
    assert.equal(text(html), 'deep');
  });

  it('extracts a 10 MB text node', () => {
    const body = 'x'.repeat(10 * 1024 * 1024);
    assert.equal(text(`<p>${body}</p>`).length, body.length);
  });

  it('collapses a 5 MB whitespace run in linear time (no regex backtracking)', () => {
    const html = `<p>a${' '.repeat(5_000_000)}\n${' '.repeat(10)}\nb</p>`;
    assert.equal(text(html), 'a\n\nb');
  });

  it('counts attributes toward the node cap: an element with 1 000 000 attributes is refused', () => {
    const attributes = Array.from({ length: 1_000_000 }, (_, i) => `a${i}=1`).join(' ');
    assert.throws(
      () => text(`<div ${attributes}>text</div>`),
      (err: unknown) => err instanceof TooLargeError && err.details.limit === 'html_nodes',
    );
    assert.equal(text(`<div ${attributes}>text</div>`, 1_000_010), 'text');
  });
});
