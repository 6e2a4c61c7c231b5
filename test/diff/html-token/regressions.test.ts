import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAttribute, isElement, walk, type Element } from '../../../src/diff/html-parse.ts';
import { TOKEN_SPACER, TokenIdTable, tokenizeBody } from '../../../src/diff/html-token/tokenize.ts';
import { INERT_SCRIPT_TYPE, newSerializeBudget } from '../../../src/diff/html-token/safe-html.ts';
import { parse } from 'parse5';
import { bodyOf, counts, diff, elements, markerTexts, parseOutput, readExample, textContent } from './helpers.ts';

// Each "Must not keep" item of spec/html-token.md (web-monitoring-diff behaviour we fix).

function allViews(result: { combined?: string; insertions?: string; deletions?: string }): string[] {
  return [result.combined!, result.insertions!, result.deletions!];
}

/** Markers with no child nodes at all. */
function emptyMarkers(html: string): Element[] {
  return elements(parseOutput(html).document, (e) => (e.tagName === 'ins' || e.tagName === 'del') && e.childNodes.length === 0);
}

describe('html_token: anchor bugs we do not keep', () => {
  it('srcset is parsed properly: different multi-candidate images differ', () => {
    const result = diff('<p>x</p><img srcset="a.png 1x, a2.png 2x"><p>y</p>', '<p>x</p><img srcset="zzz.png 1x, zzz2.png 2x"><p>y</p>');
    assert.deepEqual(counts(result), [2, 1, 1]);
    assert.equal(elements(bodyOf(result.combined!), (e) => e.tagName === 'img' && e.parentNode?.nodeName === 'del').length, 1);
    assert.equal(elements(bodyOf(result.combined!), (e) => e.tagName === 'img' && e.parentNode?.nodeName === 'ins').length, 1);
  });

  it('a <br> followed by text renders one <br>', () => {
    const result = diff('<p>line one<br>line two</p>', '<p>line one<br>line three</p>');
    for (const view of allViews(result)) assert.equal(elements(bodyOf(view), (e) => e.tagName === 'br').length, 1, view);
    const unchanged = diff('<p>line one<br>line two</p>', '<p>line one<br>line two</p>');
    assert.equal(elements(bodyOf(unchanged.combined!), (e) => e.tagName === 'br').length, 1);
  });

  it('no spacer cap: every tag of a long page survives', () => {
    const blocks = (changed: number) =>
      Array.from({ length: 1001 }, (_, i) => `<div class="d"><p>Block number ${i} ${i === changed ? 'changed' : 'text'}</p></div>`).join('');
    const result = diff(blocks(-1), blocks(1000));
    assert.deepEqual(counts(result), [2, 1, 1]);
    for (const view of allViews(result)) {
      const body = bodyOf(view);
      assert.equal(elements(body, (e) => e.tagName === 'div' && getAttribute(e, 'class') === 'd').length, 1001);
      assert.equal(elements(body, (e) => e.tagName === 'p').length, 1001);
    }
  });

  for (const inline of ['<svg width="10" height="10"><circle r="4"></circle></svg>', '<script>var x = 1;</script>', '<select><option>o</option></select>']) {
    it(`text after an inline ${inline.slice(1, inline.search(/[ >]/))} is ordinary words`, () => {
      const result = diff(`<p>Intro ${inline} hello world</p>`, `<p>Intro ${inline} hello there</p>`);
      assert.deepEqual(counts(result), [2, 1, 1]);
      assert.deepEqual(markerTexts(result.combined!, 'del'), ['world']);
      assert.deepEqual(markerTexts(result.combined!, 'ins'), ['there']);
    });
  }

  it('tag names match whole: only real separatable blocks get spacers', () => {
    const { document } = { document: parse('<body><p>a</p><pre>b</pre><li>c</li><abbr>d</abbr><picture></picture><param><progress></progress><link><article>e</article></body>') };
    const body = elements(document, (e) => e.tagName === 'body')[0]!;
    const stream = tokenizeBody(body, { maxTokens: 1000, side: 'a', urlRules: [], ids: new TokenIdTable(), serializeBudget: newSerializeBudget() });
    assert.equal(stream.tokenKinds.filter((kind) => kind === TOKEN_SPACER).length, 4 * 3);
    // With spacers before <abbr> (prefix "<a"), the shared word would split this into two changes.
    const result = diff('<p>Alpha <abbr>B</abbr> gamma</p>', '<p>Delta <abbr>B</abbr> epsilon</p>');
    assert.deepEqual(counts(result), [2, 1, 1]);
  });

  it('never emits empty markers', () => {
    const pairs: [string, string][] = [
      [readExample('change-link-text').before, readExample('change-link-text').after],
      ['', 'Here is some actual content!'],
      ['<p>a <b></b> b</p>', '<p>c <b></b> d</p>'],
      ['<ul><li>one</li><li>two</li></ul>', '<ol><li>uno</li></ol><p></p>'],
      ['<div><a href="/x"></a></div>', '<div><a href="/y"></a><span> </span></div>'],
      ['<p>a</p><script>1</script><style>p{}</style>', '<p>b</p>'],
    ];
    for (const [a, b] of pairs) {
      for (const view of allViews(diff(a, b))) assert.deepEqual(emptyMarkers(view), [], view);
    }
  });

  it('a link target change is visible (and counted once)', () => {
    const result = diff('<p>See <a href="/old">the report</a> now.</p>', '<p>See <a href="/new">the report</a> now.</p>');
    assert.deepEqual(counts(result), [2, 1, 1]);
    assert.match(result.combined!, /<del class="wm-diff wm-diff-href" data-wm-diff-href="\/old"[^>]*>\S+<\/del>/);
    assert.match(result.combined!, /<ins class="wm-diff wm-diff-href" data-wm-diff-href="\/new"[^>]*>\S+<\/ins>/);
  });

  it('a document ending in "and Other Posts" diffs normally', () => {
    const result = diff('<ul><li>one</li></ul><p>Read this and Other Posts', '<ul><li>two</li></ul><p>Read this and Other Posts');
    assert.deepEqual(counts(result), [2, 1, 1]);
  });

  it('nothing from the page can run in any view', () => {
    const hostile = (word: string) => `<!DOCTYPE html><html onload="x()"><head><script>alert("head")</script>
      <script type="module">import "/evil.js"</script><meta http-equiv="refresh" content="0; url=javascript:alert(1)">
      </head><body onload="alert(1)"><p onclick="alert(2)">Hello ${word}</p>
      <script src="/tracker.js"></script><img src="/x.png" onerror="alert(3)">
      <a href=" java&#x09;script:alert(4)">link</a><iframe srcdoc="<script>alert(5)</script>"></iframe>
      <svg><script>alert(6)</script><a xlink:href="javascript:alert(7)"><text>t</text></a></svg>
      <form action="javascript:alert(8)"><button formaction="JAVASCRIPT:alert(9)">b</button></form></body></html>`;
    const result = diff(hostile('world'), hostile('there'));
    for (const view of allViews(result)) {
      const { document } = parseOutput(view);
      let scripts = 0;
      for (const event of walk(document)) {
        if (event.kind !== 'enter' || !isElement(event.node)) continue;
        const element = event.node;
        if (element.tagName === 'script') {
          scripts += 1;
          assert.equal(getAttribute(element, 'type'), INERT_SCRIPT_TYPE, view);
        }
        for (const attr of element.attrs) {
          assert.doesNotMatch(attr.name, /^on/i, view);
          assert.notEqual(attr.name, 'srcdoc');
          assert.doesNotMatch(attr.value.replace(/[\u0000-\u0020]/g, ''), /^javascript:/i, view);
          if (attr.name === 'http-equiv') assert.notEqual(attr.value.toLowerCase(), 'refresh');
        }
      }
      assert.ok(scripts >= 4, 'page scripts are kept, inert');
      assert.doesNotMatch(view, /wm-diff-script/);
    }
  });

  it('deleted scripts and styles are wrapped in inert templates in combined, and their code never shows as text', () => {
    const result = diff(
      '<p>Keep</p><script>var oldCode = 1;</script><p>Mid</p><script>var moreOld = 2;</script><style>p { color: red }</style><p>End</p>',
      '<p>Keep</p><p>Mid</p><p>End</p>',
    );
    const { document } = parseOutput(result.combined!);
    const templates = elements(document, (e) => e.tagName === 'template' && getAttribute(e, 'class') === 'wm-diff-deleted-inert');
    assert.equal(templates.length, 3);
    assert.doesNotMatch(textContent(bodyOf(result.combined!)), /oldCode|moreOld/);
  });

  it('a deleted paragraph stays inside its list item in combined', () => {
    const filler = (n: number) => Array.from({ length: 12 }, (_, i) => `item${n} word${i}`).join(' ');
    const result = diff(
      `<ul><li><p>${filler(1)}</p></li><li><p>Removed paragraph text</p></li><li><p>${filler(3)}</p></li></ul>`,
      `<ul><li><p>${filler(1)}</p></li><li></li><li><p>${filler(3)}</p></li></ul>`,
    );
    assert.deepEqual(counts(result), [1, 0, 1]);
    const [deleted] = elements(bodyOf(result.combined!), (e) => e.tagName === 'del');
    assert.equal(deleted!.parentNode?.nodeName, 'p');
    assert.equal(deleted!.parentNode?.parentNode?.nodeName, 'li');
  });

  it('tag-only changes count 0, separatable blocks included', () => {
    const text = 'A paragraph of several words that stays the same';
    assert.deepEqual(counts(diff(`<p>${text}</p><p>More words here.</p>`, `<div>${text}</div><p>More words here.</p>`)), [0, 0, 0]);
    assert.deepEqual(counts(diff(`<h1>${text}</h1>`, `<h2 class="x">${text}</h2>`)), [0, 0, 0]);
  });
});
