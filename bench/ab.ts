// A/B of builds under the same load: `node bench/ab.ts <root-A> <root-B> [diff types…]`, each root a
// directory holding a built dist/ (e.g. a copy of an older build). Both services run at once; the
// load alternates between them (A, B, A, B, …) so whatever else the machine is doing hits both
// alike. Prints the median CPU ms per diff (main + workers) per type and build at concurrency 4.
// Knobs: AB_ROUNDS (default 5), AB_DURATION_S (default 3), AB_CONCURRENCY (default 4), AB_ENV_A and
// AB_ENV_B (JSON objects of extra service settings for one side, e.g. '{"WORKER_MAX_JOBS":"1000"}').
import path from 'node:path';
import { corpusDir, loadPagePairs } from './lib/corpus.ts';
import { diffUrl } from './lib/http-client.ts';
import { runLoad } from './lib/load.ts';
import { sampleTree } from './lib/process-tree.ts';
import { envNumber } from './lib/report.ts';
import { startServiceProcess, type ServiceProcess } from './lib/service-process.ts';
import { startStaticServer } from './lib/static-server.ts';
import { fmt, median, percentile } from './lib/stats.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const [rootA, rootB, ...typeArgs] = process.argv.slice(2);
if (rootA === undefined || rootB === undefined) throw new Error('usage: node bench/ab.ts <root-A> <root-B> [diff types…]');
const diffTypes = typeArgs.length > 0 ? typeArgs : ['length', 'identical_bytes'];
const rounds = envNumber('AB_ROUNDS', 5);
const durationS = envNumber('AB_DURATION_S', 3);
const concurrency = envNumber('AB_CONCURRENCY', 4);

const pairs = loadPagePairs(corpusDir(repoRoot));
const corpus = await startStaticServer();
for (const pair of pairs) {
  corpus.files.set(`/pages/${pair.id}.a.html`, { body: pair.a, contentType: 'text/html; charset=utf-8' });
  corpus.files.set(`/pages/${pair.id}.b.html`, { body: pair.b, contentType: 'text/html; charset=utf-8' });
}
const services: ServiceProcess[] = [];
try {
  for (const [root, extra] of [
    [rootA, process.env.AB_ENV_A],
    [rootB, process.env.AB_ENV_B],
  ] as const) {
    const env = { ALLOW_PRIVATE_UPSTREAMS: 'true', ...(JSON.parse(extra ?? '{}') as Record<string, string>) };
    services.push(await startServiceProcess({ repoRoot: path.resolve(root), env }));
  }
  for (const diffType of diffTypes) {
    const results = services.map(() => ({ cpu: [] as number[], p95: [] as number[], tput: [] as number[] }));
    const pathsOf = (service: ServiceProcess) =>
      pairs.map((pair) => {
        const url = new URL(diffUrl(service.baseUrl, diffType, `${corpus.baseUrl}/pages/${pair.id}.a.html`, `${corpus.baseUrl}/pages/${pair.id}.b.html`));
        return url.pathname + url.search;
      });
    for (const service of services) await runLoad({ baseUrl: service.baseUrl, paths: pathsOf(service), connections: concurrency, amount: 2 * pairs.length });
    for (let round = 0; round < rounds; round++) {
      for (const [i, service] of services.entries()) {
        const before = await sampleTree(service.pid);
        const run = await runLoad({ baseUrl: service.baseUrl, paths: pathsOf(service), connections: concurrency, durationS });
        const after = await sampleTree(service.pid);
        if (Object.keys(run.failures).length > 0) process.stderr.write(`[ab] ${diffType} ${i === 0 ? 'A' : 'B'}: failures ${JSON.stringify(run.failures)}\n`);
        results[i]!.cpu.push(((after!.cpuSeconds - before!.cpuSeconds) / Math.max(1, run.responses)) * 1000);
        results[i]!.p95.push(percentile(run.latenciesMs, 95));
        results[i]!.tput.push(run.responses / run.elapsedS);
      }
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    process.stdout.write(
      `${diffType}: CPU ms/diff A ${fmt(median(a.cpu))} [${a.cpu.map((x) => fmt(x)).join(' ')}]  B ${fmt(median(b.cpu))} [${b.cpu.map((x) => fmt(x)).join(' ')}]  ` +
        `p95 A ${fmt(median(a.p95))} B ${fmt(median(b.p95))}  diffs/s A ${fmt(median(a.tput))} B ${fmt(median(b.tput))}\n`,
    );
  }
} finally {
  for (const service of services) await service.stop();
  await corpus.close();
}
