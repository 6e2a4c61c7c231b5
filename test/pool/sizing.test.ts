import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { parseCfsQuota, parseCpuMax, parseMemoryLimit, readContainerResources } from '../../src/pool/cgroup.ts';
import { parseStatCpuMs, parseStatRssBytes, parseStatmRssBytes, parseStatusMemory, sampleMemory, sampleProcess } from '../../src/pool/proc-stats.ts';
import { derivePoolSizing, sizingProblem } from '../../src/pool/sizing.ts';
import { startService } from '../../src/main.ts';

const MiB = 1024 * 1024;

describe('cgroup limits', () => {
  it('reads cgroup v2 CPU quotas and memory limits', () => {
    assert.equal(parseCpuMax('max 100000\n'), undefined);
    assert.equal(parseCpuMax('200000 100000\n'), 2);
    assert.equal(parseCpuMax('150000 100000'), 1.5);
    assert.equal(parseMemoryLimit('max\n'), undefined);
    assert.equal(parseMemoryLimit('536870912\n'), 512 * MiB);
  });

  it('reads cgroup v1, where "no limit" is -1 or a number near 2^63', () => {
    assert.equal(parseCfsQuota('-1', '100000'), undefined);
    assert.equal(parseCfsQuota('50000', '100000'), 0.5);
    assert.equal(parseMemoryLimit('9223372036854771712'), undefined);
  });

  it('takes the workers from the quota, never more than the CPUs there are', () => {
    const root = mkdtempSync(join(os.tmpdir(), 'cgroup-'));
    writeFileSync(join(root, 'cpu.max'), '150000 100000\n');
    writeFileSync(join(root, 'memory.max'), `${512 * MiB}\n`);
    const resources = readContainerResources(root);
    assert.equal(resources.cpus, Math.min(2, os.availableParallelism()));
    assert.equal(resources.memoryLimitBytes, 512 * MiB);
    const v1 = mkdtempSync(join(os.tmpdir(), 'cgroup-v1-'));
    mkdirSync(join(v1, 'cpu'));
    writeFileSync(join(v1, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
    writeFileSync(join(v1, 'cpu', 'cpu.cfs_period_us'), '100000\n');
    assert.equal(readContainerResources(v1).cpus, os.availableParallelism());
    assert.equal(readContainerResources(v1).memoryLimitBytes, undefined);
  });
});

describe('pool sizing', () => {
  const defaults = loadConfig({});

  it('fits the defaults in a 512 MiB, 2-CPU container', () => {
    const sizing = derivePoolSizing(defaults, { cpus: 2, memoryLimitBytes: 512 * MiB });
    assert.equal(sizing.workers, 2);
    assert.equal(sizing.maxQueued, 4);
    // 4 × WORKERS places for small jobs only, at HEAVY_JOB_BYTES (2 MiB) each.
    assert.equal(sizing.smallQueuePlaces, 8);
    assert.equal(sizing.requiredMib, 2 * 160 + 6 * 20 + 8 * 2);
    assert.equal(sizing.inputBudgetBytes, (6 * 20 + 8 * 2) * MiB);
    assert.equal(derivePoolSizing(loadConfig({ SMALL_JOB_QUEUE_PLACES: '0' }), { cpus: 2, memoryLimitBytes: undefined }).smallQueuePlaces, 0);
    assert.equal(sizingProblem(sizing), undefined);
  });

  it('refuses limits that cannot fit the memory, naming what to change', () => {
    const sizing = derivePoolSizing(loadConfig({ WORKERS: '4' }), { cpus: 2, memoryLimitBytes: 512 * MiB });
    assert.match(sizingProblem(sizing) ?? '', /need 912 MiB, more than the 512 MiB memory limit.*WORKERS/);
    // MEMORY_LIMIT_MIB overrides the cgroup's.
    assert.equal(sizingProblem(derivePoolSizing(loadConfig({ WORKERS: '4', MEMORY_LIMIT_MIB: '1024' }), { cpus: 2, memoryLimitBytes: 512 * MiB })), undefined);
    // No limit at all: nothing to check against.
    assert.equal(sizingProblem(derivePoolSizing(loadConfig({ WORKERS: '4' }), { cpus: 2, memoryLimitBytes: undefined })), undefined);
  });

  it('makes the service refuse to start', async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', WORKERS: '2', MEMORY_LIMIT_MIB: '256' });
    await assert.rejects(startService(config, pino({ level: 'silent' })), (err: ConfigError) => err instanceof ConfigError && /256 MiB memory limit/.test(err.message));
  });
});

describe('/proc sampling', () => {
  it('parses utime + stime in clock ticks, even with spaces in the command name', () => {
    const stat = '1234 (node worker) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0 100 0 0';
    assert.equal(parseStatCpuMs(stat), 2000);
    assert.equal(parseStatmRssBytes('1000 256 10 1 0 100 0'), 256 * 4096);
    assert.equal(parseStatRssBytes('1234 (node worker) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0 100 4096000 300 0'), 300 * 4096);
    // Field 24 of stat is statm's resident count: the same figure for a live process.
    const [selfStat, selfStatm] = [readFileSync('/proc/self/stat', 'utf8'), readFileSync('/proc/self/statm', 'utf8')];
    assert.ok(Math.abs(parseStatRssBytes(selfStat) - parseStatmRssBytes(selfStatm)) < 4 * MiB);
  });

  it('samples a live process and reports a gone one as undefined', async () => {
    const sample = await sampleProcess(process.pid);
    assert.ok(sample !== undefined && sample.rssBytes > 10 * MiB && sample.cpuMs > 0);
    assert.equal(await sampleProcess(2 ** 22 + 12345), undefined);
  });

  it('splits resident memory into the process\'s own pages and shared file-backed ones', async () => {
    const status = 'Name:\tnode\nVmRSS:\t   90000 kB\nRssAnon:\t   60000 kB\nRssFile:\t   29000 kB\nRssShmem:\t    1000 kB\nVmData:\t 1 kB\n';
    assert.deepEqual(parseStatusMemory(status), { ownBytes: 61000 * 1024, fileBytes: 29000 * 1024 });
    assert.throws(() => parseStatusMemory('Name:\tnode\n'), /RssAnon/);
    const self = await sampleMemory('self');
    // The node binary alone maps tens of MiB of file pages: counted once per container, not per process.
    assert.ok(self !== undefined && self.ownBytes > 10 * MiB && self.fileBytes > 10 * MiB);
    assert.equal(await sampleMemory(2 ** 22 + 12345), undefined);
  });
});
