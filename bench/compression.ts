// Compressed answers in `npm run bench`: for a few diff types on the corpus, closed-loop runs at
// concurrency = CPUs without and with `Accept-Encoding: gzip`, interleaved (plain, gzip, plain, …)
// so other load hits both alike. Reports bytes on the wire per answer (the body as sent, before
// any decoding: undici's request does not decompress) and CPU per diff of the whole service.
import { Pool } from 'undici';
import { markdownTable } from './lib/markdown.ts';
import { sampleTree } from './lib/process-tree.ts';
import type { ServiceProcess } from './lib/service-process.ts';
import { fmt, median } from './lib/stats.ts';

export const COMPRESSION_TYPES = ['html_token', 'html_source_dmp', 'links_json', 'html_text_dmp'];

export interface CompressionRow {
  diff_type: string;
  coding: 'identity' | 'gzip';
  wire_bytes_per_answer: number;
  cpu_s_per_diff: number;
  diffs_per_s: number;
}

async function closedLoop(baseUrl: string, paths: readonly string[], connections: number, durationS: number, headers: Record<string, string>) {
  const pool = new Pool(baseUrl, { connections });
  let next = 0;
  let answers = 0;
  let bytes = 0;
  const started = performance.now();
  const stopAt = started + durationS * 1000;
  const client = async (offset: number) => {
    while (performance.now() < stopAt) {
      const path = paths[(next++ + offset) % paths.length]!;
      const res = await pool.request({ method: 'GET', path, headers });
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
      if (res.statusCode !== 200) throw new Error(`compression bench: ${res.statusCode} for ${path}`);
      answers += 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => client(i * 5)));
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  return { answers, bytes, elapsedS };
}

export async function benchCompression(options: { service: ServiceProcess; pathsOf: (diffType: string) => string[]; concurrency: number; durationS: number; runs: number; log: (message: string) => void }): Promise<{ rows: CompressionRow[]; markdown: string }> {
  const { service, concurrency, durationS, runs, log } = options;
  const rows: CompressionRow[] = [];
  for (const diffType of COMPRESSION_TYPES) {
    const paths = options.pathsOf(diffType);
    const codings = [
      ['identity', {}],
      ['gzip', { 'accept-encoding': 'gzip' }],
    ] as const;
    // Warm-up of both paths (JIT, a worker recycled meanwhile), unmeasured.
    for (const [, headers] of codings) await closedLoop(service.baseUrl, paths, concurrency, 1, headers);
    const samples = new Map<string, { cpu: number[]; bytes: number[]; tput: number[] }>(codings.map(([c]) => [c, { cpu: [], bytes: [], tput: [] }]));
    for (let run = 0; run < Math.max(2, runs); run++) {
      for (const [coding, headers] of codings) {
        const before = await sampleTree(service.pid);
        const result = await closedLoop(service.baseUrl, paths, concurrency, durationS, headers);
        const after = await sampleTree(service.pid);
        const s = samples.get(coding)!;
        s.cpu.push(before && after ? (after.cpuSeconds - before.cpuSeconds) / Math.max(1, result.answers) : NaN);
        s.bytes.push(result.bytes / Math.max(1, result.answers));
        s.tput.push(result.answers / result.elapsedS);
      }
    }
    for (const [coding] of codings) {
      const s = samples.get(coding)!;
      const row: CompressionRow = { diff_type: diffType, coding, wire_bytes_per_answer: median(s.bytes), cpu_s_per_diff: median(s.cpu), diffs_per_s: median(s.tput) };
      rows.push(row);
      log(`compression ${diffType} ${coding}: ${fmt(row.wire_bytes_per_answer / 1000)} kB/answer, cpu ${fmt(row.cpu_s_per_diff * 1000)} ms/diff`);
    }
  }
  const markdown = [
    `#### Compressed answers (corpus, concurrency ${concurrency}, ${Math.max(2, runs)} interleaved runs × ${durationS} s each, medians)`,
    '',
    markdownTable(
      ['diff type', 'Accept-Encoding', 'body bytes on the wire per answer', 'CPU ms/diff (main+workers)', 'diffs/s'],
      rows.map((r) => [r.diff_type, r.coding === 'gzip' ? 'gzip' : '(none)', fmt(r.wire_bytes_per_answer, 0), fmt(r.cpu_s_per_diff * 1000), fmt(r.diffs_per_s)]),
    ),
  ].join('\n');
  return { rows, markdown };
}
