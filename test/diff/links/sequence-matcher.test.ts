import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequenceMatcher, type SequenceMatcherOptions } from '../../../src/diff/links/sequence-matcher.ts';

const byChar: SequenceMatcherOptions<string> = { key: (c) => c, equal: (x, y) => x === y };

function opcodes(a: string, b: string, options: SequenceMatcherOptions<string> = byChar): unknown[] {
  return new SequenceMatcher([...a], [...b], options).getOpcodes().map((o) => [o.tag, o.aStart, o.aEnd, o.bStart, o.bEnd]);
}

// Expected values were produced by CPython 3's difflib.SequenceMatcher(a=…, b=…).get_opcodes().
describe('SequenceMatcher (a port of difflib)', () => {
  it('gives the difflib documentation example', () => {
    assert.deepEqual(opcodes('qabxcd', 'abycdf'), [
      ['delete', 0, 1, 0, 0],
      ['equal', 1, 3, 0, 2],
      ['replace', 3, 4, 2, 3],
      ['equal', 4, 6, 3, 5],
      ['insert', 6, 6, 5, 6],
    ]);
  });

  it('finds the longest block first, then recurses on both sides', () => {
    assert.deepEqual(opcodes('private Thread currentThread;', 'private volatile Thread currentThread;'), [
      ['equal', 0, 6, 0, 6],
      ['insert', 6, 6, 6, 15],
      ['equal', 6, 29, 15, 38],
    ]);
    assert.deepEqual(opcodes('cbdaaeaceaebaaddabaedaeabeaeedabaebcdbeaecebaeebcaeaeaebdedc', 'dedccbbfbaecedcfdceaaedbcbddafaeeccfcededaacdffaaffcfefdcfdfcadcbeadab'), [
      ['insert', 0, 0, 0, 4], ['equal', 0, 2, 4, 6], ['delete', 2, 11, 6, 6], ['equal', 11, 12, 6, 7],
      ['replace', 12, 17, 7, 8], ['equal', 17, 18, 8, 9], ['delete', 18, 39, 9, 9], ['equal', 39, 43, 9, 13],
      ['insert', 43, 43, 13, 23], ['equal', 43, 44, 23, 24], ['insert', 44, 44, 24, 30], ['equal', 44, 47, 30, 33],
      ['delete', 47, 48, 33, 33], ['equal', 48, 49, 33, 34], ['replace', 49, 50, 34, 37], ['equal', 50, 51, 37, 38],
      ['delete', 51, 56, 38, 38], ['equal', 56, 59, 38, 41], ['insert', 59, 59, 41, 43], ['equal', 59, 60, 43, 44],
      ['insert', 60, 60, 44, 70],
    ]);
  });

  it('handles empty sequences', () => {
    assert.deepEqual(opcodes('', ''), []);
    assert.deepEqual(opcodes('ab', ''), [['delete', 0, 2, 0, 0]]);
    assert.deepEqual(opcodes('', 'ab'), [['insert', 0, 0, 0, 2]]);
  });

  describe('autojunk', () => {
    const a = 'ccabcbccacab';
    const b =
      'hsdyirsiyatdatoxbiuxfmdiiyxcyverumerlbhdambmxvsqwawdrdjzuprvunbavikpijajlsiatclcbpfzafwxqsjmeenajnyqezalahtfrourwwgoxytnamidaemdhomsrbbwocwaxarhaaqhttzjkcxhcvgagmxyowuxovyhmwnduqnmciepxdmnypqcevkrbufi';

    it('is on by default for 200+ items: items filling over 1 % of b never seed a match', () => {
      assert.equal(b.length, 200);
      assert.deepEqual(opcodes(a, b), [['replace', 0, 12, 0, 200]]);
    });

    it('can be turned off', () => {
      assert.deepEqual(opcodes(a, b, { ...byChar, autojunk: false }), [
        ['insert', 0, 0, 0, 27], ['equal', 0, 1, 27, 28], ['insert', 1, 1, 28, 77], ['equal', 1, 2, 77, 78],
        ['replace', 2, 4, 78, 79], ['equal', 4, 6, 79, 81], ['insert', 6, 6, 81, 137], ['equal', 6, 7, 137, 138],
        ['insert', 7, 7, 138, 153], ['equal', 7, 8, 153, 154], ['insert', 8, 8, 154, 159], ['equal', 8, 9, 159, 160],
        ['insert', 9, 9, 160, 180], ['equal', 9, 10, 180, 181], ['replace', 10, 11, 181, 196], ['equal', 11, 12, 196, 197],
        ['insert', 12, 12, 197, 200],
      ]);
    });
  });

  describe('a looser equality than the key (as Python __eq__ vs __hash__)', () => {
    // Items "<letter><digit>": the key is the whole item, equality only compares the letter.
    const loose: SequenceMatcherOptions<string> = { key: (x) => x, equal: (x, y) => x[0] === y[0] };
    const items = (s: string): string[] => s.split(' ');

    it('extends a seed over loosely-equal neighbours', () => {
      const ops = new SequenceMatcher(items('a1 b1 c1'), items('a2 b1 c2'), loose).getOpcodes();
      assert.deepEqual(ops, [{ tag: 'equal', aStart: 0, aEnd: 3, bStart: 0, bEnd: 3 }]);
    });

    it('extends from the start of the range even without a seed', () => {
      const ops = new SequenceMatcher(items('a1 b1'), items('a2 c2'), loose).getOpcodes();
      assert.deepEqual(ops.map((o) => o.tag), ['equal', 'replace']);
    });

    it('never seeds on loosely-equal items with different keys', () => {
      const matcher = new SequenceMatcher(items('x1 a1'), items('a2 x2'), loose);
      // No equal keys: the only match is the extension from (0, 0), which fails (x vs a).
      assert.deepEqual(matcher.findLongestMatch(0, 2, 0, 2), { aStart: 0, bStart: 0, size: 0 });
    });
  });
});
