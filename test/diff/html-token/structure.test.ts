import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { seededRandom } from '../../helpers/random.ts';
import { counts, diff, EXAMPLES_DIR, PAGES_DIR, REAL_VERSIONS_DIR } from './helpers.ts';
import { basePage, editPage } from './structural-edits.ts';
import { structureProblems } from './structure-invariants.ts';

// html_token views keep the page's structure (issue #15): a change never crosses a block or
// table-cell boundary, tables and lists stay valid, every view re-parses to its page's tree.

/** The combined body, as written. */
function combinedBody(a: string, b: string): string {
  const combined = diff(a, b, { include: 'combined' }).combined!;
  return combined.slice(combined.indexOf('<body>') + '<body>'.length, combined.lastIndexOf('</body>'));
}

describe('html_token structure: worked examples (expected markup written by hand)', () => {
  it('a changed row keeps its row; only the changed cell is marked', () => {
    assert.equal(
      combinedBody(
        '<table><tr><td>San Juan</td><td>1</td></tr><tr><td>Canovanas</td><td>2</td></tr><tr><td>Ponce</td><td>3</td></tr></table>',
        '<table><tr><td>San Juan</td><td>1</td></tr><tr><td>Canóvanas</td><td>2</td></tr><tr><td>Ponce</td><td>3</td></tr></table>',
      ),
      '<table><tbody><tr><td>San Juan</td><td>1</td></tr><tr><td><del class="wm-diff">Canovanas</del><ins class="wm-diff">Canóvanas</ins></td><td>2</td></tr><tr><td>Ponce</td><td>3</td></tr></tbody></table>',
    );
  });

  it('changes in consecutive rows are marked cell by cell, never across rows', () => {
    assert.equal(
      combinedBody(
        '<table><tr><td>Canovanas</td><td>2</td></tr><tr><td>Loiza</td><td>5</td></tr><tr><td>Mayaguez</td><td>7</td></tr><tr><td>San Juan</td><td>9</td></tr></table>',
        '<table><tr><td>Canóvanas</td><td>2</td></tr><tr><td>Loíza</td><td>5</td></tr><tr><td>Mayagüez</td><td>7</td></tr><tr><td>San Juan</td><td>9</td></tr></table>',
      ),
      '<table><tbody><tr><td><del class="wm-diff">Canovanas</del><ins class="wm-diff">Canóvanas</ins></td><td>2</td></tr>' +
        '<tr><td><del class="wm-diff">Loiza</del><ins class="wm-diff">Loíza</ins></td><td>5</td></tr>' +
        '<tr><td><del class="wm-diff">Mayaguez</del><ins class="wm-diff">Mayagüez</ins></td><td>7</td></tr><tr><td>San Juan</td><td>9</td></tr></tbody></table>',
    );
  });

  it('a deleted and an inserted row stay rows, marked cell by cell, in document order', () => {
    assert.equal(
      combinedBody(
        '<table><tr><td>a a</td><td>1</td></tr><tr><td>b b</td><td>2</td></tr><tr><td>c c</td><td>3</td></tr></table>',
        '<table><tr><td>a a</td><td>1</td></tr><tr><td>c c</td><td>3</td></tr><tr><td>d d</td><td>4</td></tr></table>',
      ),
      '<table><tbody><tr><td>a a</td><td>1</td></tr>' +
        '<tr data-wm-diff-deleted=""><td><del class="wm-diff">b b</del></td><td><del class="wm-diff">2</del></td></tr>' +
        '<tr><td>c c</td><td>3</td></tr><tr><td><ins class="wm-diff">d d</ins></td><td><ins class="wm-diff">4</ins></td></tr></tbody></table>',
    );
  });

  it('a deleted paragraph is marked whole, not the same words of the next one', () => {
    assert.equal(
      combinedBody(
        '<div><p>Changed in version 3.3: The a mode was added.</p><p>Changed in version 3.4: The x mode was added.</p></div>',
        '<div><p>Changed in version 3.4: The x mode was added.</p></div>',
      ),
      '<div><p data-wm-diff-deleted=""><del class="wm-diff">Changed in version 3.3: The a mode was added.</del></p><p>Changed in version 3.4: The x mode was added.</p></div>',
    );
  });

  it('an unchanged heading that starts like a deleted paragraph stays unmarked', () => {
    assert.equal(
      combinedBody('<h2>Notes</h2><p>See also the module docs.</p><h2>See also</h2><p>Module x.</p>', '<h2>Notes</h2><h2>See also</h2><p>Module x.</p>'),
      '<h2>Notes</h2><p data-wm-diff-deleted=""><del class="wm-diff">See also the module docs.</del></p><h2>See also</h2><p>Module x.</p>',
    );
  });

  it('the words of two blocks are never glued into one marker (issue example)', () => {
    assert.equal(combinedBody('<p>b</p><div>c</div>', '<p>b2</p><div>c</div>'), '<p><del class="wm-diff">b</del><ins class="wm-diff">b2</ins></p><div>c</div>');
  });

  it('a deleted list item stays an item of its own, nested lists too', () => {
    assert.equal(
      combinedBody('<ul><li>one two</li><li>three four</li><li>five six</li></ul>', '<ul><li>one two</li><li>five six</li></ul>'),
      '<ul><li>one two</li><li data-wm-diff-deleted=""><del class="wm-diff">three four</del></li><li>five six</li></ul>',
    );
    assert.equal(
      combinedBody('<ul><li>A<ul><li>x y</li><li>z w</li></ul></li><li>B</li></ul>', '<ul><li>A<ul><li>z w</li></ul></li><li>B</li></ul>'),
      '<ul><li>A<ul><li data-wm-diff-deleted=""><del class="wm-diff">x y</del></li><li>z w</li></ul></li><li>B</li></ul>',
    );
  });

  it('the invariant checker sees a marker in a row, a glued deletion and a no-op pair', () => {
    const page = (body: string) => `<html><head></head><body>${body}</body></html>`;
    const a = '<table><tr><td>x</td></tr></table><p>b</p><div>c</div>';
    const b = '<table><tr><td>y</td></tr></table><p>b2</p><div>c</div>';
    const broken = {
      change_count: 2,
      insertions_count: 1,
      deletions_count: 1,
      combined: page('<table><tbody><tr><del class="wm-diff">x</del><td>y</td></tr></tbody></table><p><del class="wm-diff">bc</del><ins class="wm-diff">b2</ins></p><div><del class="wm-diff">c</del><ins class="wm-diff">c</ins></div>'),
    };
    const problems = structureProblems(a, b, broken).join('\n');
    assert.match(problems, /combined: <table> written at \d+ was moved by the parser/); // the <del> was foster-parented before it
    assert.match(problems, /deletion "bc" is not within one block/);
    assert.match(problems, /no-op pair: "c"/);
  });
});

/** Every pair of the fixtures: the pages corpus, the worked examples, and the real versions both ways. */
function fixturePairs(): [string, string, string][] {
  const pairs: [string, string, string][] = [];
  for (const name of readdirSync(PAGES_DIR).filter((file) => file.endsWith('.a.html')).sort()) {
    const id = name.slice(0, -'.a.html'.length);
    pairs.push([`pages/${id}`, readFileSync(new URL(name, PAGES_DIR), 'utf8'), readFileSync(new URL(`${id}.b.html`, PAGES_DIR), 'utf8')]);
  }
  for (const name of readdirSync(EXAMPLES_DIR).filter((file) => file.endsWith('.before')).sort()) {
    const id = name.slice(0, -'.before'.length);
    pairs.push([`examples/${id}`, readFileSync(new URL(name, EXAMPLES_DIR), 'utf8'), readFileSync(new URL(`${id}.after`, EXAMPLES_DIR), 'utf8')]);
  }
  const real = (id: string) => readFileSync(new URL(id, REAL_VERSIONS_DIR), 'utf8');
  for (const [a, b] of REAL_VERSION_PAIRS) {
    pairs.push([`real-versions/${a.slice(0, 8)}→${b.slice(0, 8)}`, real(a), real(b)]);
    pairs.push([`real-versions/${b.slice(0, 8)}→${a.slice(0, 8)}`, real(b), real(a)]);
  }
  return pairs;
}

const REAL_VERSION_PAIRS = [
  ['f2d5d701-707a-42e0-8881-653346d01e0a', 'fc74d750-c651-46b7-bf74-434ad8c62e04'],
  ['9d4de183-a186-456c-bffb-55d82989877d', '775a8b04-9bac-4d0d-8db0-a8e133c4a964'],
] as const;

/** Counts of every fixture pair, which agree with web-monitoring-diff: the structure work must not change them. */
const FIXTURE_COUNTS: Record<string, [number, number, number]> = {
  'pages/00-tutorial_whatnow': [10, 5, 5],
  'pages/01-library_spwd': [12, 6, 6],
  'pages/02-c-api_memoryview': [10, 5, 5],
  'pages/03-library_atexit': [10, 5, 5],
  'pages/04-library_urllib.robotparser': [11, 6, 5],
  'pages/05-library_getopt': [12, 6, 6],
  'pages/06-library_xml.sax': [12, 6, 6],
  'pages/07-library_code': [12, 6, 6],
  'pages/08-library_heapq': [12, 6, 6],
  'pages/09-library_selectors': [12, 6, 6],
  'pages/10-library_bz2': [10, 5, 5],
  'pages/11-library_email.parser': [12, 6, 6],
  'pages/12-library_mmap': [12, 6, 6],
  'pages/13-faq_library': [12, 6, 6],
  'pages/14-c-api_memory': [12, 6, 6],
  'pages/15-library_imaplib': [12, 6, 6],
  'pages/16-library_enum': [12, 6, 6],
  'pages/17-library_pickle': [10, 5, 5],
  'pages/18-library_subprocess': [12, 6, 6],
  'pages/19-library_unittest': [12, 6, 6],
  'examples/add-list': [1, 1, 0],
  'examples/add-paragraph': [1, 1, 0],
  'examples/change-href': [2, 1, 1],
  'examples/change-link-text': [2, 1, 1],
  'examples/change-list-href': [2, 1, 1],
  'examples/change-list-text': [2, 1, 1],
  'examples/change-tag': [0, 0, 0],
  'examples/change-title': [0, 0, 0],
  'examples/change-word-in-paragraph': [2, 1, 1],
  'examples/ins-in-source': [2, 1, 1],
  'examples/remove-list': [1, 0, 1],
  'examples/two-paragraphs': [2, 1, 1],
  'real-versions/f2d5d701-707a-42e0-8881-653346d01e0a/fc74d750-c651-46b7-bf74-434ad8c62e04': [143, 72, 71],
  'real-versions/9d4de183-a186-456c-bffb-55d82989877d/775a8b04-9bac-4d0d-8db0-a8e133c4a964': [6, 3, 3],
};

describe('html_token structure: every fixture pair', () => {
  for (const [name, a, b] of fixturePairs()) {
    it(`${name}: every view keeps its page's structure`, () => {
      const result = diff(a, b);
      assert.deepEqual(structureProblems(a, b, result), []);
      const key = name.startsWith('real-versions/') ? undefined : name;
      if (key !== undefined) assert.deepEqual(counts(result), FIXTURE_COUNTS[key]);
    });
  }

  it('real-version counts are unchanged', () => {
    const real = (id: string) => readFileSync(new URL(id, REAL_VERSIONS_DIR), 'utf8');
    for (const [a, b] of REAL_VERSION_PAIRS) assert.deepEqual(counts(diff(real(a), real(b), { include: 'combined' })), FIXTURE_COUNTS[`real-versions/${a}/${b}`]);
  });
});

describe('html_token structure: generated structural edits of real pages', () => {
  it('200 seeded edits (rows, cells, items, paragraphs, headings; split, merge, move; nested tables and lists) keep every invariant', () => {
    const random = seededRandom(15);
    for (let round = 0; round < 200; round += 1) {
      const a = basePage(random);
      const { html: b, edits } = editPage(random, a);
      const result = diff(a, b);
      assert.equal(result.change_count, result.insertions_count + result.deletions_count);
      assert.deepEqual(structureProblems(a, b, result), [], `round ${round}: ${edits.join(', ')}`);
    }
  });
});
