// The deployment guide in README.md must not drift
// from the configuration, the manifests or the sizing rules it explains.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { anchorAliases, loadConfig, settings } from '../../src/config.ts';
import { ERROR_TYPES } from '../../src/errors.ts';
import { PRODUCTION_MALLOC_ENV } from '../../bench/lib/service-process.ts';
import { memoryFitProblems, parseQuantity } from './invariants.ts';
import { renderKustomization } from './kustomize-lite.ts';

const root = resolve(import.meta.dirname, '../..');
const guide = readFileSync(join(root, 'README.md'), 'utf8');
const settingNames = new Set(Object.values(settings).map((s) => s.env));
/** Upper-case names the guide may use that are not diffguard settings. */
const otherNames = new Set<string>([
  ...ERROR_TYPES,
  // web-monitoring-diff's names, honoured as aliases, and the one without a meaning here.
  ...anchorAliases.map((alias) => alias.anchor),
  'RESTART_BROKEN_DIFFER',
  'NODE_ENV',
  'NODE_OPTIONS',
  // glibc's, set by the image (Dockerfile).
  ...Object.keys(PRODUCTION_MALLOC_ENV),
  'RLIMIT_DATA',
  // Knobs of the benchmark harness, not of the service (bench/README.md).
  'BENCH_QUICK',
  'BENCH_RUNS',
  'BENCH_DURATION_S',
  'BENCH_SCALING_REPS',
  'HOSTILE_WORKERS',
  'HOSTILE_RSS_BUDGET_MIB',
]);

interface DockerRun {
  command: string;
  cpus: number;
  memoryBytes: number;
  env: Record<string, string>;
}

/** The `docker run` examples, with their CPU, memory and environment. */
function dockerRuns(markdown: string): DockerRun[] {
  const commands = markdown.replace(/\\\n\s*/g, ' ').split('\n').filter((line) => line.startsWith('docker run '));
  return commands.map((command) => {
    const cpus = /--cpus (\S+)/.exec(command)?.[1];
    const memory = /--memory (\d+)m\b/.exec(command)?.[1];
    assert.ok(cpus !== undefined && memory !== undefined, `docker run without --cpus/--memory: ${command}`);
    const env = Object.fromEntries([...command.matchAll(/-e (\w+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    return { command, cpus: Number(cpus), memoryBytes: Number(memory) * 1024 * 1024, env };
  });
}

describe('deployment guide', () => {
  it('names only real settings', () => {
    const names = new Set(guide.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g) ?? []);
    const unknown = [...names].filter((name) => !settingNames.has(name) && !otherNames.has(name));
    assert.deepEqual(unknown, []);
  });

  it('has docker run examples whose settings load and fit their --memory', () => {
    const runs = dockerRuns(guide);
    assert.ok(runs.length >= 2);
    for (const run of runs) {
      const config = loadConfig(run.env);
      const cpus = config.workers > 0 ? config.workers : Math.ceil(run.cpus);
      assert.deepEqual(memoryFitProblems(config, cpus, run.memoryBytes), [], run.command);
      assert.match(run.command, /--stop-timeout (\d+)/);
      const stopTimeout = Number(/--stop-timeout (\d+)/.exec(run.command)?.[1]);
      assert.ok(stopTimeout * 1000 > config.drainTimeoutMs + config.shutdownDelayMs, `--stop-timeout must outlast the drain: ${run.command}`);
    }
  });

  it('would catch an example that does not fit', () => {
    const [first] = dockerRuns(guide.replace('--cpus 1 --memory 512m', '--cpus 2 --memory 512m'));
    assert.ok(first);
    assert.notDeepEqual(memoryFitProblems(loadConfig(first.env), first.cpus, first.memoryBytes), []);
  });

  it('quotes the defaults and the manifests as they are', () => {
    const deployment = renderKustomization(join(root, 'deploy/kubernetes')).objects.find((o) => o.kind === 'Deployment') as unknown as IDeployment;
    const container = deployment.spec?.template.spec?.containers[0];
    const memory = parseQuantity(container?.resources?.limits?.['memory'] ?? '0') / (1024 * 1024);
    assert.ok(guide.includes(`Memory request = limit = \`${memory}Mi\``));
    assert.ok(guide.includes(`The CPU request is \`${container?.resources?.requests?.['cpu']}\``));
    assert.ok(guide.includes(`terminationGracePeriodSeconds: ${deployment.spec?.template.spec?.terminationGracePeriodSeconds}`));
    assert.ok(guide.includes(`\`DRAIN_TIMEOUT_MS\` (${settings.drainTimeoutMs.default / 1000} s)`));
    assert.ok(guide.includes(`\`WORKER_HEAP_MIB\` of V8 heap (default ${settings.workerHeapMib.default})`));
    assert.ok(guide.includes(`\`WORKER_RSS_LIMIT_MIB\` of resident memory (default ${settings.workerRssLimitMib.default})`));
    assert.ok(guide.includes(`\`JOB_CPU_LIMIT_MS\` of CPU (default ${settings.jobCpuLimitMs.default / 1000} s)`));
    assert.ok(guide.includes(`\`JOB_DEADLINE_MS\` (${settings.jobDeadlineMs.default / 1000} s)`));
  });
});
