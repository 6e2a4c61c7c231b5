// `npm run bench`: throughput, latency, CPU and memory of every diff type on the real page
// corpus, against the built service with its default limits, plus a size-scaling run.
// Knobs: BENCH_QUICK=1 (≈1 minute), BENCH_RUNS, BENCH_DURATION_S. See bench/README.md.
import os from 'node:os';
import path from 'node:path';
import { corpusDir, buildScaledPair, loadPagePairs } from './lib/corpus.ts';
import { createAgent, diffUrl, timedGet } from './lib/http-client.ts';
import { runLoad } from './lib/load.ts';
import { markdownTable } from './lib/markdown.ts';
import { RssPeakSampler, sampleTree } from './lib/process-tree.ts';
import { scrapeMetrics, sumOf } from './lib/prometheus.ts';
import { envNumber, runEnvironment, writeResults } from './lib/report.ts';
import { startServiceProcess, type ServiceProcess } from './lib/service-process.ts';
import { startStaticServer, type StaticServer } from './lib/static-server.ts';
import { fmt, fmtMiB, median, percentile } from './lib/stats.ts';
import { measureEncodingDetection } from './encoding-detection.ts';
import { benchPdf } from './pdf.ts';
import { benchCompression } from './compression.ts';
import { floorProfileMarkdown } from './floor-profile.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const FLOOR = 'identical_bytes';
const DIFF_TYPES = [FLOOR, 'length', 'side_by_side_text', 'links', 'links_json', 'html_text_dmp', 'html_source_dmp', 'html_token'];
const SCALING_TYPES = ['html_token', 'html_text_dmp'];
const SCALING_SIZES: ReadonlyArray<readonly [string, number]> = [
  ['10 KB', 10_000],
  ['100 KB', 100_000],
  ['1 MB', 1_000_000],
  ['5 MB', 5_000_000],
];

// web-monitoring-diff on this corpus (its server, its C++ diff-match-patch, its default 10 worker
// processes; the same loopback static server, interleaved with diffguard), CPU of its whole process
// tree per diff at concurrency 4: measured on this 2-core machine for issue 18. It cannot run here
// from a fresh clone (Python, GPL-3.0: not vendored), so its figures are the reference.
const ANCHOR_CONCURRENCY = 4;
const ANCHOR_CPU_MS_PER_DIFF: Readonly<Record<string, number>> = {
  length: 3.6,
  identical_bytes: 3.7,
  html_source_dmp: 19.5,
  side_by_side_text: 65.6,
  html_text_dmp: 76.8,
  links: 61.2,
  links_json: 68.5,
  html_token: 458,
};

const quick = process.env.BENCH_QUICK === '1';
const runs = Math.round(envNumber('BENCH_RUNS', quick ? 1 : 3));
const durationS = envNumber('BENCH_DURATION_S', quick ? 2 : 3);
const scalingReps = Math.round(envNumber('BENCH_SCALING_REPS', quick ? 1 : 3));
const cpus = os.availableParallelism();
// 4 is the concurrency web-monitoring-diff was measured at (ANCHOR_CPU_MS_PER_DIFF).
const concurrencies = [...new Set([1, cpus, ANCHOR_CONCURRENCY])].sort((x, y) => x - y);

interface LoadRow {
  diff_type: string;
  concurrency: number;
  runs: number;
  diffs_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  /** CPU seconds of the whole service (main + workers) per diff, median of runs. */
  cpu_s_per_diff: number;
  /** Worker CPU per job from diffguard_job_cpu_seconds, median of runs. */
  worker_cpu_s_per_job: number;
  peak_rss_bytes: number;
  peak_pss_bytes: number;
  failures: Record<string, number>;
  responses: number;
}

interface ScalingRow {
  diff_type: string;
  size: string;
  a_bytes: number;
  requests: number;
  median_ms: number;
  cpu_s: number;
  peak_rss_bytes: number;
  peak_pss_bytes: number;
  outcomes: string[];
  response_bytes: number;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function workerCpu(service: ServiceProcess, diffType: string): Promise<{ sum: number; count: number }> {
  const samples = await scrapeMetrics(service.baseUrl);
  return {
    sum: sumOf(samples, 'diffguard_job_cpu_seconds_sum', { diff_type: diffType }),
    count: sumOf(samples, 'diffguard_job_cpu_seconds_count', { diff_type: diffType }),
  };
}

async function measureLoad(service: ServiceProcess, sampler: RssPeakSampler, diffType: string, paths: string[], concurrency: number): Promise<LoadRow> {
  const perRun: { tput: number; p50: number; p95: number; p99: number; cpu: number; wcpu: number }[] = [];
  let peak = 0;
  let peakPss = 0;
  let responses = 0;
  const failures: Record<string, number> = {};
  for (let run = 0; run < runs; run++) {
    await sampler.takePeak();
    const cpuBefore = await sampleTree(service.pid);
    const workerBefore = await workerCpu(service, diffType);
    const result = await runLoad({ baseUrl: service.baseUrl, paths, connections: concurrency, durationS });
    const cpuAfter = await sampleTree(service.pid);
    const workerAfter = await workerCpu(service, diffType);
    const memory = await sampler.takePeak();
    peak = Math.max(peak, memory.rssBytes);
    peakPss = Math.max(peakPss, memory.pssBytes);
    responses += result.responses;
    for (const [status, n] of Object.entries(result.failures)) failures[status] = (failures[status] ?? 0) + n;
    const n = Math.max(1, result.responses);
    perRun.push({
      tput: result.responses / result.elapsedS,
      p50: percentile(result.latenciesMs, 50),
      p95: percentile(result.latenciesMs, 95),
      p99: percentile(result.latenciesMs, 99),
      cpu: cpuBefore && cpuAfter ? (cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / n : NaN,
      wcpu: workerAfter.count > workerBefore.count ? (workerAfter.sum - workerBefore.sum) / (workerAfter.count - workerBefore.count) : NaN,
    });
  }
  const row: LoadRow = {
    diff_type: diffType,
    concurrency,
    runs,
    diffs_per_s: median(perRun.map((r) => r.tput)),
    p50_ms: median(perRun.map((r) => r.p50)),
    p95_ms: median(perRun.map((r) => r.p95)),
    p99_ms: median(perRun.map((r) => r.p99)),
    cpu_s_per_diff: median(perRun.map((r) => r.cpu)),
    worker_cpu_s_per_job: median(perRun.map((r) => r.wcpu)),
    peak_rss_bytes: peak,
    peak_pss_bytes: peakPss,
    failures,
    responses,
  };
  log(`${diffType} c=${concurrency}: ${fmt(row.diffs_per_s)} diffs/s, p50 ${fmt(row.p50_ms)} ms, cpu ${fmt(row.cpu_s_per_diff * 1000)} ms/diff`);
  return row;
}

async function measureScaling(service: ServiceProcess, sampler: RssPeakSampler, corpus: StaticServer, diffType: string, label: string, aBytes: number, prefix: string): Promise<ScalingRow> {
  const agent = createAgent(120_000);
  const reps = aBytes >= 5_000_000 ? Math.min(scalingReps, 2) : scalingReps;
  const times: number[] = [];
  const cpu: number[] = [];
  const outcomes: string[] = [];
  let peak = 0;
  let peakPss = 0;
  let responseBytes = 0;
  for (let rep = 0; rep < reps; rep++) {
    await sampler.takePeak();
    const before = await sampleTree(service.pid);
    const answer = await timedGet(diffUrl(service.baseUrl, diffType, `${corpus.baseUrl}${prefix}.a.html`, `${corpus.baseUrl}${prefix}.b.html`), agent, 120_000);
    const after = await sampleTree(service.pid);
    const memory = await sampler.takePeak();
    peak = Math.max(peak, memory.rssBytes);
    peakPss = Math.max(peakPss, memory.pssBytes);
    times.push(answer.ms);
    if (before && after) cpu.push(after.cpuSeconds - before.cpuSeconds);
    responseBytes = answer.responseBytes;
    const outcome = answer.transportError ?? `${answer.status}${answer.type ? ` ${answer.type}` : ''}${answer.json?.limit ? ` (${String(answer.json.limit)})` : ''}`;
    if (!outcomes.includes(outcome)) outcomes.push(outcome);
  }
  await agent.close();
  const row: ScalingRow = { diff_type: diffType, size: label, a_bytes: aBytes, requests: reps, median_ms: median(times), cpu_s: median(cpu), peak_rss_bytes: peak, peak_pss_bytes: peakPss, outcomes, response_bytes: responseBytes };
  log(`scaling ${diffType} ${label}: ${fmt(row.median_ms, 0)} ms, ${outcomes.join(', ')}`);
  return row;
}

async function main(): Promise<void> {
  const started = Date.now();
  const environment = runEnvironment(repoRoot);
  const pairs = loadPagePairs(corpusDir(repoRoot));
  const corpus = await startStaticServer();
  for (const pair of pairs) {
    corpus.files.set(`/pages/${pair.id}.a.html`, { body: pair.a, contentType: 'text/html; charset=utf-8' });
    corpus.files.set(`/pages/${pair.id}.b.html`, { body: pair.b, contentType: 'text/html; charset=utf-8' });
  }
  const scaledSizes: Record<string, number> = {};
  for (const [label, bytes] of SCALING_SIZES) {
    const pair = buildScaledPair(pairs, bytes);
    const key = label.replace(/\s+/g, '');
    corpus.files.set(`/scaled/${key}.a.html`, { body: pair.a, contentType: 'text/html; charset=utf-8' });
    corpus.files.set(`/scaled/${key}.b.html`, { body: pair.b, contentType: 'text/html; charset=utf-8' });
    scaledSizes[label] = pair.a.byteLength;
  }

  log(`starting service (default limits, ${cpus} CPUs); ${runs} run(s) × ${durationS} s per diff type and concurrency ${concurrencies.join(', ')}`);
  const service = await startServiceProcess({ repoRoot, env: { ALLOW_PRIVATE_UPSTREAMS: 'true' } });
  const sampler = new RssPeakSampler(service.pid, 50);
  const loadRows: LoadRow[] = [];
  const scalingRows: ScalingRow[] = [];
  try {
    const index = (await (await fetch(`${service.baseUrl}/`)).json()) as { version?: string };
    environment.service_version = index.version;
    const idle = await sampleTree(service.pid);
    const idleRss = idle?.rssBytes ?? NaN;
    const idlePss = idle?.pssBytes ?? NaN;

    for (const diffType of DIFF_TYPES) {
      const paths = pairs.map((pair) => {
        const url = new URL(diffUrl(service.baseUrl, diffType, `${corpus.baseUrl}/pages/${pair.id}.a.html`, `${corpus.baseUrl}/pages/${pair.id}.b.html`));
        return url.pathname + url.search;
      });
      // Warm-up: one pass over the pairs (JIT, worker start-up, connection pools).
      await runLoad({ baseUrl: service.baseUrl, paths, connections: cpus, amount: paths.length });
      for (const concurrency of concurrencies) loadRows.push(await measureLoad(service, sampler, diffType, paths, concurrency));
    }

    for (const diffType of SCALING_TYPES) {
      for (const [label] of SCALING_SIZES) {
        scalingRows.push(await measureScaling(service, sampler, corpus, diffType, label, scaledSizes[label]!, `/scaled/${label.replace(/\s+/g, '')}`));
      }
    }

    const pathsOf = (diffType: string) =>
      pairs.map((pair) => {
        const url = new URL(diffUrl(service.baseUrl, diffType, `${corpus.baseUrl}/pages/${pair.id}.a.html`, `${corpus.baseUrl}/pages/${pair.id}.b.html`));
        return url.pathname + url.search;
      });
    const compression = await benchCompression({ service, pathsOf, concurrency: cpus, durationS, runs, log });
    const viewerRow = await measureViewer(service, corpus, pairs);
    const pdf = await benchPdf({ service, corpus, repoRoot, reps: scalingReps, log });

    const restarts = await scrapeMetrics(service.baseUrl);
    const workerRestarts = Object.fromEntries(restarts.filter((s) => s.name === 'diffguard_worker_restarts_total').map((s) => [s.labels.reason ?? '', s.value]));
    // On a service of its own (profiled), so the profiler does not slow the runs above.
    const floorProfile = await floorProfileMarkdown(repoRoot, FLOOR, durationS);
    const markdown = `${renderMarkdown(environment, loadRows, scalingRows, idleRss, idlePss, workerRestarts)}\n\n${floorProfile}\n\n${compression.markdown}\n\n${pdf.markdown}\n\n${renderViewerMarkdown(viewerRow)}\n\n${measureEncodingDetection()}`;
    process.stdout.write(`${markdown}\n`);
    const file = writeResults(repoRoot, 'bench', { environment, settings: { runs, duration_s: durationS, concurrencies, quick, scaling_reps: scalingReps }, idle_rss_bytes: idleRss, idle_pss_bytes: idlePss, load: loadRows, scaling: scalingRows, compression: compression.rows, pdf: pdf.rows, viewer: viewerRow, worker_restarts: workerRestarts, elapsed_s: (Date.now() - started) / 1000 }, markdown);
    log(`wrote ${path.relative(repoRoot, file)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    if (service.exit !== undefined) throw new Error(`the service exited during the benchmark: ${JSON.stringify(service.exit)}`);
  } finally {
    sampler.stop();
    await service.stop();
    await corpus.close();
  }
}

interface ViewerRow {
  pair: string;
  a_bytes: number;
  b_bytes: number;
  requests: number;
  api_median_ms: number;
  viewer_median_ms: number;
  ratio: number;
  viewer_bytes: number;
}

/** Target of issue #16: the viewer page costs at most 1.2× the html_token answer it is built from. */
const VIEWER_TARGET_RATIO = 1.2;

/**
 * The viewer page for the largest page pair against the same html_token API call, requests
 * interleaved (API, viewer, API, …) so load from elsewhere hits both alike; medians.
 */
async function measureViewer(service: ServiceProcess, corpus: StaticServer, pairs: readonly { id: string; a: Buffer; b: Buffer }[]): Promise<ViewerRow> {
  const largest = [...pairs].sort((x, y) => y.a.byteLength + y.b.byteLength - (x.a.byteLength + x.b.byteLength))[0]!;
  const query = `a=${encodeURIComponent(`${corpus.baseUrl}/pages/${largest.id}.a.html`)}&b=${encodeURIComponent(`${corpus.baseUrl}/pages/${largest.id}.b.html`)}`;
  const agent = createAgent(60_000);
  const requests = quick ? 8 : 20;
  const api: number[] = [];
  const viewer: number[] = [];
  let viewerBytes = 0;
  try {
    for (let i = -2; i < requests; i += 1) {
      const apiAnswer = await timedGet(`${service.baseUrl}/html_token?${query}`, agent, 60_000);
      const viewerAnswer = await timedGet(`${service.baseUrl}/view/html_token?${query}`, agent, 60_000);
      if (apiAnswer.status !== 200 || viewerAnswer.status !== 200) throw new Error(`viewer benchmark: API ${apiAnswer.status}, viewer ${viewerAnswer.status}`);
      if (i < 0) continue; // warm-up
      api.push(apiAnswer.ms);
      viewer.push(viewerAnswer.ms);
      viewerBytes = viewerAnswer.responseBytes;
    }
  } finally {
    await agent.close();
  }
  const row = { pair: largest.id, a_bytes: largest.a.byteLength, b_bytes: largest.b.byteLength, requests, api_median_ms: median(api), viewer_median_ms: median(viewer), ratio: median(viewer) / median(api), viewer_bytes: viewerBytes };
  log(`viewer ${largest.id}: API ${fmt(row.api_median_ms, 0)} ms, viewer ${fmt(row.viewer_median_ms, 0)} ms (× ${fmt(row.ratio, 2)})`);
  return row;
}

function renderViewerMarkdown(row: ViewerRow): string {
  return [
    `#### Viewer page vs the html_token API call (largest pair, ${row.requests} interleaved requests each, median)`,
    '',
    markdownTable(
      ['pair', 'a / b bytes', 'API html_token ms', 'viewer page ms', 'viewer / API', `target ≤ ${VIEWER_TARGET_RATIO}`],
      [[row.pair, `${row.a_bytes} / ${row.b_bytes}`, fmt(row.api_median_ms, 0), fmt(row.viewer_median_ms, 0), fmt(row.ratio, 2), row.ratio <= VIEWER_TARGET_RATIO ? 'met' : 'MISSED']],
    ),
  ].join('\n');
}

function renderMarkdown(env: ReturnType<typeof runEnvironment>, rows: LoadRow[], scaling: ScalingRow[], idleRss: number, idlePss: number, restarts: Record<string, number>): string {
  const floorCpu = new Map(rows.filter((r) => r.diff_type === FLOOR).map((r) => [r.concurrency, r.cpu_s_per_diff]));
  const loadTable = markdownTable(
    ['diff type', 'concurrency', 'diffs/s', 'p50 ms', 'p95 ms', 'p99 ms', 'CPU ms/diff (main+workers)', '× floor', 'worker CPU ms/job', 'peak RSS / PSS (main+workers)', 'non-2xx'],
    rows.map((r) => {
      const floor = floorCpu.get(r.concurrency) ?? NaN;
      const failures = Object.entries(r.failures).map(([status, n]) => `${n}× ${status}`).join(', ');
      return [
        r.diff_type === FLOOR ? `${r.diff_type} (floor)` : r.diff_type,
        String(r.concurrency),
        fmt(r.diffs_per_s),
        fmt(r.p50_ms),
        fmt(r.p95_ms),
        fmt(r.p99_ms),
        fmt(r.cpu_s_per_diff * 1000),
        r.diff_type === FLOOR ? '1.0' : fmt(r.cpu_s_per_diff / floor),
        fmt(r.worker_cpu_s_per_job * 1000),
        `${fmtMiB(r.peak_rss_bytes)} / ${fmtMiB(r.peak_pss_bytes)}`,
        failures === '' ? '0' : failures,
      ];
    }),
  );
  const scalingTable = markdownTable(
    ['diff type', 'page size', 'a bytes', 'requests', 'median ms', 'CPU s (main+workers)', 'peak RSS / PSS (main+workers)', 'answer'],
    scaling.map((r) => [r.diff_type, r.size, String(r.a_bytes), String(r.requests), fmt(r.median_ms, 0), fmt(r.cpu_s, 2), `${fmtMiB(r.peak_rss_bytes)} / ${fmtMiB(r.peak_pss_bytes)}`, r.outcomes.join('; ')]),
  );
  const atAnchorConcurrency = rows.filter((r) => r.concurrency === ANCHOR_CONCURRENCY && ANCHOR_CPU_MS_PER_DIFF[r.diff_type] !== undefined);
  const anchorTable = markdownTable(
    ['diff type', 'web-monitoring-diff CPU ms/diff', 'diffguard CPU ms/diff', 'diffguard ÷ anchor', 'target'],
    atAnchorConcurrency.map((r) => {
      const anchor = ANCHOR_CPU_MS_PER_DIFF[r.diff_type]!;
      const ours = r.cpu_s_per_diff * 1000;
      const target = r.diff_type === 'html_token' ? 0.1 : 0.5;
      return [r.diff_type, fmt(anchor), fmt(ours), fmt(ours / anchor, 2), `${ours / anchor <= target ? '✓' : '✗'} ≤ ${target}`];
    }),
  );
  const restartText = Object.entries(restarts).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
  return [
    `### Benchmark (${env.started_at.slice(0, 10)}, ${env.cpus} × ${env.cpu_model}, Node ${env.node}, diffguard ${env.service_version ?? '?'}${env.git_commit ? ` @ ${env.git_commit}` : ''})`,
    '',
    `20 real page pairs, default limits, ${runs} run(s) × ${durationS} s per row (medians), after a warm-up pass. Idle RSS / PSS (main + workers; RSS counts the shared node binary once per process, PSS splits it): ${fmtMiB(idleRss)} / ${fmtMiB(idlePss)}. CPU ms/diff is the whole service's (main + workers) CPU over the run divided by the diffs answered; worker CPU ms/job is the diff alone (\`diffguard_job_cpu_seconds\`); × floor compares CPU ms/diff with identical_bytes at the same concurrency. Worker restarts during the run: ${restartText}.`,
    '',
    loadTable,
    '',
    `#### Against web-monitoring-diff (CPU per diff of each whole process tree, concurrency ${ANCHOR_CONCURRENCY}; the anchor's figures measured on this machine for issue 18)`,
    '',
    anchorTable,
    '',
    '#### Scaling with page size (single requests, median; pages built by repeating the corpus bodies, one word changed near the middle)',
    '',
    scalingTable,
  ].join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
