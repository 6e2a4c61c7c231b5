import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counts, diff, markerTexts } from './helpers.ts';

// Scripts, styles, comments and hidden elements never produce visible changes: an element the
// page hides is one whole token, rendered where it is, never marked, never counted.

function assertNoVisibleChange(a: string, b: string): void {
  const result = diff(a, b);
  assert.deepEqual(counts(result), [0, 0, 0]);
  for (const view of [result.combined!, result.insertions!, result.deletions!]) {
    assert.deepEqual(markerTexts(view, 'ins'), [], view);
    assert.deepEqual(markerTexts(view, 'del'), [], view);
  }
}

describe('html_token: hidden elements', () => {
  it('a change inside a `hidden` element is neither counted nor marked', () => {
    assertNoVisibleChange('<p>Shown</p><div hidden>secret one</div>', '<p>Shown</p><div hidden>two</div>');
    assertNoVisibleChange('<p>Shown <span hidden="">a b c</span> text</p>', '<p>Shown <span hidden="">d</span> text</p>');
  });

  it('a change inside an inline `display: none` element is neither counted nor marked', () => {
    assertNoVisibleChange('<p>Shown</p><div style="display:none">secret one</div>', '<p>Shown</p><div style="display:none">two</div>');
    assertNoVisibleChange(
      '<p>Shown</p><div style="color: red; /* x */ DISPLAY : None !important; display: block">old</div>',
      '<p>Shown</p><div style="color: red; /* x */ DISPLAY : None !important; display: block">new</div>',
    );
  });

  it('the new hidden element is kept in combined and insertions, the old one in deletions', () => {
    const result = diff('<p>Shown</p><div hidden>secret one</div>', '<p>Shown</p><div hidden>two</div>');
    assert.match(result.combined!, /<div hidden="">two<\/div>/);
    assert.match(result.insertions!, /<div hidden="">two<\/div>/);
    assert.match(result.deletions!, /<div hidden="">secret one<\/div>/);
  });

  it('visible neighbours still diff, and a hidden element appearing does not count', () => {
    const result = diff('<p>Shown old</p>', '<p>Shown new</p><div hidden>added</div>');
    assert.deepEqual(counts(result), [2, 1, 1]);
    assert.deepEqual(markerTexts(result.combined!, 'ins'), ['new']);
  });

  it('elements that are shown are diffed as usual', () => {
    for (const attributes of ['hidden="until-found"', 'style="display: none; display: block"', 'style="display:block"', 'data-hidden']) {
      const result = diff(`<div ${attributes}>secret one</div>`, `<div ${attributes}>two</div>`);
      assert.deepEqual(counts(result), [2, 1, 1], attributes);
    }
  });
});
