import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAttribute, type Node } from '../../../src/diff/html-parse.ts';
import { bodyOf, counts, diff, elements, markerTexts, linkMarkers, parseOutput, readExample, textContent } from './helpers.ts';

// The worked examples of spec/html-token.md §3.10: same counts, same marked texts.
describe('html_token worked examples', () => {
  const cases: { name: string; counts: [number, number, number]; deleted: string[]; inserted: string[] }[] = [
    { name: 'change-word-in-paragraph', counts: [2, 1, 1], deleted: ['bite,'], inserted: ['byte,'] },
    { name: 'two-paragraphs', counts: [2, 1, 1], deleted: ['Deleted'], inserted: ['Added'] },
    { name: 'add-paragraph', counts: [1, 1, 0], deleted: [], inserted: ['Two'] },
    { name: 'add-list', counts: [1, 1, 0], deleted: [], inserted: ['Link c'] },
    { name: 'remove-list', counts: [1, 0, 1], deleted: ['Link c'], inserted: [] },
    { name: 'change-list-text', counts: [2, 1, 1], deleted: ['a'], inserted: ['A'] },
    { name: 'change-link-text', counts: [2, 1, 1], deleted: ['Before'], inserted: ['After'] },
    { name: 'change-tag', counts: [0, 0, 0], deleted: [], inserted: [] },
    { name: 'change-title', counts: [0, 0, 0], deleted: [], inserted: [] },
    { name: 'ins-in-source', counts: [2, 1, 1], deleted: ['before'], inserted: ['after'] },
    { name: 'change-href', counts: [2, 1, 1], deleted: [], inserted: [] },
  ];
  for (const example of cases) {
    it(`${example.name}: counts and marked texts`, () => {
      const { before, after } = readExample(example.name);
      const result = diff(before, after);
      assert.deepEqual(counts(result), example.counts);
      assert.deepEqual(markerTexts(result.combined!, 'del'), example.deleted);
      assert.deepEqual(markerTexts(result.combined!, 'ins'), example.inserted);
      assert.deepEqual(markerTexts(result.insertions!, 'ins'), example.inserted);
      assert.deepEqual(markerTexts(result.insertions!, 'del'), []);
      assert.deepEqual(markerTexts(result.deletions!, 'del'), example.deleted);
      assert.deepEqual(markerTexts(result.deletions!, 'ins'), []);
    });
  }

  it('change-word-in-paragraph keeps the exact spacing around the change', () => {
    const { before, after } = readExample('change-word-in-paragraph');
    assert.match(
      diff(before, after).combined!,
      /<p>Beware the Jabberwock my son, the jaws that <del class="wm-diff">bite, <\/del><ins class="wm-diff">byte, <\/ins>the claws that catch\.<\/p>/,
    );
  });

  it('two-paragraphs marks inside the shared paragraph, deletion first', () => {
    const { before, after } = readExample('two-paragraphs');
    assert.match(diff(before, after).combined!, /<p><del class="wm-diff">Deleted<\/del><ins class="wm-diff">Added<\/ins><\/p>/);
  });

  it('remove-list shows the deleted item with its list item and link in combined', () => {
    const { before, after } = readExample('remove-list');
    assert.match(diff(before, after).combined!, /<li data-wm-diff-deleted=""><a href="\/c"><del class="wm-diff">Link c<\/del><\/a><\/li>\s*<\/ul>/);
  });

  it('change-tag follows the new document (h2)', () => {
    const { before, after } = readExample('change-tag');
    const result = diff(before, after);
    assert.equal(elements(bodyOf(result.combined!), (e) => e.tagName === 'h2').length, 1);
    assert.equal(elements(bodyOf(result.combined!), (e) => e.tagName === 'h1').length, 0);
    assert.equal(elements(bodyOf(result.deletions!), (e) => e.tagName === 'h1').length, 1);
  });

  it('change-href is counted and shown as marked link symbols carrying both targets', () => {
    const { before, after } = readExample('change-href');
    const result = diff(before, after);
    assert.deepEqual(linkMarkers(result.combined!, 'del'), ['/somewhere']);
    assert.deepEqual(linkMarkers(result.combined!, 'ins'), ['/elsewhere']);
    assert.deepEqual(linkMarkers(result.insertions!, 'ins'), ['/elsewhere']);
    assert.deepEqual(linkMarkers(result.deletions!, 'del'), ['/somewhere']);
    const [link] = elements(bodyOf(result.combined!), (e) => e.tagName === 'a');
    assert.equal(getAttribute(link!, 'href'), '/elsewhere');
    assert.equal(linkMarkers(result.combined!, 'ins').length + linkMarkers(result.combined!, 'del').length, 2);
  });

  it('change-title: head gains the title diff meta and the old head in a template; counts stay 0', () => {
    const { before, after } = readExample('change-title');
    const result = diff(before, after);
    const { document } = parseOutput(result.combined!);
    const [meta] = elements(document, (e) => e.tagName === 'meta' && getAttribute(e, 'name') === 'wm-diff-title');
    assert.equal(getAttribute(meta!, 'content'), '<del class="wm-diff">Before</del><ins class="wm-diff">After</ins>');
    const [template] = elements(document, (e) => e.tagName === 'template' && getAttribute(e, 'id') === 'wm-diff-old-head');
    assert.ok(template);
    assert.equal(textContent((template as unknown as { content: Node }).content).trim(), 'Before');
    const [title] = elements(document, (e) => e.tagName === 'title' && e.parentNode?.nodeName === 'head');
    assert.equal(textContent(title!), 'After');
    // Only combined carries the title diff.
    assert.doesNotMatch(result.insertions!, /wm-diff-title|wm-diff-old-head/);
  });

  it('empty vs content: the empty side is the centred [No Content] paragraph', () => {
    const result = diff('', 'Here is some actual content!');
    assert.deepEqual(counts(result), [2, 1, 1]);
    assert.deepEqual(markerTexts(result.combined!, 'ins'), ['Here is some actual content!']);
    assert.deepEqual(markerTexts(result.combined!, 'del'), ['[No Content]']);
    const [paragraph] = elements(bodyOf(result.deletions!), (e) => e.tagName === 'p');
    assert.equal(getAttribute(paragraph!, 'style'), 'text-align: center;');
    assert.equal(textContent(paragraph!), '[No Content]');
    const both = diff('  \n', '');
    assert.deepEqual(counts(both), [0, 0, 0]);
    assert.match(both.combined!, /<p style="text-align: center;">\[No Content\]<\/p>/);
  });

  it('every view carries the style with the configured colours', () => {
    const { before, after } = readExample('add-paragraph');
    const result = diff(before, after, { insertionColor: '#123456', deletionColor: 'rgb(1, 2, 3)' });
    for (const view of [result.combined!, result.insertions!, result.deletions!]) {
      const [style] = elements(parseOutput(view).document, (e) => e.tagName === 'style' && getAttribute(e, 'id') === 'wm-diff-style');
      assert.match(textContent(style!), /ins\.wm-diff[^{]*\{background-color: #123456 !important;\}/);
      assert.match(textContent(style!), /del\.wm-diff[^{]*\{background-color: rgb\(1, 2, 3\) !important;\}/);
    }
  });

  it('include selects the views; counts are always returned', () => {
    const { before, after } = readExample('add-paragraph');
    assert.deepEqual(Object.keys(diff(before, after, { include: 'combined' })).sort(), ['change_count', 'combined', 'deletions_count', 'insertions_count']);
    assert.deepEqual(Object.keys(diff(before, after, { include: 'insertions' })).sort(), ['change_count', 'deletions_count', 'insertions', 'insertions_count']);
    assert.deepEqual(Object.keys(diff(before, after, { include: 'deletions' })).sort(), ['change_count', 'deletions', 'deletions_count', 'insertions_count']);
    assert.equal(Object.keys(diff(before, after, { include: 'all' })).length, 6);
  });

  it('output of every example re-parses without parse errors', () => {
    for (const name of ['add-list', 'two-paragraphs', 'change-href', 'change-title', 'remove-list', 'change-word-in-paragraph']) {
      const { before, after } = readExample(name);
      const result = diff(before, after);
      for (const view of [result.combined!, result.insertions!, result.deletions!]) {
        // The fixtures have no doctype; that is the one error the source itself carries.
        assert.deepEqual(parseOutput(view).errors.filter((code) => code !== 'missing-doctype'), [], `${name}: ${view}`);
      }
    }
  });
});
