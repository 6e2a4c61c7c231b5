// dmp-core.ts is a port of @sanity/diff-match-patch's diff and semantic cleanup: its output must be
// @sanity's, segment for segment, whenever the time budget is not reached. Compared here on the
// page corpus (sources and visible texts, as html_source_dmp and html_text_dmp diff them) and on
// seeded random pairs shaped to reach every branch (dense edits, surrogate pairs and lone halves,
// blank lines and CRLF for the semantic scores, shared ends, half-matches).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cleanupSemantic as sanityCleanupSemantic, makeDiff } from '@sanity/diff-match-patch';
import { loadConfig } from '../../src/config.ts';
import { cleanupSemantic, diffMain, isRegExpWhitespace } from '../../src/diff/dmp-core.ts';
import { encodeTokens, keepSurrogatePairsWhole } from '../../src/diff/text-engine.ts';
import { htmlSourceDmpDiff, htmlTextDmpDiff } from '../../src/diff/text-diffs.ts';
import type { DiffDefinition, DiffSegment, DiffSettings } from '../../src/diff/types.ts';
import { extractVisibleText } from '../../src/diff/visible-text.ts';
import { diffSettingsFrom } from '../../src/http/app.ts';
import { decodeVersion } from '../../src/sniff/index.ts';
import { seededRandom } from '../helpers/random.ts';

/** A budget neither implementation reaches, even on a loaded machine. */
const NO_TIMEOUT_S = 3600;

function sanityRaw(a: string, b: string): DiffSegment[] {
  return makeDiff(a, b, { checkLines: false, timeout: NO_TIMEOUT_S }) as DiffSegment[];
}

function portRaw(a: string, b: string): DiffSegment[] {
  return diffMain(a, b, Date.now() + NO_TIMEOUT_S * 1000);
}

/** Same raw diff, and the same semantic cleanup of it, as @sanity/diff-match-patch. */
function assertSameAsSanity(a: string, b: string, label: string): void {
  const expected = sanityRaw(a, b);
  const actual = portRaw(a, b);
  assert.deepEqual(actual, expected, `raw diff, ${label}: ${JSON.stringify([a, b]).slice(0, 400)}`);
  assert.deepEqual(cleanupSemantic(actual), sanityCleanupSemantic(expected), `semantic cleanup, ${label}: ${JSON.stringify([a, b]).slice(0, 400)}`);
}

function rebuild(segments: readonly DiffSegment[]): { a: string; b: string } {
  return {
    a: segments.filter(([op]) => op !== 1).map(([, text]) => text).join(''),
    b: segments.filter(([op]) => op !== -1).map(([, text]) => text).join(''),
  };
}

// The service's defaults (the corpus is served with them), without a time budget.
const settings: DiffSettings = { ...diffSettingsFrom(loadConfig({})), dmpTimeoutMs: NO_TIMEOUT_S * 1000, dmpMaxTimeoutMs: NO_TIMEOUT_S * 1000 };

describe('dmp-core on the page corpus', () => {
  const pages = new URL('../../fixtures/pages/', import.meta.url);
  const contentType = 'text/html; charset=utf-8';
  const corpus = readdirSync(pages)
    .filter((name) => name.endsWith('.a.html'))
    .sort()
    .map((name) => {
      const id = name.slice(0, -'.a.html'.length);
      const a = readFileSync(new URL(`${id}.a.html`, pages));
      const b = readFileSync(new URL(`${id}.b.html`, pages));
      // Decoded as the worker decodes them.
      return { id, a, b, aText: decodeVersion(a, { contentType, ignoreDecodingErrors: false, side: 'a' }).text, bText: decodeVersion(b, { contentType, ignoreDecodingErrors: false, side: 'b' }).text };
    });
  const visible = (html: string) => extractVisibleText(html, { maxNodes: settings.maxHtmlNodes, maxChars: settings.maxHtmlChars, side: 'a' });

  it('has the 20 pairs', () => assert.equal(corpus.length, 20));

  it("gives @sanity's raw diff and semantic cleanup of every source pair and visible-text pair", () => {
    for (const { id, aText, bText } of corpus) {
      assertSameAsSanity(aText, bText, `${id} source`);
      assertSameAsSanity(visible(aText), visible(bText), `${id} visible text`);
    }
  });

  it("gives @sanity's raw diff of the word and line encodings (granularity=word|line)", () => {
    for (const { id, aText, bText } of corpus) {
      for (const granularity of ['word', 'line'] as const) {
        const encoded = encodeTokens(aText, bText, granularity)!;
        assert.deepEqual(portRaw(encoded.a, encoded.b), sanityRaw(encoded.a, encoded.b), `${id} ${granularity}`);
      }
    }
  });

  it('leaves the html_source_dmp and html_text_dmp answers as they were with @sanity/diff-match-patch', () => {
    // What text-engine computed before the port: makeDiff, cleanupSemantic, pairs kept whole.
    const before = (a: string, b: string): DiffSegment[] => keepSurrogatePairsWhole(sanityCleanupSemantic(sanityRaw(a, b)).map(([op, text]) => [op, text] as DiffSegment));
    const cases: [DiffDefinition<any, any>, (text: string) => string][] = [
      [htmlSourceDmpDiff, (text) => text],
      [htmlTextDmpDiff, visible],
    ];
    for (const { id, a, b, aText, bText } of corpus) {
      for (const [definition, textOf] of cases) {
        const result = definition.run({ bytes: a, text: aText }, { bytes: b, text: bText }, definition.parseOptions({}, settings)) as { change_count: number; diff: DiffSegment[] };
        const expected = before(textOf(aText), textOf(bText));
        assert.deepEqual(result.diff, expected, `${definition.name} ${id}`);
        assert.equal(result.change_count, expected.filter(([op]) => op !== 0).length);
      }
    }
  });
});

// ---- seeded random pairs ----------------------------------------------------------------------

/** Few symbols make dense diffs and repeats (merges, slides into the shared ends, overlaps). */
const ALPHABETS: readonly (readonly string[])[] = [
  ['a', 'b'],
  ['a', 'b', 'c', ' ', '\n'],
  // Pairs sharing their high surrogate: the raw diff splits them, @sanity moves them whole.
  ['👈', '👌', '😀', 'a', ' '],
  // Lone halves: every branch of @sanity's pair adjustment, quirks included.
  ['\ud83d', '\udc48', '\udc4c', '👈', 'a'],
  // Blank lines, CRLF, sentence ends: each semantic score.
  ['\r\n', '\n', '\n\n', '\r', ' ', 'a', 'b', '.', 'the', ','],
  // JavaScript's \s beyond ASCII (U+180E no longer is one).
  ['\u00a0', '\u2028', '\u3000', '\ufeff', '\u180e', '\t', '\v', 'x', ' ', '-'],
  ['<p>', '</p>', '<a href="x">', 'word', ' ', '\n', 'é', '='],
];

function randomText(random: () => number, alphabet: readonly string[], pieces: number): string {
  let text = '';
  for (let i = 0; i < pieces; i += 1) text += alphabet[Math.floor(random() * alphabet.length)];
  return text;
}

/** A few pieces replaced, inserted or deleted. */
function mutate(random: () => number, alphabet: readonly string[], text: string, edits: number): string {
  const pieces = Array.from(text);
  for (let edit = 0; edit < edits; edit += 1) {
    const at = Math.floor(random() * (pieces.length + 1));
    const pick = alphabet[Math.floor(random() * alphabet.length)]!;
    const kind = random();
    if (kind < 0.33) pieces.splice(at, 1 + Math.floor(random() * 3));
    else if (kind < 0.66) pieces.splice(at, 0, pick);
    else pieces.splice(at, 1, pick);
  }
  return pieces.join('');
}

type PairShape = (random: () => number, alphabet: readonly string[]) => [string, string];

const SHAPES: Record<string, PairShape> = {
  edited: (random, alphabet) => {
    const a = randomText(random, alphabet, 1 + Math.floor(random() * 40));
    return [a, mutate(random, alphabet, a, 1 + Math.floor(random() * 6))];
  },
  unrelated: (random, alphabet) => [randomText(random, alphabet, Math.floor(random() * 25)), randomText(random, alphabet, Math.floor(random() * 25))],
  'shared ends': (random, alphabet) => {
    const prefix = randomText(random, alphabet, Math.floor(random() * 10));
    const suffix = randomText(random, alphabet, Math.floor(random() * 10));
    const a = randomText(random, alphabet, Math.floor(random() * 12));
    const b = random() < 0.5 ? mutate(random, alphabet, a, 2) : randomText(random, alphabet, Math.floor(random() * 12));
    return [prefix + a + suffix, prefix + b + suffix];
  },
  // A common core longer than everything else: dmp's half-match splits there.
  'half match': (random, alphabet) => {
    const core = randomText(random, alphabet, 40 + Math.floor(random() * 300));
    const side = () => randomText(random, alphabet, Math.floor(random() * 30));
    return [side() + core + side(), side() + mutate(random, alphabet, core, random() < 0.5 ? 0 : 2) + side()];
  },
  // Longer texts with edits spread out: deep bisect recursion, several half-match levels.
  long: (random, alphabet) => {
    const a = randomText(random, alphabet, 200 + Math.floor(random() * 800));
    return [a, mutate(random, alphabet, a, 3 + Math.floor(random() * 25))];
  },
};

describe('dmp-core on seeded random pairs', () => {
  it("gives @sanity's raw diff and semantic cleanup of 6000 random pairs", () => {
    let pairs = 0;
    for (const [name, shape] of Object.entries(SHAPES)) {
      const random = seededRandom(name.length * 7919);
      const count = name === 'long' ? 300 : name === 'half match' ? 700 : 1_667;
      for (let round = 0; round < count; round += 1) {
        const alphabet = ALPHABETS[round % ALPHABETS.length]!;
        const [a, b] = shape(random, alphabet);
        assertSameAsSanity(a, b, `${name} #${round}`);
        // Both directions: dmp is not symmetric (which text is longer picks the branches).
        assertSameAsSanity(b, a, `${name} #${round} reversed`);
        pairs += 1;
      }
    }
    assert.ok(pairs >= 6000, `${pairs} pairs`);
  });

  it("gives @sanity's semantic cleanup of random segment lists (runs of one kind, long equal texts)", () => {
    const random = seededRandom(2024);
    for (let round = 0; round < 3000; round += 1) {
      const alphabet = ALPHABETS[round % ALPHABETS.length]!;
      const segments: DiffSegment[] = Array.from({ length: 1 + Math.floor(random() * 12) }, () => {
        const op = ([-1, 0, 1] as const)[Math.floor(random() * 3)]!;
        // Equal texts may be empty (never eliminated, never merged); edits never are, as
        // @sanity's lossless pass would loop forever on an empty edit before an empty equal text.
        return [op, randomText(random, alphabet, (op === 0 ? 0 : 1) + Math.floor(random() * (op === 0 ? 20 : 6)))];
      });
      const input = JSON.stringify(segments);
      assert.deepEqual(cleanupSemantic(segments), sanityCleanupSemantic(segments), input);
      assert.equal(JSON.stringify(segments), input, 'the input is left as it was');
    }
  });

  it("tests whitespace as JavaScript's \\s does, for every code unit", () => {
    for (let code = 0; code <= 0xffff; code += 1) {
      assert.equal(isRegExpWhitespace(code), /\s/.test(String.fromCharCode(code)), `U+${code.toString(16)}`);
    }
  });
});

describe('dmp-core past its deadline', () => {
  it('gives up at once on a past deadline, with a diff that still rebuilds both texts', () => {
    const random = seededRandom(99);
    for (const alphabet of ALPHABETS) {
      const a = randomText(random, alphabet, 3000);
      const b = mutate(random, alphabet, a, 200);
      const segments = diffMain(a, b, Date.now() - 1);
      assert.deepEqual(rebuild(segments), { a, b });
      assert.deepEqual(rebuild(cleanupSemantic(segments)), { a, b });
    }
  });

  it('stops within a 1 ms budget on a big dense pair, still rebuilding both texts', () => {
    const random = seededRandom(5);
    const a = randomText(random, ['a', 'b', 'c', 'd'], 200_000);
    const b = randomText(random, ['a', 'b', 'c', 'd'], 200_000);
    const started = process.cpuUsage();
    const segments = cleanupSemantic(diffMain(a, b, Date.now() + 1));
    const used = process.cpuUsage(started);
    const cpuMs = (used.user + used.system) / 1000;
    assert.deepEqual(rebuild(segments), { a, b });
    // Without the deadline this pair takes minutes; a generous bound for a loaded machine.
    assert.ok(cpuMs < 5_000, `${cpuMs} ms of CPU`);
  });
});
