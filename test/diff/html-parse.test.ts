import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, serialize } from 'parse5';
import { TooLargeError } from '../../src/errors.ts';
import { parseHtmlDocument } from '../../src/diff/html-parse.ts';
import { seededRandom } from '../helpers/random.ts';

const ours = (html: string, scriptingEnabled = false): string =>
  serialize(parseHtmlDocument(html, { maxNodes: 10_000_000, scriptingEnabled }));
const parse5s = (html: string, scriptingEnabled = false): string => serialize(parse(html, { scriptingEnabled }));

const isTooLarge = (limit: string) => (err: unknown) => err instanceof TooLargeError && err.details.limit === limit;

describe('parseHtmlDocument builds the tree parse5 builds', () => {
  it('on text in many pieces, foster-parented text and mis-nested tags', () => {
    const cases = [
      `<p>${'word '.repeat(5_000)}</p>`, // more than one chunk of pieces
      `<table>fostered <td>cell</td> more fostered<tr><td>x</td></tr> and more</table>after`,
      '<table>a<b>b</b>c</table>',
      '<b>one<p>two</b>three</p>four',
      '<template>in <b>template</b> text</template> and after',
      '<noscript><p>no <i>script</i></p></noscript>',
      '<pre>\n\nkeep</pre><textarea>\nraw &amp; text</textarea>',
      '<select><option>a<option>b</select>x &amp; y &lt; z',
      '<html><body>x<body class=a id=b><html lang=en dir=ltr><body class=c onload=d>y',
      '<br><hr><img src=x><input><p></p><div></div>',
      'text only, no tags at all',
      '',
    ];
    for (const html of cases) {
      assert.equal(ours(html), parse5s(html), html.slice(0, 80));
      assert.equal(ours(html, true), parse5s(html, true), html.slice(0, 80));
    }
  });

  it('on random tag soup', () => {
    const pieces = ['<table>', '</table>', '<td>', '<tr>', '<b>', '</b>', '<i>', '</i>', '<p>', '</p>', '<template>', '</template>',
      '<svg>', '</svg>', '<select>', '<option>', '<div>', '</div>', '<!--c-->', 'word', ' ', '\n', '&amp;', 'x y', '<br>', '<a href=x>', '</a>',
      '<body class=b>', '<html lang=en>', '<frameset>', '<head>', '<title>t</title>', '<p id=i title=t>'];
    const random = seededRandom(11);
    for (let round = 0; round < 300; round += 1) {
      let html = '';
      for (let i = 0, n = 1 + Math.floor(random() * 60); i < n; i += 1) html += pieces[Math.floor(random() * pieces.length)];
      assert.equal(ours(html), parse5s(html), html);
    }
  });
});

describe('parseHtmlDocument caps', () => {
  it('counts elements, text nodes, comments and attributes toward maxNodes', () => {
    // html, head, body, p + 3 attributes, one text node, one comment: 9.
    const html = '<p a b c>x</p><!--c-->';
    assert.doesNotThrow(() => parseHtmlDocument(html, { maxNodes: 9 }));
    assert.throws(() => parseHtmlDocument(html, { maxNodes: 8 }), isTooLarge('html_nodes'));
  });

  it('counts the attributes a repeated <body> tag adds', () => {
    const html = '<body a>' + Array.from({ length: 50 }, (_, i) => `<body b${i}>`).join('');
    assert.doesNotThrow(() => parseHtmlDocument(html, { maxNodes: 54 }));
    assert.throws(() => parseHtmlDocument(html, { maxNodes: 53 }), isTooLarge('html_nodes'));
  });

  it('refuses an element with 200 000 attributes at a node cap below that', () => {
    const html = `<p ${Array.from({ length: 200_000 }, (_, i) => `a${i.toString(36)}`).join(' ')}>x</p>`;
    assert.throws(() => parseHtmlDocument(html, { maxNodes: 100_000, side: 'a' }), (err: unknown) => isTooLarge('html_nodes')(err) && (err as TooLargeError).details.side === 'a');
  });

  it('refuses more than maxChars characters before parsing', () => {
    const html = `<p>${'x'.repeat(93)}</p>`;
    assert.doesNotThrow(() => parseHtmlDocument(html, { maxNodes: 100, maxChars: 100 }));
    assert.throws(
      () => parseHtmlDocument(`${html}!`, { maxNodes: 100, maxChars: 100, side: 'b' }),
      (err: unknown) => isTooLarge('html_chars')(err) && (err as TooLargeError).details.max_chars === 100 && (err as TooLargeError).details.side === 'b',
    );
    // A 20 M-character input is refused at once: nothing is tokenised.
    const started = performance.now();
    assert.throws(() => parseHtmlDocument('<p a'.repeat(5_000_000), { maxNodes: 100, maxChars: 1_000 }), isTooLarge('html_chars'));
    assert.ok(performance.now() - started < 1_000);
  });
});

describe('parseHtmlDocument memory', () => {
  // Heap kept by a parsed `before + unit × count + after`, measured in a child with --expose-gc so a full GC runs first.
  function retainedBytes(before: string, unit: string, count: number, after: string): number {
    const module = fileURLToPath(new URL('../../src/diff/html-parse.ts', import.meta.url));
    const script = `
      const { parseHtmlDocument } = await import(${JSON.stringify(module)});
      const [before, unit, count, after] = process.argv.slice(1);
      const html = before + unit.repeat(Number(count)) + after;
      gc(); const start = process.memoryUsage().heapUsed;
      const tree = parseHtmlDocument(html, { maxNodes: 1e9 });
      gc(); const end = process.memoryUsage().heapUsed;
      globalThis.keep = tree;
      console.log(end - start);`;
    const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, before, unit, String(count), after], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    return Number(child.stdout.trim());
  }

  it('keeps about one byte per character of text, not a rope of pieces (~19 bytes per character)', () => {
    const characters = 2_000_000; // one text node of 800 000 pieces
    const bytes = retainedBytes('<p>', 'word ', characters / 5, '</p>');
    assert.ok(bytes < 4 * characters, `${(bytes / characters).toFixed(1)} bytes per character`);
  });

  it('keeps under 150 bytes per node on tiny elements (push left room for 17 children each)', () => {
    const bytes = retainedBytes('', '<b>x</b>', 50_000, ''); // 100 000 nodes
    assert.ok(bytes < 150 * 100_000, `${Math.round(bytes / 100_000)} bytes per node`);
  });
});
