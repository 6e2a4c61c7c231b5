// The HTML caps against the worker's real memory limits: with the default configuration, an input
// just under MAX_HTML_NODES / MAX_HTML_CHARS / MAX_TEXT_CHARS is diffed in a worker process (heap
// 160 MiB, resident 256 MiB) without running it out of memory, and one just over gets 413
// TOO_LARGE, never 422 LIMIT_EXCEEDED memory. Each job gets a fresh worker, as in production
// after a big job (the pool replaces a worker left holding half its resident limit).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import type { DiffSettings } from '../../src/diff/types.ts';
import { diffTypes } from '../../src/diff/index.ts';
import { diffSettingsFrom } from '../../src/http/app.ts';
import type { DiffOutcome } from '../../src/pool/job.ts';
import { WorkerProcess, type WorkerLimits } from '../../src/pool/worker-process.ts';
import { bodyOf } from '../../src/body.ts';

const config = loadConfig({});
const settings: DiffSettings = { ...diffSettingsFrom(config), maxHtmlChars: config.maxHtmlChars };
const limits: WorkerLimits = {
  heapMib: config.workerHeapMib,
  rssLimitMib: config.workerRssLimitMib,
  cpuLimitMs: config.jobCpuLimitMs,
  // Memory is under test here, not time: a wall-clock limit far above the CPU limit, so that a loaded
  // machine (a job gets a fraction of a core) cannot turn an 'ok' into LIMIT_EXCEEDED wall.
  deadlineMs: 30 * config.jobCpuLimitMs,
  watchdogIntervalMs: 20,
  useDataLimit: true,
};
const workerModule = fileURLToPath(new URL('../../workers/diff-worker.ts', import.meta.url));
const encoder = new TextEncoder();
const HTML_TYPES = ['side_by_side_text', 'html_text_dmp', 'links_json', 'links', 'html_token'];

interface Finished {
  outcome: string;
  peakRssMib: number;
}

/** Runs one diff in a fresh worker with the default limits: `ok`, an error type with its limit, or LIMIT_EXCEEDED/memory. */
async function runInWorker(diffType: string, a: string, b: string): Promise<Finished> {
  const definition = diffTypes.get(diffType)!;
  const worker = new WorkerProcess(workerModule, limits);
  let peakRssMib = 0;
  try {
    await worker.ready;
    const job = {
      diffType,
      a: { body: bodyOf(encoder.encode(a)), contentType: 'text/html; charset=utf-8' },
      b: { body: bodyOf(encoder.encode(b)), contentType: 'text/html; charset=utf-8' },
      options: definition.parseOptions({}, settings),
      ignoreDecodingErrors: false,
      resultAs: 'json' as const, // as the HTTP layer asks for it: the JSON text is made in the worker
    };
    const outcome: DiffOutcome = await worker.run(job, {
      signal: new AbortController().signal,
      onReport: (report) => {
        peakRssMib = Math.round(report.peakRssBytes / 2 ** 20);
      },
    });
    return { outcome: outcome.ok ? 'ok' : `${outcome.error.type}/${String(outcome.error.details?.limit)}`, peakRssMib };
  } catch (err) {
    const error = err as { type?: string; details?: { limit?: string } };
    if (error.type === undefined) throw err;
    return { outcome: `${error.type}/${error.details?.limit}`, peakRssMib };
  } finally {
    await worker.stop('shutdown');
  }
}

const page = (body: string): string => `<!DOCTYPE html><html><head><title>t</title></head><body>${body}</body></html>`;
/** b: the same page with one letter changed every 5 000 characters, so every diff has work to do. */
function edited(html: string): string {
  const chars = html.split('');
  for (let i = 5_000; i < chars.length; i += 5_000) if (/[a-z]/.test(chars[i]!)) chars[i] = chars[i] === 'q' ? 'z' : 'q';
  return chars.join('');
}
/** Units (nodes + attributes) of `page('')`: document, doctype is not counted; html, head, title, its text, body. */
const PAGE_UNITS = 5;

describe('HTML caps against the worker memory limits (default configuration)', () => {
  // A <b> element with one text node is two units: `units` in all.
  const tinyElements = (units: number): string => page('<b>x</b>'.repeat((units - PAGE_UNITS) / 2));
  // Nesting 100 000 deep: the costliest shape per node measured.
  const nested = (units: number): string => page(`${'<div>'.repeat(units - PAGE_UNITS - 1)}x`);

  // One test per shape, so each has the whole per-test timeout on a loaded machine.
  const under = config.maxHtmlNodes - 1;
  const runs: [string, string, () => string][] = [
    ...HTML_TYPES.map((diffType): [string, string, () => string] => [diffType, 'nested', () => nested(under)]),
    ['html_token', 'tiny elements', () => tinyElements(under - 1)],
    ['html_text_dmp', 'tiny elements', () => tinyElements(under - 1)],
  ];
  for (const [diffType, shape, build] of runs) {
    it(`diffs the costliest shapes just under MAX_HTML_NODES without running out of memory: ${diffType}, ${shape}`, async () => {
      const html = build();
      const { outcome, peakRssMib } = await runInWorker(diffType, html, edited(html));
      assert.equal(outcome, 'ok', `${diffType}: ${outcome}, ${peakRssMib} MiB`);
    });
  }

  it('answers 413 html_nodes just over MAX_HTML_NODES', async () => {
    const html = tinyElements(config.maxHtmlNodes + 1);
    for (const diffType of HTML_TYPES) {
      assert.equal((await runInWorker(diffType, html, html)).outcome, 'TOO_LARGE/html_nodes', diffType);
    }
  });

  it('answers 413 for the 3.3 MiB, 60 000-paragraph page pair that used to run out of memory', async () => {
    const html = page(Array.from({ length: 60_000 }, (_, i) => `<p>Paragraph ${i} of the page with a few words of text.</p>\n`).join(''));
    for (const diffType of HTML_TYPES) {
      assert.match((await runInWorker(diffType, html, edited(html))).outcome, /^TOO_LARGE\/html_(chars|nodes)$/, diffType);
    }
  });

  it('answers 413 html_chars just over MAX_HTML_CHARS, before parsing', async () => {
    const html = page(`<p>${'word '.repeat(config.maxHtmlChars / 5)}</p>`);
    for (const diffType of ['side_by_side_text', 'html_text_dmp', 'links_json']) {
      assert.equal((await runInWorker(diffType, html, html)).outcome, 'TOO_LARGE/html_chars', diffType);
    }
  });

  it('answers 413 for one element with 1 000 000 attributes (6 MB) instead of running out of memory', async () => {
    const html = page(`<p ${Array.from({ length: 1_000_000 }, (_, i) => `a${i.toString(36)}`).join(' ')}>x</p>`);
    for (const diffType of ['side_by_side_text', 'html_text_dmp', 'links_json']) {
      assert.equal((await runInWorker(diffType, html, html)).outcome, 'TOO_LARGE/html_chars', diffType);
    }
  });

  it('diffs a source of MAX_TEXT_CHARS with a small change, and refuses one character more', async () => {
    const source = wordsSource(config.maxTextChars);
    const middle = source.length >> 1;
    const { outcome, peakRssMib } = await runInWorker('html_source_dmp', source, `${source.slice(0, middle)}CHANGED${source.slice(middle + 7)}`);
    assert.equal(outcome, 'ok', `${peakRssMib} MiB`);
    assert.equal((await runInWorker('html_source_dmp', `${source}!`, source)).outcome, 'TOO_LARGE/text_chars');
  });

  it('diffs a changed span of MAX_CHANGED_CHARS (changes throughout it) inside a long source, and refuses one character more', async () => {
    const source = wordsSource(config.maxTextChars);
    const span = config.maxChangedChars;
    const start = (source.length - span) >> 1;
    const changedSpan = (length: number) => {
      // A letter changed every 5 000 characters, the first and the last ones included.
      const chars = source.slice(start, start + length).split('');
      for (let i = 0; i < chars.length; i += 5_000) chars[i] = '#';
      chars[chars.length - 1] = '#';
      return `${source.slice(0, start)}${chars.join('')}${source.slice(start + length)}`;
    };
    const { outcome, peakRssMib } = await runInWorker('html_source_dmp', source, changedSpan(span));
    assert.equal(outcome, 'ok', `${peakRssMib} MiB`);
    assert.equal((await runInWorker('html_source_dmp', source, changedSpan(span + 1))).outcome, 'TOO_LARGE/changed_chars');
  });
});

/**
 * `length` characters of markup-like CJK text, no `#` in it: the costliest text measured (two-byte
 * strings, and every `<`/`>` is six bytes of escaped JSON).
 */
function wordsSource(length: number): string {
  const words = ['情報 ', '公開 ', '政府 ', '資料 ', '<p>', '</p>\n', '環境 '];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i += 1) {
    const word = words[(i * 7 + (i >> 3)) % words.length]!;
    parts.push(word);
    size += word.length;
  }
  return parts.join('').slice(0, length);
}
