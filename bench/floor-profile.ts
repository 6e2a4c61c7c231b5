// The per-request floor, broken down: `node bench/floor-profile.ts [diff type]` (default
// identical_bytes; run `npm run build` first). Starts the built service with --cpu-prof on its main
// process (workers are not profiled), runs the corpus at concurrency 4 for FLOOR_DURATION_S (5),
// and classifies every profile sample of the measured window by the innermost frame that belongs
// to a known stage (a socket write made by undici counts as undici's, one made while writing the
// answer as the answer's). Prints the shares as a Markdown table, with the CPU per diff of each
// process of the tree measured from /proc over the same run. The profiler roughly doubles the CPU:
// read the shares, not the profiled milliseconds.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { corpusDir, loadPagePairs } from './lib/corpus.ts';
import { diffUrl } from './lib/http-client.ts';
import { runLoad } from './lib/load.ts';
import { markdownTable } from './lib/markdown.ts';
import { parseStatCpu, processTree } from './lib/process-tree.ts';
import { envNumber } from './lib/report.ts';
import { startServiceProcess } from './lib/service-process.ts';
import { startStaticServer } from './lib/static-server.ts';

interface CallFrame {
  functionName: string;
  url: string;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages, most specific first; a sample goes to the innermost frame that matches one. */
const STAGES: ReadonlyArray<readonly [string, (frame: CallFrame) => boolean]> = [
  ['(idle)', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['pino (the request line)', (f) => /node_modules\/(pino|sonic-boom|thread-stream)\//.test(f.url)],
  ['prom-client', (f) => /node_modules\/prom-client\//.test(f.url) || /src\/http\/metrics\./.test(f.url)],
  ['SHA-256', (f) => /internal\/crypto\/hash/.test(f.url)],
  ['sniffing', (f) => /node_modules\/(file-type|strtok3|token-types|whatwg-mimetype|jschardet)\/|src\/sniff\//.test(f.url)],
  ['pool (admission, hand-off to a worker and back)', (f) => /src\/pool\//.test(f.url)],
  ['answer write (answer.ts, compress.ts)', (f) => /src\/http\/(answer|compress)\./.test(f.url)],
  ['body read pipeline (streams, gathering the chunks)', (f) => /src\/ingest\/read-body\./.test(f.url)],
  ['undici: the two fetches', (f) => /node_modules\/undici\//.test(f.url)],
  ['fetcher, address guard', (f) => /src\/ingest\//.test(f.url)],
  ['ETag', (f) => /src\/http\/etag\./.test(f.url)],
  ['request-id', (f) => /src\/http\/request-id\./.test(f.url)],
  ['per-client limits', (f) => /src\/http\/client-limits\./.test(f.url)],
  ['express routing', (f) => /node_modules\/(express|router|finalhandler|on-finished|parseurl|qs)\//.test(f.url)],
  ['app.ts, load-versions, params', (f) => /src\/http\//.test(f.url)],
  ["node's HTTP server (request parsing, answer headers and body)", (f) => /node:_http_(server|common|outgoing)/.test(f.url)],
];
const OTHER = 'other node internals (promises, timers, streams)';

export function floorBreakdown(profile: CpuProfile, fromUs: number, toUs: number): Map<string, number> {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    let label: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined && label === undefined; cur = parent.get(cur)) {
      const frame = nodes.get(cur)!.callFrame;
      label = STAGES.find(([, matches]) => matches(frame))?.[0];
    }
    stageOf.set(id, label ?? OTHER);
    return label ?? OTHER;
  };
  const totals = new Map<string, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < fromUs || t > toUs) return;
    const label = classify(id);
    totals.set(label, (totals.get(label) ?? 0) + delta);
  });
  return totals;
}

async function cpuByPid(rootPid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of await processTree(rootPid)) {
    try {
      out.set(pid, parseStatCpu(readFileSync(`/proc/${pid}/stat`, 'utf8')).self);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The breakdown as Markdown (`npm run bench` calls this after its own runs, on a service of its own). */
export async function floorProfileMarkdown(repoRoot: string, diffType: string, durationS: number): Promise<string> {
  const profileDir = mkdtempSync(path.join(tmpdir(), 'diffguard-floor-'));
  const pairs = loadPagePairs(corpusDir(repoRoot));
  const corpus = await startStaticServer();
  for (const pair of pairs) {
    corpus.files.set(`/pages/${pair.id}.a.html`, { body: pair.a, contentType: 'text/html; charset=utf-8' });
    corpus.files.set(`/pages/${pair.id}.b.html`, { body: pair.b, contentType: 'text/html; charset=utf-8' });
  }
  const started = performance.now();
  const service = await startServiceProcess({ repoRoot, env: { ALLOW_PRIVATE_UPSTREAMS: 'true' }, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] });
  try {
    const paths = pairs.map((pair) => {
      const url = new URL(diffUrl(service.baseUrl, diffType, `${corpus.baseUrl}/pages/${pair.id}.a.html`, `${corpus.baseUrl}/pages/${pair.id}.b.html`));
      return url.pathname + url.search;
    });
    await runLoad({ baseUrl: service.baseUrl, paths, connections: 4, amount: 5 * pairs.length });
    const before = await cpuByPid(service.pid);
    const fromUs = (performance.now() - started) * 1000;
    const run = await runLoad({ baseUrl: service.baseUrl, paths, connections: 4, durationS });
    const toUs = (performance.now() - started) * 1000;
    const after = await cpuByPid(service.pid);
    await service.stop();
    const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('the service wrote no profile');
    // The profile's clock starts with the process, a little after `started`: the window is approximate.
    const totals = floorBreakdown(JSON.parse(readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile, fromUs, toUs);
    const busy = [...totals].filter(([label]) => label !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
    const perDiff = (pid: number) => (((after.get(pid) ?? 0) - (before.get(pid) ?? 0)) * 1000) / Math.max(1, run.responses);
    const workers = [...after.keys()].filter((pid) => pid !== service.pid);
    return [
      `#### The floor, broken down (main process of ${diffType}, concurrency 4, ${run.responses} answers in ${durationS} s under --cpu-prof)`,
      '',
      `CPU ms/diff from /proc while profiled (the profiler roughly doubles it): main ${perDiff(service.pid).toFixed(2)}, workers ${workers.reduce((sum, pid) => sum + perDiff(pid), 0).toFixed(2)} (${workers.length} live; recycled workers are not counted). Shares of the main process's busy CPU, each sample given to the innermost frame of a known stage:`,
      '',
      markdownTable(
        ['stage (main process)', 'share of busy CPU'],
        [...totals]
          .filter(([label]) => label !== '(idle)')
          .sort((x, y) => y[1] - x[1])
          .map(([label, us]) => [label, `${((100 * us) / busy).toFixed(1)} %`]),
      ),
    ].join('\n');
  } finally {
    await service.stop();
    await corpus.close();
    rmSync(profileDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const repoRoot = path.resolve(import.meta.dirname, '..');
  process.stdout.write(`${await floorProfileMarkdown(repoRoot, process.argv[2] ?? 'identical_bytes', envNumber('FLOOR_DURATION_S', 5))}\n`);
}
