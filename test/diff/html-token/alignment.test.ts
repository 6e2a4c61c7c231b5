import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../helpers/random.ts';
import { counts, diff, markerTexts } from './helpers.ts';

// Repetitive content has no token that occurs once on each side, so unique-token anchors alone
// leave the whole range to Myers, whose work budget then gives up and replaces everything.

describe('html_token alignment of repetitive content', () => {
  it('a 2000-row numeric table with 100 changed cells reports 100 replacements, not one', () => {
    const next = seededRandom(7);
    const rows = Array.from({ length: 2000 }, () => `<tr>${Array.from({ length: 5 }, () => `<td>${Math.floor(next() * 100)}</td>`).join('')}</tr>`);
    const changedRows = rows.map((row, r) => (r % 20 === 3 ? row.replace(/<td>(\d+)<\/td>/, '<td>X$1</td>') : row));
    const result = diff(`<table>${rows.join('')}</table>`, `<table>${changedRows.join('')}</table>`, { include: 'combined' });
    assert.deepEqual(counts(result), [200, 100, 100]);
    const deleted = markerTexts(result.combined!, 'del');
    assert.equal(deleted.length, 100);
    for (const text of deleted) assert.match(text, /^\d+$/);
    for (const text of markerTexts(result.combined!, 'ins')) assert.match(text, /^X\d+$/);
  });

  it('30 000 words from a 300-word vocabulary with one changed word in 100 report each change', () => {
    const next = seededRandom(9);
    const words = Array.from({ length: 30_000 }, () => `w${Math.floor(next() * 300)}`);
    const changed = words.map((word, i) => (i % 100 === 50 ? 'CHANGED' : word));
    const result = diff(`<div>${words.join(' ')}</div>`, `<div>${changed.join(' ')}</div>`, { include: 'combined' });
    assert.deepEqual(counts(result), [600, 300, 300]);
    assert.deepEqual(new Set(markerTexts(result.combined!, 'ins')), new Set(['CHANGED']));
  });

  it('words inserted into and deleted from low-entropy text are placed exactly', () => {
    const next = seededRandom(11);
    const words = Array.from({ length: 20_000 }, () => `v${Math.floor(next() * 8)}`);
    const edited = words.flatMap((word, i) => (i % 500 === 100 ? [] : i % 500 === 300 ? [word, 'NEW'] : [word]));
    const result = diff(`<div>${words.join(' ')}</div>`, `<div>${edited.join(' ')}</div>`, { include: 'combined' });
    assert.deepEqual(counts(result), [80, 40, 40]);
    assert.deepEqual(new Set(markerTexts(result.combined!, 'ins')), new Set(['NEW']));
    for (const text of markerTexts(result.combined!, 'del')) assert.match(text, /^v\d$/);
  });
});
