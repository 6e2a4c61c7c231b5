// `npm run hostile`: replays the incident and its relatives against the built service while a
// steady trickle of normal diffs runs and /healthz is polled, then reports per case and overall.
// Exits 1 when a target of issue 13 is missed: a case without its designed answer (a single hostile
// request never gets 503), a normal diff failed outside the deliberate overload, /healthz p99 ≥ 20 ms
// or max ≥ 100 ms, event-loop delay p99 ≥ 10 ms or max ≥ 50 ms, process-tree PSS over the budget, the
// main process not back within 50 MiB of its idle size, an OOM kill in the memory cgroup, or a service
// process died. Everything is loopback. See bench/README.md.
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { buildScaledPair, corpusDir, loadPagePairs } from './lib/corpus.ts';
import { idlePosts, jsonBombs, slowReaders, tinyChunkPost } from './lib/hostile-clients.ts';
import { buildHostilePayloads, startHostileServer, type HostileServer } from './lib/hostile-server.ts';
import { HealthzPoller } from './lib/healthz-poller.ts';
import { createAgent, diffUrl, timedGet, timedPost, type TimedResponse } from './lib/http-client.ts';
import { LoopDelayScraper, type LoopDelaySummary } from './lib/loop-delay.ts';
import { markdownTable } from './lib/markdown.ts';
import { createMemoryCgroup, type MemoryCgroup } from './lib/memory-cgroup.ts';
import { parseVmRssBytes, RssPeakSampler } from './lib/process-tree.ts';
import { byLabel, scrapeMetrics } from './lib/prometheus.ts';
import { envNumber, runEnvironment, writeResults } from './lib/report.ts';
import { startServiceProcess, type ServiceProcess } from './lib/service-process.ts';
import { fmt, fmtBytes, fmtMiB, MiB, percentile } from './lib/stats.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const ALL_TYPES = ['length', 'identical_bytes', 'side_by_side_text', 'links', 'links_json', 'html_text_dmp', 'html_source_dmp', 'html_token', 'text_dmp'];
const BYTE_TYPES = new Set(['length', 'identical_bytes']);
// Diff types that read a PDF's text (pdf.js, in the worker): a readable PDF against HTML is a 200 for them.
const PDF_TEXT_TYPES = new Set(['side_by_side_text', 'text_dmp']);
const HTML_TYPES = ALL_TYPES.filter((t) => !BYTE_TYPES.has(t));
// The pod shape replayed: WORKERS (default: this machine's CPUs, as the service itself picks) and the
// memory the README's sizing gives that many workers (128 MiB + 316 MiB per worker, rounded up to
// 32 MiB: 512 MiB for one worker, 768 MiB for two), not two workers squeezed into one worker's memory.
const workers = Math.round(envNumber('HOSTILE_WORKERS', os.availableParallelism()));
const budgetMib = envNumber('HOSTILE_RSS_BUDGET_MIB', Math.max(512, Math.ceil((128 + 316 * workers) / 32) * 32));
// The targets of issue 13.
const HEALTHZ_P99_LIMIT_MS = 20;
const HEALTHZ_MAX_LIMIT_MS = 100;
const LOOP_DELAY_P99_LIMIT_MS = 10;
const LOOP_DELAY_MAX_LIMIT_MS = 50;
const MAIN_SETTLE_LIMIT_BYTES = 50 * MiB;
const CASE_TIMEOUT_MS = 120_000;
// Hostile clients come from their own loopback addresses; normal diffs, /healthz and /metrics from 127.0.0.1.
const HOSTILE_ADDRESS = '127.0.0.2';
const SLOW_READER_ADDRESS = '127.0.0.3';
const IDLE_POST_ADDRESS = '127.0.0.4';
const TINY_CHUNK_ADDRESS = '127.0.0.5';
// The front-door phases wait for the service's own timeouts; these bound the wait.
const SLOW_READERS = 24;
const SLOW_READER_MAX_MS = envNumber('HOSTILE_SLOW_READER_MAX_S', 90) * 1000;
const IDLE_POSTS = 64;
const IDLE_POST_MAX_MS = envNumber('HOSTILE_IDLE_POST_MAX_S', 75) * 1000;
const TINY_CHUNK_POSTS = 4;
const TINY_CHUNK_BYTES = 1024 * 1024;
// The 1-byte phase sends for at most 10 s (the service refuses it after a few thousand chunks).
const TINY_CHUNK_MAX_MS = 10_000;
// HOSTILE_CGROUP=off runs without a memory cgroup.
const useCgroup = process.env.HOSTILE_CGROUP !== 'off';
// HOSTILE_CASES=<regex> runs only the cases and phases whose id matches (for working on one; a
// partial run is not a verdict on the service).
const caseFilter = process.env.HOSTILE_CASES ? new RegExp(process.env.HOSTILE_CASES) : undefined;
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
  /** Statuses that are the right answer; anything else fails the run. */
  expected: number[];
  /** The error `type` the answer must carry, where the status alone does not say enough. */
  expectedType?: string;
  /** Sent as a POST with this body (`a` and `b` are then unused). */
  post?: { body: Buffer; contentType: string };
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
  /** For the overload case and the front-door phases: answers by status/type. */
  breakdown?: Record<string, number>;
  /** What the front-door phases expect, in words (instead of `expected` statuses). */
  expected_text?: string;
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
  // The hostile server's /pdf is a well-formed one-page PDF with a text layer: the PDF-reading types diff it.
  const pdfAgainstHtml = (t: string) => (BYTE_TYPES.has(t) || PDF_TEXT_TYPES.has(t) ? [200] : [422]);

  // The SSRF guard (second instance, guard on): loopback and metadata targets, direct and by redirect.
  add({ id: 'guard-loopback', group: 'ssrf', label: 'a = http://127.0.0.1/… (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: '/page/0.a.html', b: '/page/0.b.html', expected: [403] });
  add({ id: 'guard-redirect-loopback', group: 'ssrf', label: 'redirect to 127.0.0.1 (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: `/redirect?to=${encodeURIComponent(`${hostile.baseUrl}/page/0.a.html`)}`, b: '/page/0.b.html', expected: [403] });
  add({ id: 'guard-redirect-metadata', group: 'ssrf', label: 'redirect to 169.254.169.254 (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: '/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F', b: '/page/0.b.html', expected: [403] });
  add({ id: 'guard-metadata', group: 'ssrf', label: 'a = http://169.254.169.254/… (guard on)', target: 'guarded', diffType: 'html_text_dmp', a: 'http://169.254.169.254/latest/meta-data/', b: 'http://169.254.169.254/latest/user-data/', expected: [403] });

  for (const t of ALL_TYPES) {
    add({ id: `pdf-html-${t}`, group: 'pdf vs html', label: 'PDF (application/pdf) vs HTML', diffType: t, a: '/pdf', b: '/page/1.b.html', expected: pdfAgainstHtml(t) });
    add({ id: `pdf-lying-${t}`, group: 'pdf vs html', label: 'PDF served as text/html vs HTML', diffType: t, a: '/pdf?ct=text%2Fhtml', b: '/page/1.b.html', expected: pdfAgainstHtml(t) });
  }
  for (const t of ALL_TYPES) {
    add({ id: `random-${t}`, group: 'random blobs', label: 'two unrelated 8 MiB random blobs as text/html', diffType: t, a: '/random/1', b: '/random/2', expected: undiffable(t) });
  }
  add({ id: 'big-pdf', group: 'huge body', label: '50 MiB PDF, chunked, no Content-Length', diffType: 'html_text_dmp', a: '/big-pdf', b: '/page/2.b.html', expected: [422, 502] });
  add({ id: 'big-pdf-lying', group: 'huge body', label: '50 MiB PDF as text/html, chunked', diffType: 'html_text_dmp', a: '/big-pdf?ct=text%2Fhtml', b: '/page/2.b.html', expected: [422, 502] });
  // For a PDF-reading type the 50 MiB PDF is still over MAX_BODY_BYTES: refused while it streams in, never handed to pdf.js.
  add({ id: 'big-pdf-text_dmp', group: 'huge body', label: '50 MiB PDF, chunked, no Content-Length', diffType: 'text_dmp', a: '/big-pdf', b: '/page/2.b.html', expected: [502], expectedType: 'UPSTREAM_TOO_LARGE' });
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
  for (const t of ['html_text_dmp', 'html_token', 'links_json', 'text_dmp']) {
    // An ordinary size with a large tree: a clean 200 or 413, never a memory kill.
    add({ id: `paragraphs-${t}`, group: 'large tree', label: '60 000 paragraphs (≈3.3 MB), one changed', diffType: t, a: '/many-paragraphs/a', b: '/many-paragraphs/b', expected: [200, 413] });
  }
  for (const t of ['side_by_side_text', 'html_text_dmp', 'html_source_dmp', 'html_token', 'text_dmp']) {
    add({ id: `long-line-${t}`, group: 'long line', label: '10 MB single line (one word changed)', diffType: t, a: '/long-line/a', b: '/long-line/b', expected: [200, 413, 422] });
  }
  // Over MAX_TEXT_CHARS: refused before any work. Just under MAX_CHANGED_CHARS: dmp at full stretch (its time budget, then a coarser diff).
  add({ id: 'unrelated-5mb-html_source_dmp', group: 'dmp worst case', label: 'two unrelated 5 MB texts', diffType: 'html_source_dmp', a: '/text/1', b: '/text/2', expected: [413] });
  add({ id: 'unrelated-500kb-html_source_dmp', group: 'dmp worst case', label: 'two unrelated 500 KB texts', diffType: 'html_source_dmp', a: '/small-text/1', b: '/small-text/2', expected: [200] });
  // Malformed HTTP from an upstream is the upstream's fault: 502 UPSTREAM_ERROR, never 500.
  add({ id: 'malformed-chunk-overflow', group: 'malformed upstream', label: 'chunk size FFFFFFFFFFFFFFFFFFFFFFFF', diffType: 'html_text_dmp', a: '/malformed/chunk-overflow', b: '/page/4.b.html', expected: [502], expectedType: 'UPSTREAM_ERROR' });
  add({ id: 'malformed-negative-length', group: 'malformed upstream', label: 'Content-Length: -1', diffType: 'html_text_dmp', a: '/malformed/negative-length', b: '/page/4.b.html', expected: [502], expectedType: 'UPSTREAM_ERROR' });
  add({ id: 'malformed-garbage-status', group: 'malformed upstream', label: 'garbage instead of a status line', diffType: 'html_text_dmp', a: '/malformed/garbage-status', b: '/page/4.b.html', expected: [502], expectedType: 'UPSTREAM_ERROR' });
  // JSON POST bombs: valid JSON under MAX_POST_BODY_BYTES, refused for its depth or element count.
  const bombs = jsonBombs();
  add({ id: 'json-bomb-nested', group: 'JSON POST bomb', label: 'POST JSON, extra field [[[…]]] nested 10⁷ deep (≈20 MB)', diffType: 'html_text_dmp', a: '', b: '', expected: [400], post: { body: bombs.nested, contentType: 'application/json' } });
  add({ id: 'json-bomb-flat', group: 'JSON POST bomb', label: 'POST JSON, extra field of 10⁷ values [0,0,…] (≈20 MB)', diffType: 'html_text_dmp', a: '', b: '', expected: [400], post: { body: bombs.flat, contentType: 'application/json' } });
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
  const agent = createAgent(CASE_TIMEOUT_MS, HOSTILE_ADDRESS);
  const startedAt = Date.now();
  const base = services[c.target].baseUrl;
  const answer = c.post
    ? await timedPost(`${base}/${c.diffType}`, agent, CASE_TIMEOUT_MS, c.post.body, c.post.contentType)
    : await timedGet(diffUrl(base, c.diffType, upstreamUrl(hostile, c.a, c.id), upstreamUrl(hostile, c.b, c.id)), agent, CASE_TIMEOUT_MS);
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
    ...(c.expectedType ? { expected_text: `${c.expected.join('/')} ${c.expectedType}` } : {}),
    as_expected: c.expected.includes(answer.status) && (c.expectedType === undefined || answer.type === c.expectedType),
    peak_rss_bytes: memory.rssBytes,
    peak_pss_bytes: memory.pssBytes,
  };
  log(`${c.id}: ${describe(answer)} in ${fmt(answer.ms, 0)} ms, upstream sent ${fmtBytes(result.upstream_bytes)}`);
  return result;
}

async function runOverload(service: ServiceProcess, hostile: HostileServer, sampler: RssPeakSampler): Promise<CaseResult> {
  await sampler.takePeak();
  const agent = createAgent(CASE_TIMEOUT_MS, HOSTILE_ADDRESS);
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

/** A normal request sent while a front-door attack holds its sockets: it must get 200. */
interface Probe {
  during: string;
  what: string;
  status: number;
  outcome: string;
  ms: number;
}

async function probe(during: string, what: string, url: string, probes: Probe[]): Promise<void> {
  const agent = createAgent(CASE_TIMEOUT_MS);
  const answer = await timedGet(url, agent, CASE_TIMEOUT_MS);
  await agent.close();
  probes.push({ during, what, status: answer.status, outcome: describe(answer), ms: answer.ms });
  log(`  probe during ${during}: ${what} → ${describe(answer)} in ${fmt(answer.ms, 0)} ms`);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

interface PhaseOutcome {
  id: string;
  group: string;
  label: string;
  diffType: string;
  startedAt: number;
  ms: number;
  breakdown: Record<string, number>;
  asExpected: boolean;
  expectedText: string;
  status: number;
}

async function phaseResult(o: PhaseOutcome, hostile: HostileServer, sampler: RssPeakSampler): Promise<CaseResult> {
  const memory = await sampler.takePeak();
  log(`${o.id}: ${Object.entries(o.breakdown).map(([k, v]) => `${v}× ${k}`).join(', ')} in ${fmt(o.ms, 0)} ms`);
  return {
    id: o.id,
    group: o.group,
    label: o.label,
    target: 'open',
    diff_type: o.diffType,
    status: o.status,
    type: undefined,
    limit: undefined,
    ms: o.ms,
    started_at: o.startedAt,
    ended_at: o.startedAt + o.ms,
    upstream_bytes: hostile.bytesFor(o.id),
    upstream_requests: hostile.requestsFor(o.id),
    retry_after: undefined,
    transport_error: undefined,
    expected: [],
    expected_text: o.expectedText,
    as_expected: o.asExpected,
    peak_rss_bytes: memory.rssBytes,
    peak_pss_bytes: memory.pssBytes,
    breakdown: o.breakdown,
  };
}

/**
 * 4 × 2 × 8 MB multipart POSTs at once, their first MiB as 1-byte HTTP chunks: each refused with 400
 * (`limit: body_chunks`, MIN_UPLOAD_CHUNK_BYTES) after its first few thousand chunks, the connection
 * closed, while the loop stays responsive.
 */
async function runTinyChunks(service: ServiceProcess, part: Buffer, hostile: HostileServer, sampler: RssPeakSampler): Promise<CaseResult> {
  await sampler.takePeak();
  const startedAt = Date.now();
  const port = Number(new URL(service.baseUrl).port);
  const answers = await Promise.all(
    Array.from({ length: TINY_CHUNK_POSTS }, () =>
      tinyChunkPost({ port, path: '/length', part, tinyBytes: TINY_CHUNK_BYTES, tinyMaxMs: TINY_CHUNK_MAX_MS, timeoutMs: CASE_TIMEOUT_MS, localAddress: TINY_CHUNK_ADDRESS }),
    ),
  );
  const tiny = Math.max(...answers.map((a) => a.tinyBytes));
  return phaseResult(
    {
      id: 'tiny-chunks',
      group: 'front door',
      label: `${TINY_CHUNK_POSTS} × POST of 2 × ${fmtBytes(part.length)}, sent as 1-byte chunks (${fmtBytes(tiny)} sent at most)`,
      diffType: 'length',
      startedAt,
      ms: Date.now() - startedAt,
      breakdown: countBy(answers, (a) => (a.status !== 0 ? `${a.status}${a.limit ? ` (${a.limit})` : ''}` : `no answer (${a.error ?? 'closed'})`)),
      asExpected: answers.every((a) => a.status === 400 && a.limit === 'body_chunks'),
      expectedText: '400 (body_chunks: MIN_UPLOAD_CHUNK_BYTES), connection closed',
      status: answers.find((a) => a.status !== 400)?.status ?? 400,
    },
    hostile,
    sampler,
  );
}

/** 24 clients ask for a ≈4 MB answer and read 4 bytes/s: the service hangs up on them (write timeout) and serves others meanwhile. */
async function runSlowReaders(service: ServiceProcess, hostile: HostileServer, sampler: RssPeakSampler, probes: Probe[]): Promise<CaseResult> {
  await sampler.takePeak();
  const startedAt = Date.now();
  const port = Number(new URL(service.baseUrl).port);
  const path = new URL(diffUrl(service.baseUrl, 'html_source_dmp', upstreamUrl(hostile, '/big-text/a', 'slow-readers'), upstreamUrl(hostile, '/big-text/b', 'slow-readers'))).pathname;
  const query = new URL(diffUrl(service.baseUrl, 'html_source_dmp', upstreamUrl(hostile, '/big-text/a', 'slow-readers'), upstreamUrl(hostile, '/big-text/b', 'slow-readers'))).search;
  const results = await slowReaders({
    port,
    path: `${path}${query}`,
    count: SLOW_READERS,
    bytesPerSecond: 4,
    staggerMs: 250,
    maxMs: SLOW_READER_MAX_MS,
    localAddress: SLOW_READER_ADDRESS,
    // While the answers are held: a heavy normal diff (a 1 MB page, html_token) three times, and a normal one.
    whileWaiting: async () => {
      for (let i = 0; i < 3; i++) {
        await probe('slow-readers', 'html_token, 1 MB page', diffUrl(service.baseUrl, 'html_token', upstreamUrl(hostile, '/scaled/a', 'probe'), upstreamUrl(hostile, '/scaled/b', 'probe')), probes);
      }
      await probe('slow-readers', 'html_text_dmp, real pair', diffUrl(service.baseUrl, 'html_text_dmp', upstreamUrl(hostile, '/page/5.a.html', 'probe'), upstreamUrl(hostile, '/page/5.b.html', 'probe')), probes);
    },
  });
  const closed = results.filter((r) => r.closedByServiceMs !== undefined);
  const closedMs = closed.map((r) => r.closedByServiceMs!);
  const breakdown = countBy(results, (r) => `${r.status === 0 ? `no status (${r.error ?? 'nothing read'})` : r.status}, ${r.closedByServiceMs === undefined ? `still open after ${fmt(SLOW_READER_MAX_MS / 1000, 0)} s` : 'hung up by the service'}`);
  if (closed.length > 0) breakdown[`hung up after ${fmt(Math.min(...closedMs) / 1000, 0)}–${fmt(Math.max(...closedMs) / 1000, 0)} s`] = closed.length;
  return phaseResult(
    {
      id: 'slow-readers',
      group: 'front door',
      label: `${SLOW_READERS} clients read a ≈4 MB html_source_dmp answer at 4 bytes/s`,
      diffType: 'html_source_dmp',
      startedAt,
      ms: Date.now() - startedAt,
      breakdown,
      // 24 requests for 8 MB pairs from one address: admission may turn some away (heavy jobs' share of
      // the queue, the per-client limit) with 503. Every reader that got its answer must be hung up on.
      asExpected: results.some((r) => r.status === 200) && results.every((r) => (r.status === 200 || r.status === 503) && r.closedByServiceMs !== undefined),
      expectedText: 'each 200 or 503 (admission: heavy share, per-client limit), at least one 200; all hung up by the service (write timeout)',
      status: results.find((r) => r.status !== 200 && r.status !== 503)?.status ?? 200,
    },
    hostile,
    sampler,
  );
}

/** 64 POSTs announce 100 000 bytes and send one: each gets 408 or is closed; normal diffs and /readyz are unaffected. */
async function runIdlePosts(service: ServiceProcess, hostile: HostileServer, sampler: RssPeakSampler, probes: Probe[]): Promise<CaseResult> {
  await sampler.takePeak();
  const startedAt = Date.now();
  const port = Number(new URL(service.baseUrl).port);
  const results = await idlePosts({
    port,
    path: '/html_text_dmp',
    count: IDLE_POSTS,
    contentLength: 100_000,
    maxMs: IDLE_POST_MAX_MS,
    localAddress: IDLE_POST_ADDRESS,
    whileHeld: async () => {
      await probe('idle-posts', '/readyz', `${service.baseUrl}/readyz`, probes);
      for (let i = 0; i < 5; i++) {
        await probe('idle-posts', 'html_text_dmp, real pair', diffUrl(service.baseUrl, 'html_text_dmp', upstreamUrl(hostile, `/page/${6 + i}.a.html`, 'probe'), upstreamUrl(hostile, `/page/${6 + i}.b.html`, 'probe')), probes);
      }
    },
  });
  const closedMs = results.flatMap((r) => (r.closedMs === undefined ? [] : [r.closedMs]));
  const breakdown = countBy(results, (r) => `${r.status === 0 ? 'no answer' : r.status}${r.closedMs === undefined ? `, still open after ${fmt(IDLE_POST_MAX_MS / 1000, 0)} s` : ', closed'}${r.error ? ` (${r.error})` : ''}`);
  if (closedMs.length > 0) breakdown[`closed after ${fmt(Math.min(...closedMs) / 1000, 1)}–${fmt(Math.max(...closedMs) / 1000, 1)} s`] = closedMs.length;
  return phaseResult(
    {
      id: 'idle-posts',
      group: 'front door',
      label: `${IDLE_POSTS} POSTs: headers (Content-Length: 100000) and one byte, then nothing`,
      diffType: 'html_text_dmp',
      startedAt,
      ms: Date.now() - startedAt,
      breakdown,
      // 64 sockets from one address: beyond MAX_IN_FLIGHT_PER_CLIENT they get 503 at once (per-client limit).
      asExpected: results.every((r) => r.closedMs !== undefined && (r.status === 0 || r.status === 408 || r.status === 503)),
      expectedText: 'each 408, 503 (per-client limit) or closed; normal diffs and /readyz unaffected',
      status: results.find((r) => r.status !== 0 && r.status !== 408 && r.status !== 503)?.status ?? 408,
    },
    hostile,
    sampler,
  );
}

/** VmRSS of one process (not its workers). */
async function processRss(pid: number): Promise<number> {
  try {
    return parseVmRssBytes(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const environment = runEnvironment(repoRoot);
  const started = Date.now();
  const pairs = loadPagePairs(corpusDir(repoRoot));
  log('building payloads (gzip bomb, random blobs, long lines, JSON bombs)…');
  const payloads = await buildHostilePayloads(pairs);
  const tinyChunkPart = buildScaledPair(pairs, 8 * MiB).a;
  const hostile = await startHostileServer(payloads);
  log(`hostile upstream on ${hostile.baseUrl}; gzip bomb ${fmtBytes(payloads.gzipBomb.byteLength)} → ${fmtBytes(payloads.gzipBombInflatedBytes)}`);

  // The pod's memory limit, for real: the open instance runs in a memory cgroup of the budget's size.
  let cgroup: MemoryCgroup | undefined;
  let cgroupNote: string;
  if (useCgroup) {
    const made = createMemoryCgroup(`diffguard-hostile-${process.pid}`, budgetMib * MiB);
    if ('unavailable' in made) {
      cgroupNote = `no memory cgroup (${made.unavailable}): ran without one`;
      log(cgroupNote);
    } else {
      cgroup = made;
      cgroupNote = `cgroup v${made.version}, memory limit ${budgetMib} MiB`;
      log(`service in ${made.dir} (${cgroupNote})`);
    }
  } else {
    cgroupNote = 'HOSTILE_CGROUP=off: ran without a memory cgroup';
  }

  // HOSTILE_WORKERS=1 gives the base manifest's pod shape (1 CPU → 1 worker, 512 MiB). The service
  // reads the memory limit at the root of the cgroup mount (right in a container), not this nested
  // cgroup's, so it is also told the budget.
  const memoryEnv: Record<string, string> = { MEMORY_LIMIT_MIB: String(budgetMib), WORKERS: String(workers) };
  let open: ServiceProcess | undefined;
  let guarded: ServiceProcess | undefined;
  let sampler: RssPeakSampler | undefined;
  let healthz: HealthzPoller | undefined;
  let trickle: NormalTrickle | undefined;
  let loopDelay: LoopDelayScraper | undefined;
  try {
    open = await startServiceProcess({ repoRoot, env: { ALLOW_PRIVATE_UPSTREAMS: 'true', ...memoryEnv }, ...(cgroup ? { cgroupProcsFile: cgroup.procsFile } : {}) });
    sampler = new RssPeakSampler(open.pid, 50);
    guarded = await startServiceProcess({ repoRoot, env: memoryEnv });
    const services: Record<Target, ServiceProcess> = { open, guarded };
    const index = (await (await fetch(`${open.baseUrl}/`)).json()) as { version?: string };
    environment.service_version = index.version;
    const restartsBefore = byLabel(await scrapeMetrics(open.baseUrl), 'diffguard_worker_restarts_total', 'reason');
    const mainIdleBytes = await processRss(open.pid);

    loopDelay = new LoopDelayScraper(open.baseUrl, 1000);
    healthz = new HealthzPoller(open.baseUrl, { intervalMs: 50, slowMs: HEALTHZ_MAX_LIMIT_MS, maxRunMs: RUN_LIMIT_MS });
    trickle = new NormalTrickle(open.baseUrl, hostile, pairs.length, 200);
    await sleep(1000);

    const cases = buildCases(hostile).filter((c) => caseFilter === undefined || caseFilter.test(c.id));
    const results: CaseResult[] = [];
    const probes: Probe[] = [];
    // The slow drip waits for the upstream timeout: run it alongside the others.
    const slowCase = cases.find((c) => c.id === 'slow-drip');
    const slowSampler = new RssPeakSampler(open.pid, 200);
    const slowResult = slowCase ? runCase(slowCase, services, hostile, slowSampler).finally(() => slowSampler.stop()) : (slowSampler.stop(), undefined);
    let guardWorks = true;
    for (const c of cases) {
      if (c === slowCase) continue;
      // Only ask for a link-local URL once the guard has been seen refusing a literal address up front.
      const skip = c.id.includes('metadata') && !guardWorks ? 'guard did not refuse loopback' : open.exit !== undefined ? 'the service had died' : undefined;
      if (skip !== undefined) {
        results.push({ id: c.id, group: c.group, label: c.label, target: c.target, diff_type: c.diffType, status: 0, type: undefined, limit: undefined, ms: 0, started_at: 0, ended_at: 0, upstream_bytes: 0, upstream_requests: 0, retry_after: undefined, transport_error: undefined, expected: c.expected, as_expected: false, peak_rss_bytes: 0, peak_pss_bytes: 0, skipped: skip });
        continue;
      }
      currentCase = c.id;
      const result = await runCase(c, services, hostile, sampler);
      currentCase = 'none';
      if (c.id === 'guard-loopback' && result.status !== 403) guardWorks = false;
      results.push(result);
    }
    const slotForSlow = results.findIndex((r) => r.group === 'deep nesting');
    if (slowResult) results.splice(slotForSlow < 0 ? results.length : slotForSlow, 0, await slowResult);

    // The front door: attacks on the main process itself, one at a time, each while normal diffs run.
    // Then the deliberate overload. Once the service has died, what is left is reported as skipped.
    const service = open;
    const phases: Array<[id: string, label: string, run: () => Promise<CaseResult>]> = [
      ['tiny-chunks', 'POSTs in 1-byte chunks', () => runTinyChunks(service, tinyChunkPart, hostile, sampler!)],
      ['slow-readers', 'slow readers', () => runSlowReaders(service, hostile, sampler!, probes)],
      ['idle-posts', 'idle POSTs', () => runIdlePosts(service, hostile, sampler!, probes)],
      ['overload', `${OVERLOAD_REQUESTS} concurrent heavy hostile requests`, () => runOverload(service, hostile, sampler!)],
    ];
    let overloadStart = NaN;
    let overloadEnd = NaN;
    for (const [id, label, run] of phases) {
      if (caseFilter !== undefined && !caseFilter.test(id)) continue;
      if (open.exit !== undefined) {
        results.push({ id, group: 'skipped', label, target: 'open', diff_type: '–', status: 0, type: undefined, limit: undefined, ms: 0, started_at: 0, ended_at: 0, upstream_bytes: 0, upstream_requests: 0, retry_after: undefined, transport_error: undefined, expected: [], as_expected: false, peak_rss_bytes: 0, peak_pss_bytes: 0, skipped: 'the service had died' });
        continue;
      }
      currentCase = id;
      if (id === 'overload') overloadStart = Date.now();
      results.push(await run());
      if (id === 'overload') overloadEnd = Date.now();
      currentCase = 'none';
    }

    await sleep(1000);
    await trickle.stop();
    const health = await healthz.stop();
    healthz = undefined;
    const delay = await loopDelay.stop();
    loopDelay = undefined;
    const restartsAfter = byLabel(await scrapeMetrics(open.baseUrl).catch(() => []), 'diffguard_worker_restarts_total', 'reason');
    const memory = sampler.overall;
    // The main process gives back what the run made it hold: wait (up to 30 s) for it to settle.
    let mainAfterBytes = await processRss(open.pid);
    for (let waited = 0; waited < 30_000 && open.exit === undefined && !(mainAfterBytes - mainIdleBytes <= MAIN_SETTLE_LIMIT_BYTES); waited += 1000) {
      await sleep(1000);
      mainAfterBytes = await processRss(open.pid);
    }
    const cgroupState = cgroup?.read();

    // ---- verdict
    const problems: string[] = [];
    for (const r of results) {
      if (r.skipped) continue;
      if (r.transport_error !== undefined) problems.push(`${r.id}: no answer (${r.transport_error})`);
      else if (r.status >= 500 && ![502, 503, 504].includes(r.status)) problems.push(`${r.id}: answered ${r.status} ${r.type ?? ''}`);
      else if (r.id !== 'overload' && r.status === 503) problems.push(`${r.id}: a single hostile request got 503${r.error ? ` (${r.error})` : ''}`);
      else if (!r.as_expected) problems.push(`${r.id}: ${r.breakdown ? Object.entries(r.breakdown).map(([k, v]) => `${v}× ${k}`).join(', ') : `${r.status}${r.type ? ` ${r.type}` : ''}`}, expected ${r.expected_text ?? r.expected.join('/')}`);
    }
    if (open.exit !== undefined) problems.push(`the service died: ${JSON.stringify(open.exit)}`);
    if (guarded.exit !== undefined) problems.push(`the guarded service died: ${JSON.stringify(guarded.exit)}`);
    if (memory.pssBytes > budgetMib * MiB) problems.push(`PSS peak ${fmtMiB(memory.pssBytes)} over the ${budgetMib} MiB budget`);
    if (cgroupState !== undefined && cgroupState.oomKills > 0) problems.push(`${cgroupState.oomKills} OOM kill(s) in the ${budgetMib} MiB memory cgroup`);
    const healthzP99 = percentile(health.latenciesMs, 99);
    const healthzMax = Math.max(...health.latenciesMs);
    if (!(healthzP99 < HEALTHZ_P99_LIMIT_MS)) problems.push(`/healthz p99 ${fmt(healthzP99)} ms (target < ${HEALTHZ_P99_LIMIT_MS})`);
    if (!(healthzMax < HEALTHZ_MAX_LIMIT_MS)) problems.push(`/healthz max ${fmt(healthzMax, 0)} ms (target < ${HEALTHZ_MAX_LIMIT_MS})`);
    if (health.failures.length > 0) problems.push(`/healthz failed ${health.failures.length}× (${[...new Set(health.failures)].join(', ')})`);
    if (!delay.exported) problems.push('the service exports no diffguard_event_loop_delay_seconds');
    else {
      if (!(delay.p99Ms < LOOP_DELAY_P99_LIMIT_MS)) problems.push(`event-loop delay p99 ≤ ${fmt(delay.p99Ms)} ms (target < ${LOOP_DELAY_P99_LIMIT_MS})`);
      if (!(delay.maxMs < LOOP_DELAY_MAX_LIMIT_MS)) problems.push(`event-loop delay max ${fmt(delay.maxMs, 0)} ms (target < ${LOOP_DELAY_MAX_LIMIT_MS})`);
    }
    if (!(mainAfterBytes - mainIdleBytes <= MAIN_SETTLE_LIMIT_BYTES)) problems.push(`main process at ${fmtMiB(mainAfterBytes)} RSS after the run, ${fmtMiB(mainAfterBytes - mainIdleBytes)} over its idle ${fmtMiB(mainIdleBytes)} (target ≤ 50 MiB)`);
    for (const p of probes) if (p.status !== 200) problems.push(`normal request during ${p.during} (${p.what}): ${p.outcome}`);
    // Which cases were running when /healthz was slow (the 1 byte/s case overlaps everything, so it is left out).
    const casesAt = (at: number, ms: number) => results.filter((r) => r.id !== 'slow-drip' && r.started_at <= at + ms && r.ended_at >= at).map((r) => r.id);
    const slowHealthz = health.slow.map((poll) => ({ ...poll, during: casesAt(poll.at, poll.ms) }));
    const inOverload = (t: TrickleResult) => t.startedAt >= overloadStart - 200 && t.startedAt <= overloadEnd + 1000;
    const normalFailures = trickle.results.filter((t) => t.status !== 200 && !(t.status === 503 && inOverload(t)));
    const normalOverloaded = trickle.results.filter((t) => t.status === 503 && inOverload(t));
    if (normalFailures.length > 0) {
      const kinds = countBy(normalFailures, (f) => `${f.outcome} during ${f.during}`);
      problems.push(`${normalFailures.length} normal diffs failed: ${Object.entries(kinds).map(([k, v]) => `${v}× ${k}`).join(', ')}`);
    }

    if (caseFilter !== undefined) problems.push(`partial run (HOSTILE_CASES=${process.env.HOSTILE_CASES})`);
    const restarts: Record<string, number> = {};
    for (const [reason, n] of Object.entries(restartsAfter)) if (n - (restartsBefore[reason] ?? 0) > 0) restarts[reason] = n - (restartsBefore[reason] ?? 0);
    const summary: Summary = {
      rss_peak_bytes: memory.rssBytes,
      pss_peak_bytes: memory.pssBytes,
      rss_budget_mib: budgetMib,
      workers,
      cgroup: cgroupState === undefined ? { note: cgroupNote } : { note: cgroupNote, oom_kills: cgroupState.oomKills, peak_bytes: cgroupState.peakBytes },
      main_process: { idle_rss_bytes: mainIdleBytes, after_rss_bytes: mainAfterBytes },
      healthz: { polls: health.latenciesMs.length, p50_ms: percentile(health.latenciesMs, 50), p99_ms: healthzP99, max_ms: healthzMax, failures: health.failures.length, slow_polls: slowHealthz },
      event_loop_delay: delay,
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
      probes,
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
    await loopDelay?.stop();
    sampler?.stop();
    await Promise.all([open?.stop(), guarded?.stop()]);
    await hostile.close();
    if (cgroup !== undefined) {
      await cgroup.remove().catch((err: unknown) => log(`could not remove ${cgroup?.dir}: ${String(err)}`));
    }
  }
}

interface Summary {
  rss_peak_bytes: number;
  pss_peak_bytes: number;
  rss_budget_mib: number;
  workers: number;
  cgroup: { note: string; oom_kills?: number; peak_bytes?: number | undefined };
  main_process: { idle_rss_bytes: number; after_rss_bytes: number };
  healthz: { polls: number; p50_ms: number; p99_ms: number; max_ms: number; failures: number; slow_polls: Array<{ ms: number; during: string[] }> };
  event_loop_delay: LoopDelaySummary;
  worker_restarts: Record<string, number>;
  normal_diffs: { sent: number; ok: number; overloaded_during_overload: number; failed: number; p50_ms: number; max_ms: number; skipped_too_many_in_flight: number };
  probes: Probe[];
  service_alive: boolean;
  problems: string[];
  passed: boolean;
  elapsed_s: number;
}

/** How many polls were slow, the worst ten, and during which cases. */
function slowPollsText(polls: ReadonlyArray<{ ms: number; during: string[] }>): string {
  if (polls.length === 0) return 'none';
  const worst = [...polls].sort((x, y) => y.ms - x.ms).slice(0, 10);
  const byCase = countBy(polls, (p) => p.during.join(', ') || 'between cases');
  return `${polls.length}; worst ${worst.map((p) => `${fmt(p.ms, 0)} ms (${p.during.join(', ') || 'between cases'})`).join(', ')}; by case: ${Object.entries(byCase)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`;
}

function renderMarkdown(env: ReturnType<typeof runEnvironment>, results: CaseResult[], summary: Summary): string {
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
        r.skipped ? '–' : `${r.as_expected ? '✓' : '✗'} ${r.expected_text ?? r.expected.join('/')}`,
        fmt(r.ms, 0),
        `${fmtBytes(r.upstream_bytes)}${r.upstream_requests > 2 ? ` (${r.upstream_requests} req)` : ''}`,
        r.target === 'guarded' || r.skipped ? '–' : `${fmtMiB(r.peak_rss_bytes)} / ${fmtMiB(r.peak_pss_bytes)}`,
      ];
    }),
  );
  const restarts = Object.entries(summary.worker_restarts).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
  const n = summary.normal_diffs;
  const d = summary.event_loop_delay;
  const mark = (ok: boolean) => (ok ? '✓' : '✗');
  const main = summary.main_process;
  const probesFailed = summary.probes.filter((p) => p.status !== 200);
  return [
    `### Hostile replay (${env.started_at.slice(0, 10)}, ${env.cpus} × ${env.cpu_model}, Node ${env.node}, diffguard ${env.service_version ?? '?'}${env.git_commit ? ` @ ${env.git_commit}` : ''})`,
    '',
    `Default limits, ${summary.workers} worker${summary.workers === 1 ? '' : 's'}, MEMORY_LIMIT_MIB = the ${summary.rss_budget_mib} MiB budget, ${summary.cgroup.note}; cases run one at a time (the 1 byte/s upstream alongside), with an html_text_dmp on a real pair every 200 ms and /healthz every 50 ms. "upstream sent" is what the hostile server handed to the socket for that case (both versions). Peak RSS / PSS is the service (main + workers) while the case ran; RSS counts the shared node binary once per process, PSS splits it.`,
    '',
    table,
    '',
    markdownTable(
      ['overall', 'value', 'target'],
      [
        ['memory peak, main + workers (RSS / PSS)', `${fmtMiB(summary.rss_peak_bytes)} / ${fmtMiB(summary.pss_peak_bytes)}`, `${mark(summary.pss_peak_bytes <= summary.rss_budget_mib * MiB)} PSS ≤ ${summary.rss_budget_mib} MiB`],
        [
          'memory cgroup: OOM kills, peak charge',
          summary.cgroup.oom_kills === undefined ? summary.cgroup.note : `${summary.cgroup.oom_kills}, ${fmtMiB(summary.cgroup.peak_bytes ?? NaN)}`,
          summary.cgroup.oom_kills === undefined ? '–' : `${mark(summary.cgroup.oom_kills === 0)} 0 OOM kills`,
        ],
        ['main process RSS: idle / after the run', `${fmtMiB(main.idle_rss_bytes)} / ${fmtMiB(main.after_rss_bytes)}`, `${mark(main.after_rss_bytes - main.idle_rss_bytes <= MAIN_SETTLE_LIMIT_BYTES)} within 50 MiB of idle`],
        ['/healthz p50 / p99 / max', `${fmt(summary.healthz.p50_ms)} / ${fmt(summary.healthz.p99_ms)} / ${fmt(summary.healthz.max_ms)} ms (${summary.healthz.polls} polls, ${summary.healthz.failures} failed)`, `${mark(summary.healthz.p99_ms < HEALTHZ_P99_LIMIT_MS && summary.healthz.max_ms < HEALTHZ_MAX_LIMIT_MS && summary.healthz.failures === 0)} p99 < ${HEALTHZ_P99_LIMIT_MS}, max < ${HEALTHZ_MAX_LIMIT_MS} ms`],
        [`/healthz polls over ${HEALTHZ_MAX_LIMIT_MS} ms`, slowPollsText(summary.healthz.slow_polls), ''],
        [
          'event-loop delay p99 / max (main process)',
          d.exported ? `≤ ${fmt(d.p99Ms)} / ${fmt(d.maxMs)} ms (${d.windows} windows of ~1 s, ${d.samples} samples; worst window p99 ${fmt(d.worstWindowP99Ms)} ms)` : 'not exported by this service',
          `${mark(d.exported && d.p99Ms < LOOP_DELAY_P99_LIMIT_MS && d.maxMs < LOOP_DELAY_MAX_LIMIT_MS)} p99 < ${LOOP_DELAY_P99_LIMIT_MS}, max < ${LOOP_DELAY_MAX_LIMIT_MS} ms`,
        ],
        ['worker restarts (by reason)', restarts, ''],
        ['normal diffs', `${n.sent} sent, ${n.ok} ok, ${n.overloaded_during_overload} × 503 during the deliberate overload, ${n.failed} failed; p50 ${fmt(n.p50_ms, 0)} ms, max ${fmt(n.max_ms, 0)} ms`, `${mark(n.failed === 0)} 0 failed`],
        [
          'normal requests during the front-door attacks',
          `${summary.probes.length} sent, ${summary.probes.length - probesFailed.length} ok${probesFailed.length > 0 ? `; ${probesFailed.map((p) => `${p.what} during ${p.during}: ${p.outcome}`).join('; ')}` : ''}`,
          `${mark(probesFailed.length === 0)} all 200`,
        ],
        ['verdict', summary.passed ? 'PASS' : `FAIL: ${summary.problems.join('; ')}`, ''],
      ],
    ),
  ].join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`[hostile] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
