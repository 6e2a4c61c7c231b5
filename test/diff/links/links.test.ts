import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'parse5';
import { TooLargeError } from '../../../src/errors.ts';
import { findFirstElement, getAttribute, isElement, isTextNode, walk, type Element, type Node } from '../../../src/diff/html-parse.ts';
import {
  budgetedSubdiff,
  coarseDiff,
  linksDiff,
  linksJsonDiff,
  maxLinksFor,
  parseLinksOptions,
  type LinkDiffEntry,
  type LinksOptions,
} from '../../../src/diff/links/index.ts';
import type { DiffSettings, DiffSide } from '../../../src/diff/types.ts';

const settings: DiffSettings = {
  insertionColor: '#a1d76a',
  deletionColor: '#e8a4c8',
  dmpTimeoutMs: 2_000,
  dmpMaxTimeoutMs: 10_000,
  htmlTokenMaxTokens: 500_000,
  maxTextChars: 10_000_000,
  maxChangedChars: 10_000_000,
  maxHtmlNodes: 300_000,
  maxHtmlChars: 10_000_000,
  maxPdfPages: 500,
};
const options = parseLinksOptions({}, settings);

const side = (text: string, url?: string): DiffSide => ({ bytes: new TextEncoder().encode(text), text, ...(url === undefined ? {} : { url }) });

function linksJson(a: string, b: string, extra: { aUrl?: string; bUrl?: string; options?: LinksOptions } = {}) {
  return linksJsonDiff.run(side(a, extra.aUrl), side(b, extra.bUrl), extra.options ?? options) as { change_count: number; diff: LinkDiffEntry[] };
}

function linksHtml(a: string, b: string, runOptions: LinksOptions = options) {
  return linksDiff.run(side(a), side(b), runOptions) as { change_count: number; diff: string };
}

const fixture = (name: string): string => readFileSync(new URL(`../../../fixtures/${name}`, import.meta.url), 'utf8');
const example = (name: string): [string, string] => [fixture(`examples/${name}.before`), fixture(`examples/${name}.after`)];
const link = (text: string, href: string, resolved = href) => ({ text, href, resolved_href: resolved });

function textOf(node: Node): string {
  let text = '';
  for (const event of walk(node)) if (event.kind === 'enter' && isTextNode(event.node)) text += event.node.value;
  return text;
}

function elements(root: Node, tagName: string): Element[] {
  const found: Element[] = [];
  for (const event of walk(root)) if (event.kind === 'enter' && isElement(event.node) && event.node.tagName === tagName) found.push(event.node);
  return found;
}

describe('links_json: conformance examples (spec/diff-types.md §2.7, html-token.md §3.12)', () => {
  it('add-list', () => {
    assert.deepEqual(linksJson(...example('add-list')), {
      change_count: 1,
      diff: [[0, link('Link a', '/a')], [0, link('Link b', '/b')], [1, link('Link c', '/c')]],
    });
  });

  it('remove-list', () => {
    assert.deepEqual(linksJson(...example('remove-list')), {
      change_count: 1,
      diff: [[0, link('Link a', '/a')], [0, link('Link b', '/b')], [-1, link('Link c', '/c')]],
    });
  });

  it('change-href: a 100 entry with nested dmp diffs and both hrefs', () => {
    assert.deepEqual(linksJson(...example('change-href')), {
      change_count: 1,
      diff: [
        [
          100,
          {
            text: [[0, 'Link Text']],
            href: [[0, '/'], [-1, 'som'], [1, 'els'], [0, 'ewhere']],
            hrefs: ['/somewhere', '/elsewhere'],
            resolved_hrefs: ['/somewhere', '/elsewhere'],
          },
        ],
      ],
    });
  });

  it('change-list-text: a case-only text change is reported (the anchor hid it)', () => {
    assert.deepEqual(linksJson(...example('change-list-text')), {
      change_count: 1,
      diff: [
        [100, { text: [[0, 'Link '], [-1, 'a'], [1, 'A']], href: [[0, '/a']], hrefs: ['/a', '/a'], resolved_hrefs: ['/a', '/a'] }],
        [0, link('Link b', '/b')],
      ],
    });
  });

  it('pairs the surviving "Pony time!" link with its exact match, not its namesake', () => {
    const a = '<a href="/a">Pony time!</a><a href="/b">Pony time!</a>';
    const b = '<a href="/b">Pony time!</a><a href="not-ponies.com">Donkey time.</a>';
    assert.deepEqual(linksJson(a, b), {
      change_count: 2,
      diff: [[1, link('Donkey time.', 'not-ponies.com')], [0, link('Pony time!', '/b')], [-1, link('Pony time!', '/a')]],
    });
  });

  it('reports an image link whose alt text disappeared as changed', () => {
    assert.deepEqual(linksJson('<a href="/y"><img src="l.png" alt="Logo"></a>', '<a href="/y"><img src="l.png"></a>').diff, [
      [100, { text: [[0, '[image'], [-1, ': Logo'], [0, ']']], href: [[0, '/y']], hrefs: ['/y', '/y'], resolved_hrefs: ['/y', '/y'] }],
    ]);
  });

  it('de-duplicates exact duplicates per page, but not links differing in case', () => {
    const result = linksJson('<a href="/x">Home</a>', '<a href="/x">Home</a><a href="/x">Home</a><a href="/x">HOME</a>');
    assert.equal(result.change_count, 1);
    assert.deepEqual(result.diff, [[0, link('Home', '/x')], [1, link('HOME', '/x')]]);
  });

  it('treats a case-only change of scheme or host as no change', () => {
    assert.deepEqual(linksJson('<a href="HTTP://EXAMPLE.com/A">A</a>', '<a href="http://example.COM/A">A</a>'), {
      change_count: 0,
      diff: [[0, link('A', 'http://example.com/A')]],
    });
  });

  it('keeps a changed link at its sorted place among unchanged ones', () => {
    const a = '<a href="/a">Alpha</a><a href="/b">Beta</a><a href="/c">Gamma</a>';
    const b = '<a href="/a">Alpha</a><a href="/b2">Beta</a><a href="/c">Gamma</a>';
    assert.deepEqual(linksJson(a, b).diff.map(([code]) => code), [0, 100, 0]);
  });

  it('finds links inside <noscript> (parsed with scripting off, as the anchor does)', () => {
    assert.deepEqual(linksJson('<p>none</p>', '<noscript><p><a href="/no-js">Plain version</a></p></noscript>'), {
      change_count: 1,
      diff: [[1, link('Plain version', '/no-js')]],
    });
  });

  it('handles documents nested 100 000 deep', () => {
    const result = linksJson('<div>'.repeat(100_000) + '<a href="/y">y</a>', '<a href="/x">' + '<span>'.repeat(100_000) + 'deep text');
    assert.deepEqual(result.diff, [[1, link('deep text', '/x')], [-1, link('y', '/y')]]);
  });

  it('gives change_count 0 and only 0 entries for identical pages, and an empty list for pages without links', () => {
    const [page] = example('add-list');
    const same = linksJson(page, page);
    assert.equal(same.change_count, 0);
    assert.ok(same.diff.every(([code]) => code === 0));
    assert.deepEqual(linksJson('<p>no links</p>', ''), { change_count: 0, diff: [] });
  });
});

describe('resolved_href (extension)', () => {
  it('resolves each side against its own page URL; 100 entries carry resolved_hrefs', () => {
    const result = linksJson('<a href="report.pdf">Report</a>', '<a href="report-v2.pdf">Report</a>', {
      aUrl: 'https://www.epa.gov/old/index.html',
      bUrl: 'https://www.epa.gov/new/index.html',
    });
    const [code, change] = result.diff[0]!;
    assert.equal(code, 100);
    assert.deepEqual((change as { hrefs: unknown }).hrefs, ['report.pdf', 'report-v2.pdf']);
    assert.deepEqual((change as { resolved_hrefs: unknown }).resolved_hrefs, [
      'https://www.epa.gov/old/report.pdf',
      'https://www.epa.gov/new/report-v2.pdf',
    ]);
  });

  it('uses <base href>', () => {
    const result = linksJson('', '<head><base href="https://data.example.gov/sets/"></head><a href="air.csv">Air</a>', {
      bUrl: 'https://www.example.gov/page',
    });
    assert.deepEqual(result.diff, [[1, link('Air', 'air.csv', 'https://data.example.gov/sets/air.csv')]]);
  });
});

describe('links: HTML rendering (spec/diff-types.md §2.8)', () => {
  const a = '<title>Old title</title><p>Some page text</p><a href="http://example.com/x">Example</a><a href="#top">Top</a>';
  const b = '<title>The new title</title><p>Some page text</p><a href="http://example.com/y">Example</a><a href="/new">New link</a><a href="#top">Top</a>';

  it('renders the worked example', () => {
    const result = linksHtml(a, b);
    assert.equal(result.change_count, 2);
    const document = parse(result.diff);
    assert.equal(document.childNodes[0]!.nodeName, '#documentType');
    assert.equal(textOf(findFirstElement(document, 'title')!), 'The new title');
    assert.equal(getAttribute(findFirstElement(document, 'meta')!, 'charset'), 'utf-8');
    const style = findFirstElement(document, 'style')!;
    assert.equal(getAttribute(style, 'id'), 'wm-diff-style');
    assert.match(textOf(style), /#a1d76a/);
    assert.match(textOf(style), /#e8a4c8/);
    assert.match(textOf(style), /(^|\n)script \{ display: none !important; \}/);

    const table = findFirstElement(document, 'table')!;
    assert.equal(getAttribute(table, 'class'), 'links-list');
    assert.deepEqual(elements(table, 'col').map((col) => getAttribute(col, 'class')), [
      'links-list--change-type-col',
      'links-list--text-col',
      'links-list--href-col',
    ]);
    assert.deepEqual(elements(findFirstElement(table, 'thead')!, 'th').map(textOf), ['', 'Link Text', 'URL']);

    const rows = elements(findFirstElement(table, 'tbody')!, 'tr');
    assert.deepEqual(rows.map((row) => row.attrs), [
      [{ name: 'class', value: 'links-list--item' }, { name: 'wm-has-deletions', value: 'True' }, { name: 'wm-has-insertions', value: 'True' }],
      [{ name: 'class', value: 'links-list--item' }, { name: 'wm-has-insertions', value: 'True' }, { name: 'wm-inserted', value: 'True' }],
    ]);
    const [changedCells, addedCells] = rows.map((row) => elements(row, 'td'));
    assert.equal(getAttribute(changedCells![0]!, 'class'), 'links-list--change-type');
    assert.equal(getAttribute(changedCells![0]!, 'title'), 'Changed');
    assert.equal(textOf(changedCells![0]!), '±');
    assert.equal(textOf(changedCells![1]!), 'Example');
    const changedLinks = elements(changedCells![2]!, 'a');
    assert.deepEqual(changedLinks.map((el) => getAttribute(el, 'href')), ['http://example.com/y', 'http://example.com/x']);
    assert.deepEqual(changedLinks.map(textOf), ['(http://example.com/y)', '(http://example.com/x)']);
    assert.equal(textOf(elements(changedLinks[0]!, 'ins')[0]!), 'y');
    assert.equal(getAttribute(elements(changedLinks[0]!, 'ins')[0]!, 'class'), 'wm-diff');
    assert.equal(textOf(elements(changedLinks[1]!, 'del')[0]!), 'x');
    assert.equal(elements(changedCells![2]!, 'br').length, 1);

    assert.equal(getAttribute(addedCells![0]!, 'title'), 'Added');
    assert.equal(textOf(addedCells![0]!), '+');
    assert.equal(textOf(addedCells![1]!), 'New link');
    assert.equal(getAttribute(elements(addedCells![2]!, 'a')[0]!, 'href'), '/new');
    assert.equal(textOf(addedCells![2]!), '(/new)');
  });

  it('marks unchanged and deleted rows, and shows both views of a changed text', () => {
    const html = linksHtml('<a href="/k">Keep</a><a href="/gone">Gone</a><a href="/t">Old text</a>', '<a href="/k">Keep</a><a href="/t">New text</a>').diff;
    const rows = elements(findFirstElement(parse(html), 'tbody')!, 'tr');
    const byText = new Map(rows.map((row) => [textOf(elements(row, 'td')[1]!), row]));
    const gone = byText.get('Gone')!;
    assert.deepEqual(gone.attrs.map((attr) => attr.name).sort(), ['class', 'wm-deleted', 'wm-has-deletions']);
    assert.equal(textOf(elements(gone, 'td')[0]!), '-');
    const kept = byText.get('Keep')!;
    assert.deepEqual(kept.attrs.map((attr) => attr.name), ['class']);
    assert.equal(textOf(elements(kept, 'td')[0]!), '⚬');
    assert.equal(getAttribute(elements(kept, 'td')[0]!, 'title'), undefined);
    const changedRow = rows.find((row) => getAttribute(elements(row, 'td')[0]!, 'title') === 'Changed')!;
    const textCell = elements(changedRow, 'td')[1]!;
    assert.deepEqual(elements(textCell, 'ins').map(textOf), ['New']);
    assert.deepEqual(elements(textCell, 'del').map(textOf), ['Old']);
    assert.equal(elements(textCell, 'br').length, 1);
    // Same href: one link, no deletion view.
    assert.equal(elements(elements(changedRow, 'td')[2]!, 'a').length, 1);
  });

  it('shows only outgoing links, not the page text', () => {
    const html = linksHtml(a, b).diff;
    assert.ok(!html.includes('Some page text'));
    assert.ok(!html.includes('Top'));
    const single = linksHtml('', '<p>Words</p><a href="/out">Out</a><a href="#local">Local</a>').diff;
    assert.equal(single.split('<a').length - 1, 1);
  });

  it('writes image links as [image: alt] and [image]', () => {
    const html = linksHtml('', '<a href="/1"><img src="x.png" alt="Alt text!"></a><a href="/2"><img src="y.png"></a>').diff;
    assert.ok(html.includes('[image: Alt text!]'));
    assert.ok(html.includes('[image]'));
  });

  it('escapes link text, hrefs and the title (the anchor injected them raw)', () => {
    const b =
      '<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>' +
      '<a href="/x">&lt;script&gt;alert(1)&lt;/script&gt;</a>' +
      '<a href="/y?a=1&amp;b=&quot;&gt;&lt;img src=x onerror=alert(2)&gt;">&lt;img src=x onerror=alert(3)&gt;</a>';
    const result = linksHtml('<a href="/x">&lt;b&gt;old&lt;/b&gt;</a>', b);
    const document = parse(result.diff);
    assert.equal(elements(document, 'script').length, 0);
    assert.equal(elements(document, 'img').length, 0);
    assert.equal(elements(document, 'b').length, 0);
    assert.equal(textOf(findFirstElement(document, 'title')!), '</title><script>alert(1)</script>');
    const cells = elements(findFirstElement(document, 'tbody')!, 'td');
    const cellTexts = cells.map(textOf);
    assert.ok(cellTexts.includes('<img src=x onerror=alert(3)>'));
    assert.ok(cellTexts.some((text) => text.includes('<script>alert(1)</script>')));
    const hrefs = elements(document, 'a').map((el) => getAttribute(el, 'href'));
    assert.ok(hrefs.includes('/y?a=1&b="><img src=x onerror=alert(2)>'));
  });

  it('escapes markup in the shared part of a changed link, in both the insertion and the deletion view', () => {
    const shared = '&lt;b&gt;Tom &amp; &lt;i&gt;Jerry&lt;/i&gt;&lt;/b&gt; ';
    const result = linksHtml(
      `<a href="/text">${shared}old</a><a href="/p?q=&lt;b&gt;&amp;n=1">Same</a>`,
      `<a href="/text">${shared}new</a><a href="/p?q=&lt;b&gt;&amp;n=2">Same</a>`,
    );
    const document = parse(result.diff);
    assert.equal(elements(document, 'b').length, 0);
    assert.equal(elements(document, 'i').length, 0);
    const changedRows = elements(findFirstElement(document, 'tbody')!, 'tr').filter((row) => getAttribute(elements(row, 'td')[0]!, 'title') === 'Changed');
    assert.equal(changedRows.length, 2);
    const textCell = changedRows.map((row) => elements(row, 'td')[1]!).find((cell) => textOf(cell).includes('Tom'))!;
    // Insertion view, <br>, deletion view: both read the shared text literally.
    assert.equal(textOf(textCell), '<b>Tom & <i>Jerry</i></b> new<b>Tom & <i>Jerry</i></b> old');
    assert.deepEqual(elements(textCell, 'ins').map(textOf), ['new']);
    assert.deepEqual(elements(textCell, 'del').map(textOf), ['old']);
    const hrefCell = changedRows.map((row) => elements(row, 'td')[2]!).find((cell) => textOf(cell).includes('/p?'))!;
    assert.deepEqual(elements(hrefCell, 'a').map(textOf), ['(/p?q=<b>&n=2)', '(/p?q=<b>&n=1)']);
    assert.deepEqual(elements(hrefCell, 'a').map((a) => getAttribute(a, 'href')), ['/p?q=<b>&n=2', '/p?q=<b>&n=1']);
    assert.deepEqual(elements(hrefCell, 'del').map(textOf), ['1']);
  });

  it('does not make javascript: or data: hrefs clickable, but still lists them', () => {
    const result = linksHtml('', '<a href="javascript:alert(1)">JS</a><a href="java&#9;script:alert(2)">Tab</a><a href="data:text/html,x">Data</a>');
    assert.equal(result.change_count, 3);
    const anchors = elements(parse(result.diff), 'a');
    assert.equal(anchors.length, 3);
    assert.ok(anchors.every((el) => getAttribute(el, 'href') === undefined));
    assert.ok(result.diff.includes('(javascript:alert(1))'));
    assert.equal(linksJson('', '<a href="javascript:alert(1)">JS</a>').diff[0]![1].href, 'javascript:alert(1)');
  });

  it('uses the configured colours, and only plain colour syntax', () => {
    const custom = parseLinksOptions({}, { ...settings, insertionColor: 'rgb(1, 2, 3)', deletionColor: '#123' });
    assert.match(linksHtml('', '', custom).diff, /rgb\(1, 2, 3\)[\s\S]*#123/);
    const hostile = { ...options, insertionColor: 'red;}</style><script>alert(1)</script>' };
    const html = linksHtml('', '<a href="/x">x</a>', hostile).diff;
    assert.ok(!html.includes('alert'));
    assert.equal(elements(parse(html), 'script').length, 0);
  });

  it('gives the same change_count as links_json', () => {
    const [before, after] = example('change-list-text');
    assert.equal(linksHtml(before, after).change_count, linksJson(before, after).change_count);
  });
});

describe('parseOptions', () => {
  it('returns plain data from the settings', () => {
    assert.deepEqual(structuredClone(options), options);
    assert.equal(options.insertionColor, '#a1d76a');
    assert.equal(options.maxHtmlNodes, 300_000);
    assert.equal(options.maxHtmlChars, 10_000_000);
    assert.equal(options.subdiffTimeoutMs, 4_000);
    assert.equal(options.maxLinks, maxLinksFor(300_000));
    assert.equal(linksDiff.name, 'links');
    assert.equal(linksJsonDiff.name, 'links_json');
    assert.equal(linksDiff.accepts, 'html');
    assert.equal(linksJsonDiff.needsText, true);
  });
});

describe('limits', () => {
  it('refuses a page over MAX_HTML_NODES with TooLargeError naming the side', () => {
    const small = parseLinksOptions({}, { ...settings, maxHtmlNodes: 50 });
    const big = '<p>x</p>'.repeat(100);
    assert.throws(
      () => linksJson('<p>ok</p>', big, { options: small }),
      (error: unknown) => error instanceof TooLargeError && error.details['limit'] === 'html_nodes' && error.details['side'] === 'b',
    );
  });

  it('refuses a page over MAX_HTML_CHARS before parsing it', () => {
    const capped = parseLinksOptions({}, { ...settings, maxHtmlChars: 1_000 });
    assert.throws(
      () => linksJson('x'.repeat(1_001), '<p>ok</p>', { options: capped }),
      (error: unknown) => error instanceof TooLargeError && error.details['limit'] === 'html_chars' && error.details['side'] === 'a',
    );
  });

  it('refuses more links per side than the node cap allows', () => {
    const limited = parseLinksOptions({}, { ...settings, maxHtmlNodes: 3_000 });
    assert.equal(limited.maxLinks, 100);
    const page = (count: number): string => Array.from({ length: count }, (_, i) => `<a href="/${i}">${i}</a>`).join('');
    assert.equal(linksJson(page(100), page(100), { options: limited }).diff.length, 100);
    assert.throws(
      () => linksJson(page(101), '', { options: limited }),
      (error: unknown) => error instanceof TooLargeError && error.details['limit'] === 'links' && error.details['side'] === 'a',
    );
  });

  it('gives changed links a coarse diff once the total sub-diff budget is spent', () => {
    const spent = { ...options, subdiffTotalMs: 0 };
    assert.deepEqual(linksJson('<a href="/doc">Annual report 2019</a>', '<a href="/doc">Annual summary 2019</a>', { options: spent }).diff, [
      [100, { text: [[0, 'Annual '], [-1, 'report'], [1, 'summary'], [0, ' 2019']], href: [[0, '/doc']], hrefs: ['/doc', '/doc'], resolved_hrefs: ['/doc', '/doc'] }],
    ]);
    const fresh = budgetedSubdiff(4_000, 4_000);
    assert.deepEqual(fresh('Before', 'After'), [[-1, 'Before'], [1, 'After']]);
  });

  it('coarse diffs never split an emoji', () => {
    assert.deepEqual(coarseDiff('a😀b', 'a😃b'), [[0, 'a'], [-1, '😀'], [1, '😃'], [0, 'b']]);
    assert.deepEqual(coarseDiff('same', 'same'), [[0, 'same']]);
    assert.deepEqual(coarseDiff('', 'new'), [[1, 'new']]);
  });
});

describe('real pages', () => {
  const versions = (id: string): string => fixture(`real-versions/${id}`);

  it('finds the new and removed press releases between two versions of energy.gov', () => {
    const result = linksJson(versions('9d4de183-a186-456c-bffb-55d82989877d'), versions('775a8b04-9bac-4d0d-8db0-a8e133c4a964'));
    const added = result.diff.filter(([code]) => code === 1).map(([, item]) => (item as { text: string }).text);
    const removed = result.diff.filter(([code]) => code === -1).map(([, item]) => (item as { text: string }).text);
    assert.ok(added.includes('Secretary Perry Urges FERC to Take Swift Action to Address Threats to Grid Resiliency'));
    assert.ok(removed.includes('U.S. Department of Energy Proposes Expedited Approval for Small-Scale Natural Gas Exports'));
    assert.equal(result.change_count, result.diff.filter(([code]) => code !== 0).length);
    assert.ok(result.diff.filter(([code]) => code === 0).length > 100);
  });

  it('renders a real pair as a well-formed table with one row per entry', () => {
    const a = versions('f2d5d701-707a-42e0-8881-653346d01e0a');
    const b = versions('fc74d750-c651-46b7-bf74-434ad8c62e04');
    const html = linksHtml(a, b);
    const json = linksJson(a, b);
    assert.equal(html.change_count, json.change_count);
    const document = parse(html.diff);
    assert.equal(elements(findFirstElement(document, 'tbody')!, 'tr').length, json.diff.length);
    assert.equal(elements(document, 'script').length, 0);
  });

  const pagesDir = new URL('../../../fixtures/pages/', import.meta.url);
  it('finds the one added link in each page pair of the corpus', () => {
    const manifest = JSON.parse(readFileSync(new URL('manifest.json', pagesDir), 'utf8')) as { id: string }[];
    assert.equal(manifest.length, 20);
    for (const { id } of manifest) {
      const a = readFileSync(new URL(`${id}.a.html`, pagesDir), 'utf8');
      const b = readFileSync(new URL(`${id}.b.html`, pagesDir), 'utf8');
      const aHrefs = new Set([...a.matchAll(/href="([^"]*)"/g)].map((m) => m[1]));
      const newHrefs = [...new Set([...b.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!))].filter((href) => !aHrefs.has(href));
      assert.ok(newHrefs.length >= 1, id);
      const result = linksJson(a, b);
      for (const href of newHrefs) {
        const entry = result.diff.find(([code, item]) =>
          code === 1 ? item.href === href : code === 100 ? item.hrefs[1] === href && item.hrefs[0] !== href : false,
        );
        assert.ok(entry !== undefined, `${id}: ${href} not reported as added or changed`);
      }
    }
  });
});
