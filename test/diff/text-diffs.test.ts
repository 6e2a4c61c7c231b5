import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BadRequestError, TooLargeError } from '../../src/errors.ts';
import { htmlSourceDmpDiff, htmlTextDmpDiff, parseDmpOptions, sideBySideTextDiff } from '../../src/diff/text-diffs.ts';
import type { DiffDefinition, DiffParams, DiffSegment, DiffSettings, DiffSide } from '../../src/diff/types.ts';

const settings: DiffSettings = {
  insertionColor: '#a1d76a',
  deletionColor: '#e8a4c8',
  dmpTimeoutMs: 2000,
  dmpMaxTimeoutMs: 10_000,
  htmlTokenMaxTokens: 500_000,
  maxTextChars: 10 * 1024 * 1024,
  maxChangedChars: 10 * 1024 * 1024,
  maxHtmlNodes: 300_000,
  maxHtmlChars: 10_000_000,
  maxPdfPages: 500,
};

const side = (text: string): DiffSide => ({ bytes: new TextEncoder().encode(text), text });

function runDiff<O>(definition: DiffDefinition<O, any>, a: string, b: string, params: DiffParams = {}, overrides: Partial<DiffSettings> = {}) {
  return definition.run(side(a), side(b), definition.parseOptions(params, { ...settings, ...overrides })) as {
    change_count?: number;
    diff: unknown;
    granularity?: string;
    context?: number;
  };
}

function rebuild(segments: readonly DiffSegment[]): { a: string; b: string } {
  return {
    a: segments.filter(([op]) => op !== 1).map(([, text]) => text).join(''),
    b: segments.filter(([op]) => op !== -1).map(([, text]) => text).join(''),
  };
}

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const examplePair = (name: string): [string, string] => [
  readFileSync(`${fixtures}examples/${name}.before`, 'utf8'),
  readFileSync(`${fixtures}examples/${name}.after`, 'utf8'),
];

describe('definitions', () => {
  it('have the names, accepted content and text needs of the spec', () => {
    assert.deepEqual(
      [sideBySideTextDiff, htmlTextDmpDiff, htmlSourceDmpDiff].map((d) => [d.name, d.accepts, d.needsText]),
      [
        ['side_by_side_text', 'html_or_pdf', true],
        ['html_text_dmp', 'html', true],
        ['html_source_dmp', 'text', true],
      ],
    );
  });

  it('build options that survive structured cloning (they cross a process boundary)', () => {
    const options = htmlTextDmpDiff.parseOptions({ granularity: 'word', context: '3', timeout_ms: '500' }, settings);
    assert.deepEqual(structuredClone(options), options);
  });
});

describe('side_by_side_text', () => {
  it('gives the visible texts of both sides (spec §2.3 examples)', () => {
    assert.deepEqual(runDiff(sideBySideTextDiff, '<html><body>hi</body></html>', '<html><body>bye</body></html>'), {
      diff: { a_text: 'hi', b_text: 'bye' },
    });
    assert.deepEqual(
      runDiff(sideBySideTextDiff, '<!--First comment--><h1>First Heading</h1><p>First paragraph.</p>', ''),
      { diff: { a_text: 'First Heading First paragraph.', b_text: '' } },
    );
  });

  it('applies the node cap to each side', () => {
    assert.throws(
      () => runDiff(sideBySideTextDiff, '<p>ok</p>', '<b>x</b>'.repeat(50), {}, { maxHtmlNodes: 20 }),
      (err: unknown) => err instanceof TooLargeError && err.details.side === 'b',
    );
  });

  it('applies the HTML character cap (MAX_HTML_CHARS) to each side, before parsing', () => {
    const page = `<p>${'x'.repeat(93)}</p>`; // 100 characters
    for (const definition of [sideBySideTextDiff, htmlTextDmpDiff] as DiffDefinition<unknown>[]) {
      assert.doesNotThrow(() => runDiff(definition, page, page, {}, { maxHtmlChars: 100 }));
      assert.throws(
        () => runDiff(definition, page, `${page} `, {}, { maxHtmlChars: 100 }),
        (err: unknown) => err instanceof TooLargeError && err.details.limit === 'html_chars' && err.details.max_chars === 100 && err.details.side === 'b',
        definition.name,
      );
    }
    // html_source_dmp does not parse: only MAX_TEXT_CHARS applies.
    assert.doesNotThrow(() => runDiff(htmlSourceDmpDiff, page, `${page} `, {}, { maxHtmlChars: 100 }));
  });
});

describe('html_text_dmp', () => {
  it('gives the spec §2.4 examples', () => {
    assert.deepEqual(runDiff(htmlTextDmpDiff, '<p>Deleted</p><p>Unchanged</p>', '<p>Added</p><p>Unchanged</p>'), {
      change_count: 2,
      diff: [
        [-1, 'Delet'],
        [1, 'Add'],
        [0, 'ed Unchanged'],
      ],
    });
    const page = (word: string, script: string): string =>
      `<p>${word}</p>\n    <script>${script}</script>\n    <img src="pic.png">\n    <p>Unchanged</p>\n`;
    assert.deepEqual(runDiff(htmlTextDmpDiff, page('Deleted', 'var a = 1;'), page('Added', 'var b = 2;')), {
      change_count: 2,
      diff: [
        [-1, 'Delet'],
        [1, 'Add'],
        [0, 'ed\n\nUnchanged'],
      ],
    });
  });

  it('gives the two-paragraphs example', () => {
    assert.deepEqual(runDiff(htmlTextDmpDiff, ...examplePair('two-paragraphs')), {
      change_count: 2,
      diff: [
        [0, 'Unchanged \n     '],
        [-1, 'Delet'],
        [1, 'Add'],
        [0, 'ed'],
      ],
    });
  });

  it('rebuilds both visible texts exactly from the segments', () => {
    for (const name of ['two-paragraphs', 'add-paragraph', 'change-word-in-paragraph', 'remove-list', 'change-tag']) {
      const [a, b] = examplePair(name);
      const texts = runDiff(sideBySideTextDiff, a, b).diff as { a_text: string; b_text: string };
      const result = runDiff(htmlTextDmpDiff, a, b);
      assert.deepEqual(rebuild(result.diff as DiffSegment[]), { a: texts.a_text, b: texts.b_text }, name);
    }
  });

  it('never splits an emoji', () => {
    assert.deepEqual(runDiff(htmlTextDmpDiff, '<p>Look 👈 here</p>', '<p>Look 👌 here</p>').diff, [
      [0, 'Look '],
      [-1, '👈'],
      [1, '👌'],
      [0, ' here'],
    ]);
  });

  it('refuses a visible text over the character cap, naming the limit; just under passes', () => {
    const atCap = `<p>${'x'.repeat(1000)}</p>`;
    assert.equal(runDiff(htmlTextDmpDiff, atCap, atCap, {}, { maxTextChars: 1000 }).change_count, 0);
    assert.throws(
      () => runDiff(htmlTextDmpDiff, atCap, `<p>${'x'.repeat(1001)}</p>`, {}, { maxTextChars: 1000 }),
      (err: unknown) =>
        err instanceof TooLargeError &&
        /MAX_TEXT_CHARS/.test(err.message) &&
        err.details.limit === 'text_chars' &&
        err.details.max_chars === 1000 &&
        err.details.side === 'b',
    );
  });
});

describe('html_source_dmp', () => {
  it('gives the spec §2.5 example', () => {
    assert.deepEqual(runDiff(htmlSourceDmpDiff, '<p>Deleted</p><p>Unchanged</p>', '<p>Added</p><p>Unchanged</p>'), {
      change_count: 2,
      diff: [
        [0, '<p>'],
        [-1, 'Delet'],
        [1, 'Add'],
        [0, 'ed</p><p>Unchanged</p>'],
      ],
    });
  });

  it('diffs the source as-is, without parsing', () => {
    const result = runDiff(htmlSourceDmpDiff, '<ins>before</ins>', '<ins>after</ins>');
    assert.deepEqual(rebuild(result.diff as DiffSegment[]), { a: '<ins>before</ins>', b: '<ins>after</ins>' });
  });

  it('refuses a source over the character cap on either side; exactly at the cap passes', () => {
    const cap = { maxTextChars: 64 };
    assert.equal(runDiff(htmlSourceDmpDiff, 'a'.repeat(64), 'b'.repeat(64), {}, cap).change_count, 2);
    assert.throws(
      () => runDiff(htmlSourceDmpDiff, 'a'.repeat(65), 'b', {}, cap),
      (err: unknown) => err instanceof TooLargeError && err.details.side === 'a' && err.details.limit === 'text_chars',
    );
  });

  it('refuses a pair whose changed span is over MAX_CHANGED_CHARS, however long their common start and end', () => {
    const cap = { maxChangedChars: 10 };
    const frame = (middle: string) => `${'s'.repeat(5000)}${middle}${'e'.repeat(5000)}`;
    // Span from the first to the last difference: 10 characters on the longer side.
    assert.equal(runDiff(htmlSourceDmpDiff, frame('0123456789'), frame('abcdefghij'), {}, cap).change_count, 2);
    assert.equal(runDiff(htmlSourceDmpDiff, frame(''), frame('0123456789'), {}, cap).change_count, 1);
    for (const [a, b] of [
      [frame('0123456789'), frame('abcdefghijk')],
      [frame(''), frame('0123456789X')],
      [frame('0123456789X'), frame('')],
      [`a${'x'.repeat(9)}b`, `c${'x'.repeat(9)}d`], // the differences at both ends: the whole text
    ]) {
      assert.throws(
        () => runDiff(htmlSourceDmpDiff, a!, b!, {}, cap),
        (err: unknown) =>
          err instanceof TooLargeError && /MAX_CHANGED_CHARS/.test(err.message) && err.details.limit === 'changed_chars' && err.details.changed_chars === 11,
        `${a!.length} / ${b!.length}`,
      );
    }
    // Identical texts have no changed span.
    assert.equal(runDiff(htmlSourceDmpDiff, frame('x'.repeat(50)), frame('x'.repeat(50)), {}, cap).change_count, 0);
  });

  it('reports the granularity used and the context when they are requested', () => {
    const a = 'alpha beta gamma delta epsilon zeta eta theta';
    const b = 'alpha beta gamma DELTA epsilon zeta eta theta';
    const result = runDiff(htmlSourceDmpDiff, a, b, { granularity: 'word', context: '2' });
    assert.deepEqual(result, {
      change_count: 2,
      diff: [
        [0, 'gamma '],
        [-1, 'delta'],
        [1, 'DELTA'],
        [0, ' epsilon'],
      ],
      granularity: 'word',
      context: 2,
    });
    const whole = runDiff(htmlSourceDmpDiff, a, b, { granularity: 'word' });
    assert.equal(whole.context, undefined);
    assert.deepEqual(rebuild(whole.diff as DiffSegment[]), { a, b });
  });

  it('keeps change_count when context trims equal runs', () => {
    const a = `${'same '.repeat(100)}old${' same'.repeat(100)}`;
    const b = `${'same '.repeat(100)}new${' same'.repeat(100)}`;
    const full = runDiff(htmlSourceDmpDiff, a, b);
    const trimmed = runDiff(htmlSourceDmpDiff, a, b, { context: '4' });
    assert.equal(trimmed.change_count, full.change_count);
    assert.deepEqual(trimmed.diff, [[0, 'ame '], [-1, 'old'], [1, 'new'], [0, ' sam']]);
  });

  it('gives an empty diff for identical texts with context, and never an empty segment', () => {
    assert.deepEqual(runDiff(htmlSourceDmpDiff, 'same text', 'same text', { context: '3' }), { change_count: 0, diff: [], context: 3 });
    assert.deepEqual(runDiff(htmlSourceDmpDiff, '', '', { context: '3' }), { change_count: 0, diff: [], context: 3 });
    assert.deepEqual(runDiff(htmlTextDmpDiff, '<p>one two</p>', '<p>one two</p>', { context: '1', granularity: 'word' }), {
      change_count: 0,
      diff: [],
      granularity: 'word',
      context: 1,
    });
    const cutAtStart = runDiff(htmlSourceDmpDiff, 'a long shared start, then X', 'a long shared start, then Y', { context: '3' });
    assert.deepEqual(cutAtStart.diff, [[0, 'en '], [-1, 'X'], [1, 'Y']]);
  });
});

describe('parseDmpOptions', () => {
  it('defaults to the anchor: settings budget, char granularity, whole diff', () => {
    assert.deepEqual(parseDmpOptions({}, settings), {
      timeoutMs: 2000,
      granularity: 'char',
      granularityRequested: false,
      context: null,
      maxTextChars: settings.maxTextChars,
      maxChangedChars: settings.maxChangedChars,
      maxNodes: settings.maxHtmlNodes,
      maxHtmlChars: settings.maxHtmlChars,
    });
  });

  it('accepts timeout_ms from 1 to dmpMaxTimeoutMs, granularity and context', () => {
    assert.equal(parseDmpOptions({ timeout_ms: '1' }, settings).timeoutMs, 1);
    assert.equal(parseDmpOptions({ timeout_ms: '10000' }, settings).timeoutMs, 10_000);
    assert.equal(parseDmpOptions({ granularity: 'LINE' }, settings).granularity, 'line');
    assert.equal(parseDmpOptions({ context: '1' }, settings).context, 1);
  });

  it('refuses bad values with BadRequestError', () => {
    const bad: DiffParams[] = [
      { timeout_ms: '0' },
      { timeout_ms: '10001' },
      { timeout_ms: '1.5' },
      { timeout_ms: '-3' },
      { timeout_ms: '' },
      { timeout_ms: '9'.repeat(400) },
      { granularity: 'sentence' },
      { granularity: '' },
      { context: '-1' },
      { context: '0' },
      { context: 'all' },
      { context: '1e3' },
    ];
    for (const params of bad) {
      assert.throws(() => parseDmpOptions(params, settings), BadRequestError, JSON.stringify(params));
    }
  });
});

describe('fixtures', () => {
  const definitions = [sideBySideTextDiff, htmlTextDmpDiff, htmlSourceDmpDiff] as DiffDefinition<unknown>[];

  it('diffs every example pair and both real-version pairs without error', () => {
    const names = [...new Set(readdirSync(`${fixtures}examples`).filter((f) => f.endsWith('.before')).map((f) => f.slice(0, -7)))];
    const pairs: [string, string, string][] = names.map((name) => [name, ...examplePair(name)]);
    const real = (id: string): string => readFileSync(`${fixtures}real-versions/${id}`, 'utf8');
    pairs.push(['real 1', real('f2d5d701-707a-42e0-8881-653346d01e0a'), real('fc74d750-c651-46b7-bf74-434ad8c62e04')]);
    pairs.push(['real 2', real('9d4de183-a186-456c-bffb-55d82989877d'), real('775a8b04-9bac-4d0d-8db0-a8e133c4a964')]);
    for (const [name, a, b] of pairs) {
      for (const definition of definitions) {
        const result = runDiff(definition, a, b);
        if (definition !== sideBySideTextDiff) {
          const segments = result.diff as DiffSegment[];
          assert.equal(result.change_count, segments.filter(([op]) => op !== 0).length, `${definition.name} ${name}`);
          if (definition === htmlSourceDmpDiff) assert.deepEqual(rebuild(segments), { a, b }, name);
        }
      }
    }
  });

  // The 20-pair page corpus (fixtures/pages, copied from shared/fixtures/pages with its manifest).
  const pages = new URL('../../fixtures/pages/', import.meta.url);
  it('finds every changed word of the page corpus in a deleted or inserted segment', () => {
    const manifest = JSON.parse(readFileSync(new URL('manifest.json', pages), 'utf8')) as {
      id: string;
      words_changed: [string, string][];
    }[];
    assert.ok(manifest.length > 0);
    for (const page of manifest) {
      const a = readFileSync(new URL(`${page.id}.a.html`, pages), 'utf8');
      const b = readFileSync(new URL(`${page.id}.b.html`, pages), 'utf8');
      const texts = runDiff(sideBySideTextDiff, a, b).diff as { a_text: string; b_text: string };
      const segments = runDiff(htmlTextDmpDiff, a, b).diff as DiffSegment[];
      assert.deepEqual(rebuild(segments), { a: texts.a_text, b: texts.b_text }, page.id);
      // Character ranges of each side that the diff marks as changed.
      const changedA: [number, number][] = [];
      const changedB: [number, number][] = [];
      let atA = 0;
      let atB = 0;
      for (const [op, text] of segments) {
        if (op === -1) changedA.push([atA, atA + text.length]);
        if (op === 1) changedB.push([atB, atB + text.length]);
        if (op !== 1) atA += text.length;
        if (op !== -1) atB += text.length;
      }
      const wordIsChanged = (text: string, word: string, ranges: [number, number][]): boolean => {
        for (const match of text.matchAll(new RegExp(`(?<![\\p{L}\\p{N}])${word}(?![\\p{L}\\p{N}])`, 'gu'))) {
          const start = match.index;
          const end = start + word.length;
          if (ranges.some(([from, to]) => from < end && to > start)) return true;
        }
        return false;
      };
      for (const [removed, added] of page.words_changed) {
        assert.ok(wordIsChanged(texts.a_text, removed, changedA), `${page.id}: "${removed}" not in a deletion`);
        // A word changed inside the deleted paragraph never reaches b.
        if (new RegExp(`(?<![\\p{L}\\p{N}])${added}(?![\\p{L}\\p{N}])`, 'u').test(texts.b_text)) {
          assert.ok(wordIsChanged(texts.b_text, added, changedB), `${page.id}: "${added}" not in an insertion`);
        }
      }
    }
  });
});
