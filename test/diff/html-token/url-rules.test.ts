import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../../../src/errors.ts';
import { htmlTokenDiff, parseHtmlTokenOptions } from '../../../src/diff/html-token/index.ts';
import { normalizeUrl, parseSrcset } from '../../../src/diff/html-token/url-rules.ts';
import type { DiffSettings } from '../../../src/diff/types.ts';
import { diff } from './helpers.ts';

const SETTINGS: DiffSettings = {
  insertionColor: '#a1d76a',
  deletionColor: '#e8a4c8',
  dmpTimeoutMs: 2000,
  dmpMaxTimeoutMs: 30000,
  htmlTokenMaxTokens: 1234,
  maxTextChars: 1_000_000,
  maxChangedChars: 1_000_000,
  maxHtmlNodes: 5678,
  maxHtmlChars: 10_000_000,
  maxPdfPages: 500,
};

const page = (inner: string): string => `<p>Some text before.</p>${inner}<p>Some text after.</p>`;
const changeCount = (a: string, b: string, urlRules: string[] = ['jsessionid']): number =>
  diff(page(a), page(b), { urlRules: urlRules as never }).change_count;

describe('html_token url_rules (spec §3.10 cases)', () => {
  const waybackA = '<a href="https://web.archive.org/web/20180101000000/https://www.example.com/page">Link</a>';
  const waybackB = '<a href="https://web.archive.org/web/20190202111111/https://www.example.com/page">Link</a>';

  it('wayback links differing only in timestamp: 0 with wayback, 2 with the default', () => {
    assert.equal(changeCount(waybackA, waybackB, ['wayback']), 0);
    assert.equal(changeCount(waybackA, waybackB), 2);
  });

  it('wayback srcset: 0', () => {
    const a = '<img src="https://web.archive.org/web/20180101000000im_/http://example.com/a.png" srcset="https://web.archive.org/web/20180101000000im_/http://example.com/a.png 1x, https://web.archive.org/web/20180101000000im_/http://example.com/a2.png 2x">';
    const b = '<img src="https://web.archive.org/web/20190101000000im_/http://example.com/a.png" srcset="https://web.archive.org/web/20190101000000im_/http://example.com/a.png 1x, https://web.archive.org/web/20190101000000im_/http://example.com/a2.png 2x">';
    assert.equal(changeCount(a, b, ['wayback']), 0);
    assert.equal(changeCount(a, b, []), 2);
  });

  it('src change where the new srcset contains the old URL: 0', () => {
    assert.equal(changeCount('<img src="/old.png">', '<img src="/new.png" srcset="/new.png 1x, /old.png 2x">'), 0);
  });

  it('two images with neither src nor srcset: 0', () => {
    assert.equal(changeCount('<img alt="one">', '<img alt="two">'), 0);
  });

  it('data-src change: 2; new data-srcset containing the old data-src: 0', () => {
    assert.equal(changeCount('<img data-src="/a.png">', '<img data-src="/b.png">'), 2);
    assert.equal(changeCount('<img data-src="/a.png">', '<img data-src="/b.png" data-srcset="/b.png 1x, /a.png 2x">'), 0);
  });

  it('jsessionid-only change: 0 by default, 2 with exact comparison', () => {
    const a = '<a href="/page;jsessionid=AAAA111">Link</a>';
    const b = '<a href="/page;jsessionid=BBBB222">Link</a>';
    assert.equal(changeCount(a, b), 0);
    assert.equal(changeCount(a, b, []), 2);
  });

  it('UK web archive: 0 with wayback_uk', () => {
    const a = '<a href="https://www.webarchive.org.uk/wayback/en/archive/20180101000000/https://www.gov.uk/x">Link</a>';
    const b = '<a href="https://www.webarchive.org.uk/wayback/en/archive/20190101000000mp_/https://www.gov.uk/x">Link</a>';
    assert.equal(changeCount(a, b, ['wayback_uk']), 0);
    assert.equal(changeCount(a, b), 2);
  });

  it('all three combined', () => {
    const a = '<a href="https://web.archive.org/web/20180101000000/https://www.example.com/p;jsessionid=A1">Link</a><a href="https://www.webarchive.org.uk/wayback/en/archive/20180101000000/https://www.gov.uk/x">UK</a>';
    const b = '<a href="https://web.archive.org/web/20190101000000/https://www.example.com/p;jsessionid=B2">Link</a><a href="https://www.webarchive.org.uk/wayback/en/archive/20190101000000/https://www.gov.uk/x">UK</a>';
    assert.equal(changeCount(a, b, ['jsessionid', 'wayback', 'wayback_uk']), 0);
  });

  it('an archived URL never equals a live URL with the same text', () => {
    assert.notEqual(normalizeUrl('https://web.archive.org/web/20180101000000/http://example.com/', ['wayback']), normalizeUrl('example.com/', ['wayback']));
  });
});

describe('parseSrcset', () => {
  it('trims, splits on commas and keeps the URL before its descriptor', () => {
    assert.deepEqual(parseSrcset(' a.png 1x,  a2.png 2x ,a3.png'), ['a.png', 'a2.png', 'a3.png']);
    assert.deepEqual(parseSrcset('a.png 100w, b.png 200w'), ['a.png', 'b.png']);
  });
  it('keeps commas inside URLs (data: URLs) and handles descriptor-less trailing commas', () => {
    assert.deepEqual(parseSrcset('data:image/png;base64,AAA= 1x, b.png,'), ['data:image/png;base64,AAA=', 'b.png']);
    assert.deepEqual(parseSrcset(''), []);
  });
});

describe('html_token parseOptions', () => {
  it('defaults: combined, jsessionid, settings copied as plain data', () => {
    const options = parseHtmlTokenOptions({}, SETTINGS);
    assert.deepEqual(options, {
      include: 'combined',
      urlRules: ['jsessionid'],
      insertionColor: '#a1d76a',
      deletionColor: '#e8a4c8',
      maxTokens: 1234,
      maxNodes: 5678,
      maxChars: 10_000_000,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(options)), options);
  });

  it('url_rules: comma-combined with spaces; empty means exact comparison', () => {
    assert.deepEqual(parseHtmlTokenOptions({ url_rules: ' wayback , wayback_uk,jsessionid' }, SETTINGS).urlRules, ['wayback', 'wayback_uk', 'jsessionid']);
    assert.deepEqual(parseHtmlTokenOptions({ url_rules: '' }, SETTINGS).urlRules, []);
  });

  it('unknown url rule and unknown include are 400s', () => {
    assert.throws(() => parseHtmlTokenOptions({ url_rules: 'jsessionid,bogus' }, SETTINGS), BadRequestError);
    assert.throws(() => parseHtmlTokenOptions({ include: 'everything' }, SETTINGS), BadRequestError);
    for (const include of ['combined', 'insertions', 'deletions', 'all']) {
      assert.equal(parseHtmlTokenOptions({ include }, SETTINGS).include, include);
    }
  });

  it('the definition: name, accepted content, text needed, run returns counts and views', () => {
    assert.equal(htmlTokenDiff.name, 'html_token');
    assert.equal(htmlTokenDiff.accepts, 'html');
    assert.equal(htmlTokenDiff.needsText, true);
    const side = (text: string) => ({ bytes: new TextEncoder().encode(text), text });
    const result = htmlTokenDiff.run(side('<p>a b</p>'), side('<p>a c</p>'), parseHtmlTokenOptions({}, { ...SETTINGS, htmlTokenMaxTokens: 100, maxHtmlNodes: 100 }));
    assert.equal(result.change_count, 2);
    assert.equal(typeof result.combined, 'string');
    assert.equal('diff' in result, false);
  });
});
