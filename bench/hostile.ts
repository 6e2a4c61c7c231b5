// `npm run hostile`: replays the incident and its relatives against the built service while a
// steady trickle of normal diffs runs and /healthz is polled, then reports per case and overall.
// Exits 1 when a case got a 5xx other than 502/503/504 (or no answer), a service process died,
// the memory peak went over the budget, /healthz ever took over 1 s, or a normal diff failed
// (503s during the deliberate overload excepted). Everything is loopback. See bench/README.md.
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { corpusDir, loadPagePairs } from './lib/corpus.ts';
import { buildHostilePayloads, startHostileServer, type HostileServer } from './lib/hostile-server.ts';
import { HealthzPoller } from './lib/healthz-poller.ts';
import { createAgent, diffUrl, timedGet, type TimedResponse } from './lib/http-client.ts';
import { markdownTable } from './lib/markdown.ts';
import { RssPeakSampler } from './lib/process-tree.ts';
import { byLabel, scrapeMetrics } from './lib/prometheus.ts';
import { envNumber, runEnvironment, writeResults } from './lib/report.ts';
import { startServiceProcess, type ServiceProcess } from './lib/service-process.ts';
import { fmt, fmtBytes, fmtMiB, MiB, percentile } from './lib/stats.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const ALL_TYPES = ['length', 'identical_bytes', 'side_by_side_text', 'links', 'links_json', 'html_text_dmp', 'html_source_dmp', 'html_token'];
const BYTE_TYPES = new Set(['length', 'identical_bytes']);
const HTML_TYPES = ALL_TYPES.filter((t) => !BYTE_TYPES.has(t));
// The pod shape replayed: WORKERS (default: this machine's CPUs, as the service itself picks) and the
// memory the README's sizing gives that many workers (128 MiB + 316 MiB per worker, rounded up to
// 32 MiB: 512 MiB for one worker, 768 MiB for two), not two workers squeezed into one worker's memory.
const workers = Math.round(envNumber('HOSTILE_WORKERS', os.availableParallelism()));
const budgetMib = envNumber('HOSTILE_RSS_BUDGET_MIB', Math.max(512, Math.ceil((128 + 316 * workers) / 32) * 32));
const HEALTHZ_LIMIT_MS = 1000;
const CASE_TIMEOUT_MS = 120_000;
const OVERLOAD_REQUESTS = 50;
const RUN_LIMIT_MS = 15 * 60_000; // hard stop for the background loops, whatever happens

type Target = 'open' | 'guarded';

interface HostileCase {
  id: string;
  group: string;
  label: string;
  target: Target;
  diffType: string;
  /** Paths on the hostile server (`c=<id>` is appended), or absolute URLs. */
  a: string;
  b: string;
  /** Statuses that are the right answer; anything else is flagged in the table. */
  expected: number[];
}

interface CaseResult {
  id: string;
  group: string;
  label: string;
  target: Target;
  diff_type: string;
  status: number;
  type: string | undefined;
  limit: string | undefined;
  ms: number;
  started_at: number;
  ended_at: number;
  upstream_bytes: number;
  upstream_requests: number;
  retry_after: string | undefined;
  transport_error: string | undefined;
  /** The error message of a non-2xx answer (why it was refused). */
  error?: string | undefined;
  expected: number[];
  as_expected: boolean;
  /** Memory peak of the open instance (main + workers) while the case ran; the 1 byte/s case overlaps others. */
  peak_rss_bytes: number;
  peak_pss_bytes: number;
  /** For the overload case: answers by status/type. */
  breakdown?: Record<string, number>;
  skipped?: string;
}

function log(message: string): void {
  process.stderr.write(`[hostile] ${message}\n`);
}

function upstreamUrl(hostile: HostileServer, pathOrUrl: string, caseId: string): string {
  if (/^https?:\/\//.test(pathOrUrl)) return pathOrUrl;
  return `${hostile.baseUrl}${pathOrUrl}${pathOrUrl.includes('?') ? '&' : '?'}c=${encodeURIComponent(caseId)}`;
}

function buildCases(hostile: HostileServer): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (c: Omit<HostileCase, 'target'> & { target?: Target }) => cases.push({ target: 'open', ...c });
  const undiffable = (t: string) => (BYTE_TYPES.has(t) ? [200] : [422]);

  // The SSRF guard (second instance, guard on): loopback and metadata targets, direct and by redirect.
  add({ id: 'guard-loopback', group: 'ssrf', label: 'a = http://127.0.0.1/… (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: '/page/0.a.html', b: '/page/0.b.html', expected: [403] });
  add({ id: 'guard-redirect-loopback', group: 'ssrf', label: 'redirect to 127.0.0.1 (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: `/redirect?to=${encodeURIComponent(`${hostile.baseUrl}/page/0.a.html`)}`, b: '/page/0.b.html', expected: [403] });
  add({ id: 'guard-redirect-metadata', group: 'ssrf', label: 'redirect to 169.254.169.254 (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: '/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F', b: '/page/0.b.html', expected: [403] });
  add({ id: 'guard-metadata', group: 'ssrf', label: 'a = http://169.254.169.254/… (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: 'http://169.254.169.254/latest/meta-data/', b: 'http://169.254.169.254/latest/user-data/', expected: [403] });

  for (const t of ALL_TYPES) {
    add({ id: `pdf-html-${t}`, group: 'pdf vs html', label: 'PDF (application/pdf) vs HTML', diffType: t, a: '/pdf', b: '/page/1.b.html', expected: undiffable(t) });
    add({ id: `pdf-lying-${t}`, group: 'pdf vs html', label: 'PDF served as text/html vs HTML', diffType: t, a: '/pdf?ct=text%2Fhtml', b: '/page/1.b.html', expected: undiffable(t) });
  }
  for (const t of ALL_TYPES) {
    add({ id: `random-${t}`, group: 'random blobs', label: 'two unrelated 8 MiB random blobs as text/html', diffType: t, a: '/random/1', b: '/random/2', expected: undiffable(t) });
  }
  add({ id: 'big-pdf', group: 'huge body', label: '50 MiB PDF, chunked, no Content-Length', diffType: 'html_text_dmp', a: '/big-pdf', b: '/page/2.b.html', expected: [422, 502] });
  add({ id: 'big-pdf-lying', group: 'huge body', label: '50 MiB PDF as text/html, chunked', diffType: 'html_text_dmp', a: '/big-pdf?ct=text%2Fhtml', b: '/page/2.b.html', expected: [422, 502] });
  add({ id: 'big-pdf-preamble', group: 'huge body', label: 'HTML-looking warning + 50 MiB PDF, as text/html, chunked', diffType: 'html_source_dmp', a: '/big-pdf-preamble', b: '/page/2.b.html', expected: [422] });
  add({ id: 'gzip-bomb', group: 'huge body', label: 'gzip bomb (1 GiB of zeros, ≈1 MiB gzipped)', diffType: 'html_text_dmp', a: '/gzip-bomb', b: '/page/2.b.html', expected: [422, 502] });
  add({ id: 'gzip-bomb-text', group: 'huge body', label: 'gzip bomb of spaces (1 GiB, ≈1 MiB gzipped)', diffType: 'html_text_dmp', a: '/gzip-bomb/text', b: '/page/2.b.html', expected: [502] });
  add({ id: 'lying-length-short', group: 'lying upstream', label: 'Content-Length 1 MiB, 10 KiB sent, connection dropped', diffType: 'html_text_dmp', a: '/lying-length/short', b: '/page/3.b.html', expected: [502] });
  add({ id: 'lying-length-long', group: 'lying upstream', label: 'Content-Length 100, whole page sent', diffType: 'html_text_dmp', a: '/lying-length/long', b: '/page/3.b.html', expected: [200, 502] });
  add({ id: 'slow-drip', group: 'lying upstream', label: 'upstream sends 1 byte/s', diffType: 'html_text_dmp', a: '/slow', b: '/page/3.b.html', expected: [504] });
  add({ id: 'redirect-loop', group: 'lying upstream', label: 'redirect loop', diffType: 'html_text_dmp', a: '/loop/a', b: '/page/3.b.html', expected: [502] });
  for (const t of HTML_TYPES) {
    add({ id: `deep-${t}`, group: 'deep nesting', label: '<div> × 100 000', diffType: t, a: '/deep/a', b: '/deep/b', expected: [200, 413, 422] });
  }
  for (const t of HTML_TYPES) {
    add({ id: `attributes-${t}`, group: 'many attributes', label: 'one element with 1 000 000 attributes (≈7 MB)', diffType: t, a: '/many-attributes/a', b: '/many-attributes/b', expected: [413] });
  }
  for (const t of ['html_text_dmp', 'html_token', 'links_json']) {
    // An ordinary size with a large tree: a clean 200 or 413, never a memory kill.
    add({ id: `paragraphs-${t}`, group: 'large tree', label: '60 000 paragraphs (≈3.3 MB), one changed', diffType: t, a: '/many-paragraphs/a', b: '/many-paragraphs/b', expected: [200, 413] });
  }
  for (const t of ['side_by_side_text', 'html_text_dmp', 'html_source_dmp', 'html_token']) {
    add({ id: `long-line-${t}`, group: 'long line', label: '10 MB single line (one word changed)', diffType: t, a: '/long-line/a', b: '/long-line/b', expected: [200, 413, 422] });
  }
  // Over MAX_TEXT_CHARS: refused before any work. Just under MAX_CHANGED_CHARS: dmp at full stretch (its time budget, then a coarser diff).
  add({ id: 'unrelated-5mb-html_source_dmp', group: 'dmp worst case', label: 'two unrelated 5 MB texts', diffType: 'html_source_dmp', a: '/text/1', b: '/text/2', expected: [413] });
  add({ id: 'unrelated-500kb-html_source_dmp', group: 'dmp worst case', label: 'two unrelated 500 KB texts', diffType: 'html_source_dmp', a: '/small-text/1', b: '/small-text/2', expected: [200] });
  return cases;
}

/** The 50 concurrent requests of the deliberate overload: the heaviest cases, round robin. */
function overloadRequests(): Array<Pick<HostileCase, 'diffType' | 'a' | 'b'>> {
  const heavy: Array<Pick<HostileCase, 'diffType' | 'a' | 'b'>> = [
    { diffType: 'html_source_dmp', a: '/small-text/1', b: '/small-text/2' },
    { diffType: 'html_text_dmp', a: '/long-line/a', b: '/long-line/b' },
    { diffType: 'html_token', a: '/deep/a', b: '/deep/b' },
    { diffType: 'html_token', a: '/scaled/a', b: '/scaled/b' },
    { diffType: 'html_source_dmp', a: '/random/1', b: '/random/2' },
  ];
  return Array.from({ length: OVERLOAD_REQUESTS }, (_, i) => heavy[i % heavy.length]!);
}

function describe(answer: TimedResponse): string {
  if (answer.transportError !== undefined) return `no answer (${answer.transportError})`;
  const limit = answer.json?.limit;
  const scope = answer.json?.scope;
  const detail = [limit, scope].filter((d) => typeof d === 'string').join(', ');
  return `${answer.status}${answer.type ? ` ${answer.type}` : ''}${detail ? ` (${detail})` : ''}`;
}

/** The hostile case running now, recorded with each normal diff to explain a failure. */
let currentCase = 'none';

interface TrickleResult {
  startedAt: number;
  /** The hostile case(s) running when it was sent. */
  during: string;
  status: number;
  outcome: string;
  /** The error message of a non-2xx answer. */
  error?: string;
  ms: number;
}

/** One html_text_dmp on a real pair every `intervalMs`, not waiting for the previous one (bounded in flight). */
class NormalTrickle {
  readonly results: TrickleResult[] = [];
  skipped = 0;
  #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout;
  #agent = createAgent(CASE_TIMEOUT_MS);

  constructor(serviceUrl: string, hostile: HostileServer, pairs: number, intervalMs: number) {
    let n = 0;
    const until = Date.now() + RUN_LIMIT_MS;
    this.#timer = setInterval(() => {
      if (Date.now() > until) {
        clearInterval(this.#timer);
        return;
      }
      if (this.#inFlight.size >= 25) {
        this.skipped += 1;
        return;
      }
      const pair = n++ % pairs;
      const startedAt = Date.now();
      const during = currentCase;
      const url = diffUrl(serviceUrl, 'html_text_dmp', upstreamUrl(hostile, `/page/${pair}.a.html`, 'trickle'), upstreamUrl(hostile, `/page/${pair}.b.html`, 'trickle'));
      const request = timedGet(url, this.#agent, CASE_TIMEOUT_MS).then((answer) => {
        this.results.push({ startedAt, during, status: answer.status, outcome: describe(answer), ...(typeof answer.json?.error === 'string' ? { error: answer.json.error } : {}), ms: answer.ms });
      });
      this.#inFlight.add(request);
      void request.finally(() => this.#inFlight.delete(request));
    }, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#inFlight]);
    await this.#agent.close();
  }
}

async function runCase(c: HostileCase, services: Record<Target, ServiceProcess>, hostile: HostileServer, sampler: RssPeakSampler): Promise<CaseResult> {
  await sampler.takePeak();
  const agent = createAgent(CASE_TIMEOUT_MS);
  const startedAt = Date.now();
  const answer = await timedGet(diffUrl(services[c.target].baseUrl, c.diffType, upstreamUrl(hostile, c.a, c.id), upstreamUrl(hostile, c.b, c.id)), agent, CASE_TIMEOUT_MS);
  await agent.close();
  // Let the hostile server notice a hang-up before its byte count is read.
  await sleep(50);
  const memory = await sampler.takePeak();
  // `limit` of a 422 (cpu, memory, wall), and `scope: service` when the pool's memory budget stopped it.
  const limit = [answer.json?.limit, answer.json?.scope].filter((d) => typeof d === 'string').join(', ') || undefined;
  const result: CaseResult = {
    id: c.id,
    group: c.group,
    label: c.label,
    target: c.target,
    diff_type: c.diffType,
    status: answer.status,
    type: answer.type,
    limit,
    ms: answer.ms,
    started_at: startedAt,
    ended_at: startedAt + answer.ms,
    upstream_bytes: hostile.bytesFor(c.id),
    upstream_requests: hostile.requestsFor(c.id),
    retry_after: answer.retryAfter,
    transport_error: answer.transportError,
    ...(typeof answer.json?.error === 'string' ? { error: answer.json.error } : {}),
    expected: c.expected,
    as_expected: c.expected.includes(answer.status),
    peak_rss_bytes: memory.rssBytes,
    peak_pss_bytes: memory.pssBytes,
  };
  log(`${c.id}: ${describe(answer)} in ${fmt(answer.ms, 0)} ms, upstream sent ${fmtBytes(result.upstream_bytes)}`);
  return result;
}

async function runOverload(service: ServiceProcess, hostile: HostileServer, sampler: RssPeakSampler): Promise<CaseResult> {
  await sampler.takePeak();
  const agent = createAgent(CASE_TIMEOUT_MS);
  const startedAt = Date.now();
  const started = performance.now();
  const answers = await Promise.all(
    overloadRequests().map((r) => timedGet(diffUrl(service.baseUrl, r.diffType, upstreamUrl(hostile, r.a, 'overload'), upstreamUrl(hostile, r.b, 'overload')), agent, CASE_TIMEOUT_MS)),
  );
  const ms = performance.now() - started;
  await agent.close();
  await sleep(50);
  const memory = await sampler.takePeak();
  const breakdown: Record<string, number> = {};
  for (const answer of answers) breakdown[describe(answer)] = (breakdown[describe(answer)] ?? 0) + 1;
  const overloaded = answers.filter((a) => a.status === 503);
  const worst = answers.find((a) => a.status >= 500 && ![502, 503, 504].includes(a.status)) ?? answers.find((a) => a.transportError !== undefined);
  const result: CaseResult = {
    id: 'overload',
    group: 'overload',
    label: `${OVERLOAD_REQUESTS} concurrent heavy hostile requests`,
    target: 'open',
    diff_type: 'mixed',
    status: worst?.status ?? (overloaded.length > 0 ? 503 : (answers[0]?.status ?? 0)),
    type: worst?.type ?? (overloaded.length > 0 ? 'OVERLOADED' : undefined),
    limit: undefined,
    ms,
    started_at: startedAt,
    ended_at: startedAt + ms,
    upstream_bytes: hostile.bytesFor('overload'),
    upstream_requests: hostile.requestsFor('overload'),
    retry_after: overloaded.every((a) => a.retryAfter !== undefined) ? overloaded[0]?.retryAfter : 'missing on some 503s',
    transport_error: worst?.transportError,
    expected: [503],
    // Some must be turned away, every 503 must say when to retry.
    as_expected: overloaded.length > 0 && overloaded.every((a) => a.retryAfter !== undefined) && worst === undefined,
    peak_rss_bytes: memory.rssBytes,
    peak_pss_bytes: memory.pssBytes,
    breakdown,
  };
  log(`overload: ${Object.entries(breakdown).map(([k, v]) => `${v}× ${k}`).join(', ')} in ${fmt(ms, 0)} ms`);
  return result;
}

async function main(): Promise<void> {
  const environment = runEnvironment(repoRoot);
  const started = Date.now();
  const pairs = loadPagePairs(corpusDir(repoRoot));
  log('building payloads (gzip bomb, random blobs, long lines)…');
  const payloads = await buildHostilePayloads(pairs);
  const hostile = await startHostileServer(payloads);
  log(`hostile upstream on ${hostile.baseUrl}; gzip bomb ${fmtBytes(payloads.gzipBomb.byteLength)} → ${fmtBytes(payloads.gzipBombInflatedBytes)}`);

  // HOSTILE_WORKERS=1 gives the base manifest's pod shape (1 CPU → 1 worker, 512 MiB).
  const memoryEnv: Record<string, string> = { MEMORY_LIMIT_MIB: String(budgetMib), WORKERS: String(workers) };
  const open = await startServiceProcess({ repoRoot, env: { ALLOW_PRIVATE_UPSTREAMS: 'true', ...memoryEnv } });
  let guarded: ServiceProcess | undefined;
  const sampler = new RssPeakSampler(open.pid, 50);
  let healthz: HealthzPoller | undefined;
  let trickle: NormalTrickle | undefined;
  try {
    guarded = await startServiceProcess({ repoRoot, env: memoryEnv });
    const services: Record<Target, ServiceProcess> = { open, guarded };
    const index = (await (await fetch(`${open.baseUrl}/`)).json()) as { version?: string };
    environment.service_version = index.version;
    const restartsBefore = byLabel(await scrapeMetrics(open.baseUrl), 'diffguard_worker_restarts_total', 'reason');

    healthz = new HealthzPoller(open.baseUrl, { intervalMs: 50, slowMs: 250, maxRunMs: RUN_LIMIT_MS });
    trickle = new NormalTrickle(open.baseUrl, hostile, pairs.length, 200);
    await sleep(1000);

    const cases = buildCases(hostile);
    const results: CaseResult[] = [];
    // The slow drip waits for the upstream timeout: run it alongside the others.
    const slowCase = cases.find((c) => c.id === 'slow-drip')!;
    const slowSampler = new RssPeakSampler(open.pid, 200);
    const slowResult = runCase(slowCase, services, hostile, slowSampler).finally(() => slowSampler.stop());
    let guardWorks = true;
    for (const c of cases) {
      if (c === slowCase) continue;
      // Only ask for a link-local URL once the guard has been seen refusing a literal address up front.
      if (c.id.includes('metadata') && !guardWorks) {
        results.push({ id: c.id, group: c.group, label: c.label, target: c.target, diff_type: c.diffType, status: 0, type: undefined, limit: undefined, ms: 0, started_at: 0, ended_at: 0, upstream_bytes: 0, upstream_requests: 0, retry_after: undefined, transport_error: undefined, expected: c.expected, as_expected: false, peak_rss_bytes: 0, peak_pss_bytes: 0, skipped: 'guard did not refuse loopback' });
        continue;
      }
      currentCase = c.id;
      const result = await runCase(c, services, hostile, sampler);
      currentCase = 'none';
      if (c.id === 'guard-loopback' && result.status !== 403) guardWorks = false;
      results.push(result);
      if (open.exit !== undefined) break;
    }
    const slotForSlow = results.findIndex((r) => r.group === 'deep nesting');
    results.splice(slotForSlow < 0 ? results.length : slotForSlow, 0, await slowResult);

    const overloadStart = Date.now();
    currentCase = 'overload';
    const overload = await runOverload(open, hostile, sampler);
    currentCase = 'none';
    const overloadEnd = Date.now();
    results.push(overload);

    await sleep(1000);
    await trickle.stop();
    const health = await healthz.stop();
    healthz = undefined;
    const restartsAfter = byLabel(await scrapeMetrics(open.baseUrl), 'diffguard_worker_restarts_total', 'reason');
    const memory = sampler.overall;

    // ---- verdict
    const problems: string[] = [];
    for (const r of results) {
      if (r.skipped) continue;
      if (r.transport_error !== undefined) problems.push(`${r.id}: no answer (${r.transport_error})`);
      else if (r.status >= 500 && ![502, 503, 504].includes(r.status)) problems.push(`${r.id}: answered ${r.status} ${r.type ?? ''}`);
    }
    if (open.exit !== undefined) problems.push(`the service died: ${JSON.stringify(open.exit)}`);
    if (guarded.exit !== undefined) problems.push(`the guarded service died: ${JSON.stringify(guarded.exit)}`);
    if (memory.rssBytes > budgetMib * MiB) problems.push(`RSS peak ${fmtMiB(memory.rssBytes)} over the ${budgetMib} MiB budget`);
    const healthzMax = Math.max(...health.latenciesMs);
    if (healthzMax > HEALTHZ_LIMIT_MS) problems.push(`/healthz took ${fmt(healthzMax, 0)} ms (limit ${HEALTHZ_LIMIT_MS})`);
    if (health.failures.length > 0) problems.push(`/healthz failed ${health.failures.length}× (${[...new Set(health.failures)].join(', ')})`);
    // Which cases were running when /healthz was slow (the 1 byte/s case overlaps everything, so it is left out).
    const casesAt = (at: number, ms: number) => results.filter((r) => r.id !== 'slow-drip' && r.started_at <= at + ms && r.ended_at >= at).map((r) => r.id);
    const slowHealthz = health.slow.map((poll) => ({ ...poll, during: casesAt(poll.at, poll.ms) }));
    const inOverload = (t: TrickleResult) => t.startedAt >= overloadStart - 200 && t.startedAt <= overloadEnd + 1000;
    const normalFailures = trickle.results.filter((t) => t.status !== 200 && !(t.status === 503 && inOverload(t)));
    const normalOverloaded = trickle.results.filter((t) => t.status === 503 && inOverload(t));
    if (normalFailures.length > 0) {
      const kinds: Record<string, number> = {};
      for (const f of normalFailures) kinds[`${f.outcome} during ${f.during}`] = (kinds[`${f.outcome} during ${f.during}`] ?? 0) + 1;
      problems.push(`${normalFailures.length} normal diffs failed: ${Object.entries(kinds).map(([k, v]) => `${v}× ${k}`).join(', ')}`);
    }

    const restarts: Record<string, number> = {};
    for (const [reason, n] of Object.entries(restartsAfter)) if (n - (restartsBefore[reason] ?? 0) > 0) restarts[reason] = n - (restartsBefore[reason] ?? 0);
    const summary = {
      rss_peak_bytes: memory.rssBytes,
      pss_peak_bytes: memory.pssBytes,
      rss_budget_mib: budgetMib,
      workers,
      healthz: { polls: health.latenciesMs.length, p50_ms: percentile(health.latenciesMs, 50), p99_ms: percentile(health.latenciesMs, 99), max_ms: healthzMax, failures: health.failures.length, slow_polls: slowHealthz },
      worker_restarts: restarts,
      normal_diffs: {
        sent: trickle.results.length,
        ok: trickle.results.filter((t) => t.status === 200).length,
        overloaded_during_overload: normalOverloaded.length,
        failed: normalFailures.length,
        p50_ms: percentile(trickle.results.map((t) => t.ms), 50),
        max_ms: Math.max(...trickle.results.map((t) => t.ms)),
        skipped_too_many_in_flight: trickle.skipped,
      },
      service_alive: open.exit === undefined,
      problems,
      passed: problems.length === 0,
      elapsed_s: (Date.now() - started) / 1000,
    };
    const markdown = renderMarkdown(environment, results, summary);
    process.stdout.write(`${markdown}\n`);
    const file = writeResults(repoRoot, 'hostile', { environment, cases: results, summary, failed_normal_diffs: normalFailures, service_log_tail: open.logTail().slice(-50) }, markdown);
    log(`wrote ${path.relative(repoRoot, file)} (${summary.elapsed_s.toFixed(0)} s)`);
    if (problems.length > 0) {
      log(`FAILED:\n  - ${problems.join('\n  - ')}`);
      process.exitCode = 1;
    } else {
      log('passed');
    }
  } finally {
    trickle?.stop().catch(() => {});
    await healthz?.stop();
    sampler.stop();
    await Promise.all([open.stop(), guarded?.stop()]);
    await hostile.close();
  }
}

function renderMarkdown(env: ReturnType<typeof runEnvironment>, results: CaseResult[], summary: { rss_peak_bytes: number; pss_peak_bytes: number; rss_budget_mib: number; workers: number; healthz: { polls: number; p50_ms: number; p99_ms: number; max_ms: number; failures: number; slow_polls: Array<{ ms: number; during: string[] }> }; worker_restarts: Record<string, number>; normal_diffs: { sent: number; ok: number; overloaded_during_overload: number; failed: number; p50_ms: number; max_ms: number }; problems: string[]; passed: boolean }): string {
  const table = markdownTable(
    ['case', 'diff type', 'answer', 'expected', 'time ms', 'upstream sent', 'peak RSS / PSS'],
    results.map((r) => {
      const answer = r.skipped
        ? `skipped: ${r.skipped}`
        : r.breakdown
          ? Object.entries(r.breakdown).map(([k, v]) => `${v}× ${k}`).join(', ') + (r.retry_after ? `; Retry-After: ${r.retry_after}` : '')
          : r.transport_error !== undefined
            ? `no answer (${r.transport_error})`
            : `${r.status}${r.type ? ` ${r.type}` : ''}${r.limit ? ` (${r.limit})` : ''}`;
      return [
        r.label,
        r.diff_type,
        answer,
        `${r.as_expected ? '✓' : '✗'} ${r.expected.join('/')}`,
        fmt(r.ms, 0),
        `${fmtBytes(r.upstream_bytes)}${r.upstream_requests > 2 ? ` (${r.upstream_requests} req)` : ''}`,
        r.target === 'guarded' || r.skipped ? '–' : `${fmtMiB(r.peak_rss_bytes)} / ${fmtMiB(r.peak_pss_bytes)}`,
      ];
    }),
  );
  const restarts = Object.entries(summary.worker_restarts).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
  const n = summary.normal_diffs;
  return [
    `### Hostile replay (${env.started_at.slice(0, 10)}, ${env.cpus} × ${env.cpu_model}, Node ${env.node}, diffguard ${env.service_version ?? '?'}${env.git_commit ? ` @ ${env.git_commit}` : ''})`,
    '',
    `Default limits, ${summary.workers} worker${summary.workers === 1 ? '' : 's'}, MEMORY_LIMIT_MIB = the ${summary.rss_budget_mib} MiB budget; cases run one at a time (the 1 byte/s upstream alongside), with an html_text_dmp on a real pair every 200 ms and /healthz every 50 ms. "upstream sent" is what the hostile server handed to the socket for that case (both versions). Peak RSS / PSS is the service (main + workers) while the case ran; RSS counts the shared node binary once per process, PSS splits it.`,
    '',
    table,
    '',
    markdownTable(
      ['overall', 'value'],
      [
        ['memory peak, main + workers (RSS / PSS)', `${fmtMiB(summary.rss_peak_bytes)} / ${fmtMiB(summary.pss_peak_bytes)} (budget ${summary.rss_budget_mib} MiB)`],
        ['/healthz p50 / p99 / max', `${fmt(summary.healthz.p50_ms)} / ${fmt(summary.healthz.p99_ms)} / ${fmt(summary.healthz.max_ms)} ms (${summary.healthz.polls} polls, ${summary.healthz.failures} failed)`],
        ['/healthz polls over 250 ms', summary.healthz.slow_polls.length === 0 ? 'none' : summary.healthz.slow_polls.map((p) => `${fmt(p.ms, 0)} ms (${p.during.join(', ') || 'between cases'})`).join('; ')],
        ['worker restarts (by reason)', restarts],
        ['normal diffs', `${n.sent} sent, ${n.ok} ok, ${n.overloaded_during_overload} × 503 during the deliberate overload, ${n.failed} failed; p50 ${fmt(n.p50_ms, 0)} ms, max ${fmt(n.max_ms, 0)} ms`],
        ['verdict', summary.passed ? 'PASS' : `FAIL: ${summary.problems.join('; ')}`],
      ],
    ),
  ].join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`[hostile] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
