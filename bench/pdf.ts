// text_dmp on PDFs, for `npm run bench`: generated report-like PDF pairs of 1, 10 and 100 pages
// (the b side with one word changed every 10 pages), and real PDFs when bench/fetch-real-pdfs.sh
// has fetched them (R's 6.5 MB, 2415-page reference manual, refused by MAX_PDF_PAGES; its
// 113-page introduction, diffed). Single requests against the running service with its default
// limits: time, CPU of the whole service, the job's own CPU and peak worker resident memory
// (`diffguard_job_cpu_seconds`, `diffguard_job_peak_rss_bytes`).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { editDocument, makeTextDocument, textPdf } from '../fixtures/pdf/make-pdfs.ts';
import { createAgent, diffUrl, timedGet } from './lib/http-client.ts';
import { markdownTable } from './lib/markdown.ts';
import { sampleTree } from './lib/process-tree.ts';
import { scrapeMetrics, sumOf } from './lib/prometheus.ts';
import { startServiceProcess, type ServiceProcess } from './lib/service-process.ts';
import { startStaticServer, type StaticServer } from './lib/static-server.ts';
import { fmt, fmtMiB, median } from './lib/stats.ts';

export interface PdfRow {
  pair: string;
  a_bytes: number;
  b_bytes: number;
  pages: string;
  requests: number;
  /** The first request of the run (a worker that had not read a PDF loads pdf.js). */
  first_ms: number;
  median_ms: number;
  /** CPU seconds of the whole service (main + workers) per request, median. */
  cpu_s: number;
  /** The job's own CPU seconds (diffguard_job_cpu_seconds), median. */
  worker_cpu_s: number;
  /** Highest resident memory of the worker during a job (diffguard_job_peak_rss_bytes), over the requests. */
  worker_peak_rss_bytes: number;
  outcomes: string[];
}

interface Pair {
  name: string;
  a: Uint8Array;
  b: Uint8Array;
}

function pairs(repoRoot: string, log: (message: string) => void): Pair[] {
  const list: Pair[] = [];
  for (const pages of [1, 10, 100]) {
    const document = makeTextDocument(pages, pages);
    list.push({ name: `${pages} page${pages === 1 ? '' : 's'} (generated)`, a: textPdf(document), b: textPdf(editDocument(document, 10)) });
  }
  const cache = path.join(repoRoot, 'bench', '.pdf-cache');
  for (const [file, label] of [
    ['R-intro.pdf', 'R-intro.pdf vs itself (real, 113 pages)'],
    ['refman.pdf', 'refman.pdf vs R-intro.pdf (real, 6.5 MB)'],
  ] as const) {
    const bytes = path.join(cache, file);
    if (!existsSync(bytes)) {
      log(`pdf: ${path.relative(repoRoot, bytes)} missing (run bench/fetch-real-pdfs.sh); skipping "${label}"`);
      continue;
    }
    list.push({ name: label, a: readFileSync(bytes), b: readFileSync(path.join(cache, 'R-intro.pdf')) });
  }
  return list;
}

async function jobMetrics(service: ServiceProcess): Promise<{ cpu: number; rss: number; count: number }> {
  const samples = await scrapeMetrics(service.baseUrl);
  return {
    cpu: sumOf(samples, 'diffguard_job_cpu_seconds_sum', { diff_type: 'text_dmp' }),
    rss: sumOf(samples, 'diffguard_job_peak_rss_bytes_sum', { diff_type: 'text_dmp' }),
    count: sumOf(samples, 'diffguard_job_cpu_seconds_count', { diff_type: 'text_dmp' }),
  };
}

export async function benchPdf(options: { service: ServiceProcess; corpus: StaticServer; repoRoot: string; reps: number; log: (message: string) => void }): Promise<{ rows: PdfRow[]; markdown: string }> {
  const { service, corpus, reps, log } = options;
  const agent = createAgent(120_000);
  const rows: PdfRow[] = [];
  try {
    for (const [index, pair] of pairs(options.repoRoot, log).entries()) {
      corpus.files.set(`/pdf/${index}.a.pdf`, { body: Buffer.from(pair.a), contentType: 'application/pdf' });
      corpus.files.set(`/pdf/${index}.b.pdf`, { body: Buffer.from(pair.b), contentType: 'application/pdf' });
      const url = diffUrl(service.baseUrl, 'text_dmp', `${corpus.baseUrl}/pdf/${index}.a.pdf`, `${corpus.baseUrl}/pdf/${index}.b.pdf`);
      const times: number[] = [];
      const cpu: number[] = [];
      const workerCpu: number[] = [];
      const outcomes: string[] = [];
      let peakRss = 0;
      let pages = '';
      for (let rep = 0; rep < reps; rep++) {
        const before = await sampleTree(service.pid);
        const metricsBefore = await jobMetrics(service);
        const answer = await timedGet(url, agent, 120_000);
        const after = await sampleTree(service.pid);
        const metricsAfter = await jobMetrics(service);
        times.push(answer.ms);
        if (before && after) cpu.push(after.cpuSeconds - before.cpuSeconds);
        if (metricsAfter.count > metricsBefore.count) {
          workerCpu.push(metricsAfter.cpu - metricsBefore.cpu);
          peakRss = Math.max(peakRss, metricsAfter.rss - metricsBefore.rss);
        }
        const json = answer.json as { pages?: { a?: number; b?: number }; limit?: unknown } | undefined;
        if (json?.pages) pages = `${json.pages.a ?? '–'} / ${json.pages.b ?? '–'}`;
        const outcome = answer.transportError ?? `${answer.status}${answer.type ? ` ${answer.type}` : ''}${json?.limit ? ` (${String(json.limit)})` : ''}`;
        if (!outcomes.includes(outcome)) outcomes.push(outcome);
      }
      const row: PdfRow = {
        pair: pair.name,
        a_bytes: pair.a.byteLength,
        b_bytes: pair.b.byteLength,
        pages,
        requests: reps,
        first_ms: times[0] ?? NaN,
        median_ms: median(times),
        cpu_s: median(cpu),
        worker_cpu_s: median(workerCpu),
        worker_peak_rss_bytes: peakRss,
        outcomes,
      };
      log(`pdf ${pair.name}: ${fmt(row.median_ms, 0)} ms, worker peak ${fmtMiB(peakRss)}, ${outcomes.join(', ')}`);
      rows.push(row);
    }
  } finally {
    await agent.close();
  }
  const markdown = [
    '#### text_dmp on PDFs (single requests, default limits; b has one word changed every 10 pages)',
    '',
    markdownTable(
      ['PDF pair', 'a / b bytes', 'pages a / b', 'requests', 'first ms', 'median ms', 'CPU s (main+workers)', 'worker CPU s', 'peak worker RSS', 'answer'],
      rows.map((r) => [r.pair, `${r.a_bytes} / ${r.b_bytes}`, r.pages || '–', String(r.requests), fmt(r.first_ms, 0), fmt(r.median_ms, 0), fmt(r.cpu_s, 2), fmt(r.worker_cpu_s, 2), fmtMiB(r.worker_peak_rss_bytes), r.outcomes.join('; ')]),
    ),
  ].join('\n');
  return { rows, markdown };
}

// `npm run build && node bench/pdf.ts`: this part alone (npm run bench runs it after the rest).
if (import.meta.main) {
  const repoRoot = path.resolve(import.meta.dirname, '..');
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const corpus = await startStaticServer();
  const service = await startServiceProcess({ repoRoot, env: { ALLOW_PRIVATE_UPSTREAMS: 'true' } });
  try {
    const { markdown } = await benchPdf({ service, corpus, repoRoot, reps: 3, log });
    process.stdout.write(`${markdown}\n`);
  } finally {
    await service.stop();
    await corpus.close();
  }
}
