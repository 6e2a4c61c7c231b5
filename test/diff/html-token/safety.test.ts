import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'parse5';
import { getAttribute } from '../../../src/diff/html-parse.ts';
import type { HtmlTokenResult } from '../../../src/diff/html-token/index.ts';
import { counts, diff, elements, textContent } from './helpers.ts';
import { seededRandom } from '../../helpers/random.ts';
import { FUZZ_PIECES, PAYLOADS, payloadPairs, problemsReading } from './mxss.ts';

// Whatever the page holds, a browser reading any view of the output (scripting on or off, or
// after a DOM round trip such as a viewer's innerHTML) finds nothing that can run script.

function views(result: HtmlTokenResult): [string, string][] {
  return (['combined', 'insertions', 'deletions'] as const).map((view) => [view, result[view]!]);
}

describe('html_token output safety', () => {
  it('the test itself sees the problem in a raw payload', () => {
    assert.notDeepEqual(problemsReading(PAYLOADS[0]!), []);
    assert.notDeepEqual(problemsReading('<iframe src="data:text/html,x"></iframe>'), []);
  });

  for (const payload of PAYLOADS) {
    it(`nothing runs from ${payload.slice(0, 70)}`, () => {
      for (const [a, b] of payloadPairs(payload)) {
        for (const [view, html] of views(diff(a, b))) assert.deepEqual(problemsReading(html), [], `${view}:\n${html}`);
      }
    });
  }

  it('nothing runs from 500 random soups of namespace switches, raw-text elements and end tags', () => {
    const next = seededRandom(20_240_601);
    for (let round = 0; round < 500; round += 1) {
      let payload = '';
      for (let length = 2 + Math.floor(next() * 14); length > 0; length -= 1) payload += FUZZ_PIECES[Math.floor(next() * FUZZ_PIECES.length)];
      const result = diff(`<p>one</p>${payload}`, `<p>two</p>${next() < 0.5 ? payload : ''}`);
      for (const [view, html] of views(result)) assert.deepEqual(problemsReading(html), [], `${view} of ${payload}:\n${html}`);
    }
  });

  it('iframes are sandboxed whatever the page asked for', () => {
    const result = diff('<p>a</p><iframe src="https://example.com/embed" sandbox="allow-scripts allow-same-origin"></iframe>', '<p>b</p><iframe src="https://example.com/embed"></iframe>');
    for (const [, html] of views(result)) {
      const frames = elements(parse(html), (e) => e.tagName === 'iframe');
      assert.ok(frames.length >= 1);
      for (const frame of frames) {
        assert.equal(getAttribute(frame, 'sandbox'), '');
        assert.equal(getAttribute(frame, 'src'), 'https://example.com/embed');
      }
    }
  });
});

describe('html_token output keeps what is safe', () => {
  const page = (word: string) => `<!DOCTYPE html><html><head>
    <style><!-- a > b { color: red } .q::before { content: "<" } --></style>
    <noscript><style>.js { display: none }</style></noscript></head><body>
    <noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X" height="0" width="0"></iframe><p>Enable <b>JavaScript</b></p></noscript>
    <p title="a < b &amp; c">Hello ${word}</p><xmp><b>literal</b></xmp>
    <svg><style>circle { fill: red }</style><circle r="4"/></svg></body></html>`;

  it('styles keep their CSS (child combinators, strings), minus nothing that matters', () => {
    const { combined } = diff(page('one'), page('two'));
    const styles = elements(parse(combined!), (e) => e.tagName === 'style' && getAttribute(e, 'id') !== 'wm-diff-style');
    const css = styles.map((style) => textContent(style)).join('\n');
    assert.match(css, / a > b \{ color: red \} \.q::before \{ content: "\\3c " \}/); // \3c is CSS for <
    assert.match(css, /circle \{ fill: red \}/);
  });

  it('<noscript> content stays markup for a browser without scripting, sanitised', () => {
    const { combined } = diff(page('one'), page('two'));
    const document = parse(combined!, { scriptingEnabled: false });
    const [frame] = elements(document, (e) => e.tagName === 'iframe');
    assert.equal(getAttribute(frame!, 'src'), 'https://www.googletagmanager.com/ns.html?id=GTM-X');
    assert.equal(getAttribute(frame!, 'sandbox'), '');
    assert.equal(elements(document, (e) => e.tagName === 'b' && textContent(e) === 'JavaScript').length, 1);
    // With scripting on, it is raw text again and shows nothing.
    assert.equal(elements(parse(combined!), (e) => e.tagName === 'iframe').length, 0);
  });

  it('attribute values and literal text read the same', () => {
    const { combined } = diff(page('one'), page('two'));
    const document = parse(combined!);
    const [paragraph] = elements(document, (e) => e.tagName === 'p' && /Hello/.test(textContent(e)));
    assert.equal(getAttribute(paragraph!, 'title'), 'a < b & c');
    const [pre] = elements(document, (e) => e.tagName === 'pre');
    assert.equal(textContent(pre!), '<b>literal</b>');
  });

  it('<noscript> content is parsed for at most 1000 elements per side; later ones are escaped text, and the sides still match', () => {
    const page = (word: string) => `<p>${'<noscript><b>x</b></noscript> '.repeat(1005)}${word}</p>`;
    const result = diff(page('one'), page('two'));
    assert.deepEqual(counts(result), [2, 1, 1]);
    for (const [, html] of views(result)) {
      const bolds = elements(parse(html, { scriptingEnabled: false }), (e) => e.tagName === 'b');
      assert.equal(bolds.length, 1000);
    }
  });

  it('one <noscript> parsing into more than 10 000 nodes is written as escaped text', () => {
    const page = (count: number, word: string) => `<p>${word}</p><noscript>${'<b>x</b>'.repeat(count)}</noscript>`;
    const bolds = (html: string) => elements(parse(html, { scriptingEnabled: false }), (e) => e.tagName === 'b').length;
    // 4999 × (element + text) + the fragment's root: 9 999 nodes; one more <b>x</b> is 10 001.
    assert.equal(bolds(diff(page(4999, 'one'), page(4999, 'two')).insertions!), 4999);
    const over = diff(page(5000, 'one'), page(5000, 'two')).insertions!;
    assert.equal(bolds(over), 0);
    assert.match(over, /<noscript>(&lt;b&gt;x&lt;\/b&gt;){5000}<\/noscript>/);
  });
});

describe('html_token SVG resource URLs follow the img src rules', () => {
  const attributesOf = (html: string, name: string, attribute: string): (string | undefined)[] =>
    elements(parse(html), (e) => e.tagName === name).map((e) => e.attrs.find((attr) => attr.name === attribute)?.value);

  it('the test itself sees a data: <use> and a non-image data: <image>', () => {
    assert.notDeepEqual(problemsReading('<svg><use href="data:image/svg+xml,x#a"/></svg>'), []);
    assert.notDeepEqual(problemsReading('<svg><use xlink:href="data:image/svg+xml,x#a"/></svg>'), []);
    assert.notDeepEqual(problemsReading('<svg><image href="data:text/html,x"/></svg>'), []);
  });

  it('drops data: from <use> and SVG <script> (href and xlink:href), keeps fragment and http references', () => {
    const svg = (word: string) =>
      `<svg><use href="data:image/svg+xml,<svg id='x'/>#x"/><use xlink:href="DATA:image/svg+xml,x#y"/>` +
      `<use href="#icon"/><use xlink:href="https://example.com/sprite.svg#z"/><script xlink:href="data:,alert(1)"></script></svg><p>Some words stay the same, ${word}</p>`;
    for (const [, html] of views(diff(svg('one'), svg('two')))) {
      assert.deepEqual(attributesOf(html, 'use', 'href'), [undefined, undefined, '#icon', 'https://example.com/sprite.svg#z']);
      assert.deepEqual(attributesOf(html, 'script', 'href'), [undefined]);
    }
  });

  it('keeps data: images in SVG <image> and <feImage> and <img>, drops other data: there', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const svg = (word: string) =>
      `<p>${word}</p><img src="${png}"><img src="data:text/html,x"><svg><image href="${png}"/><image xlink:href="data:text/html,<b>x</b>"/>` +
      `<filter><feImage href="${png}"/><feImage xlink:href="data:application/xml,x"/></filter></svg>`;
    for (const [, html] of views(diff(svg('one'), svg('two')))) {
      assert.deepEqual(attributesOf(html, 'img', 'src'), [png, undefined]);
      assert.deepEqual(attributesOf(html, 'image', 'href'), [png, undefined]);
      assert.deepEqual(attributesOf(html, 'feImage', 'href'), [png, undefined]);
    }
  });

  it('drops SVG animations that could set an href after sanitising', () => {
    const svg = (word: string) => `<svg><a href="/x"><set attributeName="href" to="data:text/html,x"/><animate attributeName="xlink:href" values="/a;javascript:alert(1)"/><text>t</text></a></svg><p>Some words stay the same, ${word}</p>`;
    for (const [, html] of views(diff(svg('one'), svg('two')))) {
      assert.equal(elements(parse(html), (e) => e.tagName === 'set' || e.tagName === 'animate').length, 0);
      assert.deepEqual(attributesOf(html, 'a', 'href'), ['/x']);
    }
  });
});
