import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanupSemantic, makeDiff } from '@sanity/diff-match-patch';
import { diffTexts } from '../../src/diff/dmp.ts';
import {
  applyContext,
  commonPrefixLength,
  commonSuffixLength,
  diffTextUnits,
  diffWholeTexts,
  encodeTokens,
  keepSurrogatePairsWhole,
  MAX_DISTINCT_TOKENS,
  tokenize,
  type Granularity,
} from '../../src/diff/text-engine.ts';
import type { DiffSegment } from '../../src/diff/types.ts';
import { seededRandom as randomGenerator } from '../helpers/random.ts';

const PIECES = ['a', 'b', 'c', 'the', ' ', ' ', '\n', '\n\n', '.', '👈', '👌', '😀', 'é'];

function randomText(random: () => number, pieces: number): string {
  let text = '';
  for (let i = 0; i < pieces; i += 1) text += PIECES[Math.floor(random() * PIECES.length)];
  return text;
}

/** Mutates a text: replaces, inserts or deletes a few pieces. */
function mutate(random: () => number, text: string): string {
  const points = Array.from(text);
  for (let edits = 1 + Math.floor(random() * 4); edits > 0; edits -= 1) {
    const at = Math.floor(random() * (points.length + 1));
    const kind = random();
    if (kind < 0.33) points.splice(at, 1);
    else if (kind < 0.66) points.splice(at, 0, PIECES[Math.floor(random() * PIECES.length)]!);
    else points.splice(at, 1, PIECES[Math.floor(random() * PIECES.length)]!);
  }
  return points.join('');
}

function rebuild(segments: readonly DiffSegment[]): { a: string; b: string } {
  return {
    a: segments.filter(([op]) => op !== 1).map(([, text]) => text).join(''),
    b: segments.filter(([op]) => op !== -1).map(([, text]) => text).join(''),
  };
}

function hasSplitSurrogate(segments: readonly DiffSegment[]): boolean {
  return segments.some(([, text]) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text));
}

/** The anchor's call, written out independently: one whole-text dmp diff, then semantic cleanup (pairs repaired). */
function anchorDiff(a: string, b: string): DiffSegment[] {
  const raw = makeDiff(a, b, { checkLines: false, timeout: 2 });
  return keepSurrogatePairsWhole(cleanupSemantic(raw).map(([op, text]) => [op, text] as DiffSegment));
}

/** Few symbols make repeats, so dmp's cleanupMerge has edits to slide into the common prefix. */
const FUZZ_ALPHABETS: readonly (readonly string[])[] = [
  ['a', 'b'],
  ['a', 'b', 'c', ' ', '\n'],
  ['👈', '👌', '😀', 'a', ' '],
  PIECES,
];

describe('diffWholeTexts', () => {
  it('gives exactly the anchor\'s segments: whole-text dmp then semantic cleanup', () => {
    // Found by fuzzing: trimming the common ends before dmp skipped its final cleanupMerge.
    assert.deepEqual(diffWholeTexts('bc\ncbab', 'ba b', 2000), [
      [-1, 'bc\nc'],
      [0, 'ba'],
      [1, ' '],
      [0, 'b'],
    ]);
    assert.deepEqual(diffWholeTexts('👈😀a a', '👈a aaa', 2000), [
      [0, '👈'],
      [-1, '😀'],
      [0, 'a a'],
      [1, 'aa'],
    ]);
    let pairs = 0;
    for (let seed = 1; seed <= 40; seed += 1) {
      const random = randomGenerator(seed);
      for (let round = 0; round < 250; round += 1) {
        const alphabet = FUZZ_ALPHABETS[Math.floor(random() * FUZZ_ALPHABETS.length)]!;
        const pick = (): string => alphabet[Math.floor(random() * alphabet.length)]!;
        const points = Array.from({ length: 2 + Math.floor(random() * 14) }, pick);
        const a = points.join('');
        for (let edits = 2 + Math.floor(random() * 4); edits > 0; edits -= 1) {
          const at = Math.floor(random() * (points.length + 1));
          const kind = random();
          if (kind < 0.33) points.splice(at, 1);
          else if (kind < 0.66) points.splice(at, 0, pick());
          else points.splice(at, 1, pick());
        }
        const b = random() < 0.9 ? points.join('') : randomText(random, 1 + Math.floor(random() * 30));
        assert.deepEqual(diffWholeTexts(a, b, 2000), anchorDiff(a, b), `seed ${seed}: ${JSON.stringify([a, b])}`);
        pairs += 1;
      }
    }
    assert.equal(pairs, 10_000);
  });

  it('is what the links and html_token sub-diffs use too', () => {
    const random = randomGenerator(42);
    for (let round = 0; round < 400; round += 1) {
      const a = randomText(random, 5 + Math.floor(random() * 60));
      const b = random() < 0.8 ? mutate(random, a) : randomText(random, 5 + Math.floor(random() * 60));
      assert.deepEqual(diffTexts(a, b, { timeoutMs: 2000 }), anchorDiff(a, b), JSON.stringify([a, b]));
    }
  });

  it('rebuilds both texts and never splits a surrogate pair', () => {
    const random = randomGenerator(7);
    for (let round = 0; round < 300; round += 1) {
      const a = randomText(random, 1 + Math.floor(random() * 40));
      const b = mutate(random, a);
      const segments = diffWholeTexts(a, b, 2000);
      assert.deepEqual(rebuild(segments), { a, b });
      assert.ok(!hasSplitSurrogate(segments), JSON.stringify([a, b, segments]));
    }
  });

  it('keeps an emoji whole when only its low surrogate differs', () => {
    assert.deepEqual(diffWholeTexts('I 👈 it', 'I 👌 it', 2000), [
      [0, 'I '],
      [-1, '👈'],
      [1, '👌'],
      [0, ' it'],
    ]);
  });

  it('diffs multi-megabyte near-identical texts down to the one change', () => {
    const shared = 'lorem ipsum dolor '.repeat(200_000);
    const a = `${shared}cat${shared}`;
    const b = `${shared}hat${shared}`;
    assert.deepEqual(diffWholeTexts(a, b, 2000), [
      [0, `${shared}`],
      [-1, 'c'],
      [1, 'h'],
      [0, `at${shared}`],
    ]);
  });

  it('handles identical and empty inputs', () => {
    assert.deepEqual(diffWholeTexts('', '', 2000), []);
    assert.deepEqual(diffWholeTexts('same', 'same', 2000), [[0, 'same']]);
    assert.deepEqual(diffWholeTexts('', 'new', 2000), [[1, 'new']]);
    assert.deepEqual(diffWholeTexts('old', '', 2000), [[-1, 'old']]);
  });
});

describe('keepSurrogatePairsWhole', () => {
  it('moves a high surrogate that semantic cleanup left at the end of an equal segment', () => {
    // What cleanupSemantic gives for "the👌👈a" → "the👈a": the shared high half factored out.
    const split: DiffSegment[] = [
      [0, 'the\ud83d'],
      [-1, '\udc4c\ud83d'],
      [0, '\udc48a'],
    ];
    assert.deepEqual(keepSurrogatePairsWhole(split), [
      [0, 'the'],
      [-1, '👌'],
      [0, '👈a'],
    ]);
  });

  it('moves a low surrogate at the start of an equal segment back into the changes before it', () => {
    assert.deepEqual(keepSurrogatePairsWhole([[0, 'x\ud83d'], [-1, '\udc48'], [1, '\udc4c'], [0, 'y']]), [
      [0, 'x'],
      [-1, '👈'],
      [1, '👌'],
      [0, 'y'],
    ]);
    assert.deepEqual(keepSurrogatePairsWhole([[1, 'a\ud83d'], [0, '\udc48b']]), [
      [-1, '\udc48'],
      [1, 'a👈'],
      [0, 'b'],
    ]);
  });

  it('returns segments without a split pair unchanged', () => {
    const segments: DiffSegment[] = [[0, 'a👈'], [-1, '😀'], [0, '👌b']];
    assert.equal(keepSurrogatePairsWhole(segments), segments);
  });
});

describe('common prefix and suffix', () => {
  it('never end or start inside a surrogate pair', () => {
    assert.equal(commonPrefixLength('ab👈', 'ab👌'), 2);
    assert.equal(commonSuffixLength('👈ab', '👌ab'), 2);
    // Same high surrogate, different low one, at the end of the suffix scan: the low half is shared here.
    assert.equal(commonSuffixLength('x😀', 'y😀'), 2);
  });

  it('does not let prefix and suffix overlap', () => {
    const prefix = commonPrefixLength('aaa', 'aaaa');
    assert.equal(prefix, 3);
    assert.equal(commonSuffixLength('aaa', 'aaaa', prefix), 0);
  });
});

describe('word and line granularity', () => {
  it('tokenizes words, whitespace runs and single other code points', () => {
    assert.deepEqual(tokenize('Hello,  wörld_2 👋!\n', 'word'), ['Hello', ',', '  ', 'wörld_2', ' ', '👋', '!', '\n']);
    assert.deepEqual(tokenize('one\ntwo\n\nthree', 'line'), ['one\n', 'two\n', '\n', 'three']);
  });

  it('diffs whole words', () => {
    const { segments, granularity } = diffTextUnits('The quick brown fox jumps', 'The quick red fox jumped', {
      timeoutMs: 2000,
      granularity: 'word',
      context: null,
    });
    assert.equal(granularity, 'word');
    assert.deepEqual(segments, [
      [0, 'The quick '],
      [-1, 'brown'],
      [1, 'red'],
      [0, ' fox '],
      [-1, 'jumps'],
      [1, 'jumped'],
    ]);
  });

  it('diffs whole lines and keeps an unchanged line between two changed ones', () => {
    const { segments } = diffTextUnits('one\ntwo\nthree', 'ONE\ntwo\nTHREE', { timeoutMs: 2000, granularity: 'line', context: null });
    assert.deepEqual(segments, [
      [-1, 'one\n'],
      [1, 'ONE\n'],
      [0, 'two\n'],
      [-1, 'three'],
      [1, 'THREE'],
    ]);
  });

  it('rebuilds both texts at every granularity', () => {
    const random = randomGenerator(99);
    for (const granularity of ['char', 'word', 'line'] as Granularity[]) {
      for (let round = 0; round < 100; round += 1) {
        const a = randomText(random, 5 + Math.floor(random() * 80));
        const b = mutate(random, a);
        const { segments } = diffTextUnits(a, b, { timeoutMs: 2000, granularity, context: null });
        assert.deepEqual(rebuild(segments), { a, b }, `${granularity} ${JSON.stringify([a, b])}`);
      }
    }
  });

  it('gives ids outside the surrogate range, shared by both texts', () => {
    const encoding = encodeTokens('a b', 'b c', 'word');
    assert.ok(encoding !== null);
    assert.equal(encoding.a.length, 3);
    assert.equal(encoding.a.charCodeAt(2), encoding.b.charCodeAt(0)); // "b" has one id
  });

  it('falls back to char granularity past the number of usable code units', () => {
    const words = (from: number, count: number): string => Array.from({ length: count }, (_, i) => `w${from + i}`).join('\n');
    // Each word and the one "\n" token are distinct: just fits, then one more does not.
    const fitting = words(0, MAX_DISTINCT_TOKENS - 1);
    assert.notEqual(encodeTokens(fitting, '', 'word'), null);
    assert.equal(encodeTokens(fitting, 'extra', 'word'), null);
    const a = words(0, 40_000);
    const b = words(40_000, 40_000);
    const result = diffTextUnits(a, b, { timeoutMs: 500, granularity: 'line', context: null });
    assert.equal(result.granularity, 'char');
    assert.deepEqual(rebuild(result.segments), { a, b });
  });
});

describe('applyContext', () => {
  const segments: DiffSegment[] = [
    [0, 'abcdefghij'],
    [-1, 'X'],
    [1, 'Y'],
    [0, '0123456789'],
    [1, 'Z'],
    [0, 'klmnopqrst'],
  ];

  it('cuts long equal runs to N units around each change, as an adjacent equal pair', () => {
    assert.deepEqual(applyContext(segments, 2), [
      [0, 'ij'],
      [-1, 'X'],
      [1, 'Y'],
      [0, '01'],
      [0, '89'],
      [1, 'Z'],
      [0, 'kl'],
    ]);
  });

  it('keeps an equal run that is not longer than the context it needs', () => {
    assert.deepEqual(applyContext(segments, 5), [
      [0, 'fghij'],
      [-1, 'X'],
      [1, 'Y'],
      [0, '0123456789'],
      [1, 'Z'],
      [0, 'klmno'],
    ]);
    assert.deepEqual(applyContext(segments, 10), segments);
    assert.deepEqual(applyContext([[0, 'ab'], [1, 'c'], [0, 'de']], 2), [[0, 'ab'], [1, 'c'], [0, 'de']]);
  });

  it('never emits an empty segment, and gives [] when nothing changed', () => {
    assert.deepEqual(applyContext([[0, 'same']], 3), []);
    assert.deepEqual(applyContext([[0, 'ab']], 3), []);
    assert.deepEqual(applyContext([], 3), []);
    assert.deepEqual(applyContext([[1, 'new'], [0, 'abcdef']], 1), [[1, 'new'], [0, 'a']]);
    assert.deepEqual(applyContext([[0, 'abcdef'], [-1, 'old']], 1), [[0, 'f'], [-1, 'old']]);
    const random = randomGenerator(5);
    for (let round = 0; round < 300; round += 1) {
      const a = randomText(random, 1 + Math.floor(random() * 60));
      const b = random() < 0.2 ? a : mutate(random, a);
      for (const granularity of ['char', 'word', 'line'] as Granularity[]) {
        const context = 1 + Math.floor(random() * 4);
        const { segments: cut } = diffTextUnits(a, b, { timeoutMs: 2000, granularity, context });
        const { segments: whole } = diffTextUnits(a, b, { timeoutMs: 2000, granularity, context: null });
        const where = `${granularity} ${context} ${JSON.stringify([a, b])}`;
        assert.ok(cut.every(([, text]) => text !== ''), where);
        assert.deepEqual(cut.filter(([op]) => op !== 0), whole.filter(([op]) => op !== 0), where);
        if (a === b) assert.deepEqual(cut, [], where);
      }
    }
  });

  it('refuses a context below 1 (a run between two changes would vanish without a trace)', () => {
    assert.throws(() => applyContext(segments, 0), RangeError);
  });

  it('counts code points, never splitting an emoji', () => {
    assert.deepEqual(applyContext([[0, '😀😀😀😀'], [1, '!'], [0, '👈👈👈']], 1), [
      [0, '😀'],
      [1, '!'],
      [0, '👈'],
    ]);
  });

  it('counts words and lines at those granularities', () => {
    const options = { timeoutMs: 2000, context: 1 };
    const a = 'one two three four five six';
    const b = 'one two three FOUR five six';
    assert.deepEqual(diffTextUnits(a, b, { ...options, granularity: 'word' }).segments, [
      [0, ' '],
      [-1, 'four'],
      [1, 'FOUR'],
      [0, ' '],
    ]);
    const lines = (changed: string): string => ['1', '2', '3', changed, '5', '6'].join('\n');
    assert.deepEqual(diffTextUnits(lines('4'), lines('four'), { ...options, granularity: 'line' }).segments, [
      [0, '3\n'],
      [-1, '4\n'],
      [1, 'four\n'],
      [0, '5\n'],
    ]);
  });
});
