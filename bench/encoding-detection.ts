// Cost of encoding detection (src/sniff/charset-detect.ts) on 100 KB pages with no BOM, charset or <meta>: one
// per legacy encoding of fixtures/encoding/legacy (the fixture repeated to 100 KB) and a real UTF-8 page. Measured
// in this process on the main thread's CPU clock (median of 7 rounds of 50 calls, after a warm-up that also pays
// the detector's one-time model load). The budget is 1 ms per 100 KB page.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { detectEncoding } from '../src/sniff/charset-detect.ts';
import { markdownTable } from './lib/markdown.ts';

const PAGE_BYTES = 100 * 1024;
const BUDGET_MS = 1;
const repoRoot = path.resolve(import.meta.dirname, '..');

function repeatedTo(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += bytes.length) out.set(bytes.subarray(0, size - at), at);
  return out;
}

function cpuMsPerCall(page: Uint8Array): number {
  for (let i = 0; i < 20; i++) detectEncoding(page);
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.threadCpuUsage();
    for (let i = 0; i < 50; i++) detectEncoding(page);
    const used = process.threadCpuUsage(start);
    rounds.push((used.user + used.system) / 1000 / 50);
  }
  return rounds.sort((x, y) => x - y)[3]!;
}

/** The detection table, as Markdown. */
export function measureEncodingDetection(): string {
  const legacyDir = path.join(repoRoot, 'fixtures/encoding/legacy');
  const encodings = Object.keys(JSON.parse(readFileSync(path.join(legacyDir, 'texts.json'), 'utf8')) as Record<string, unknown>);
  const pages: Array<[string, Uint8Array]> = encodings.map((encoding) => [encoding, new Uint8Array(readFileSync(path.join(legacyDir, `${encoding}.html`)))]);
  pages.push(['utf-8 (real page)', new Uint8Array(readFileSync(path.join(repoRoot, 'fixtures/pages/00-tutorial_whatnow.a.html')))]);
  const rows = pages.map(([name, bytes]) => {
    const page = repeatedTo(bytes, PAGE_BYTES);
    const ms = cpuMsPerCall(page);
    return [name, String(detectEncoding(page)), ms.toFixed(3), ms <= BUDGET_MS ? '✓' : '✗ over'];
  });
  const table = markdownTable(['page (100 KB, no charset)', 'detected', 'CPU ms per page', `≤ ${BUDGET_MS} ms`], rows);
  return `#### Encoding detection (no BOM, charset or <meta>; main-thread CPU, median)\n\n${table}`;
}

if (import.meta.main) process.stdout.write(`${measureEncodingDetection()}\n`);
