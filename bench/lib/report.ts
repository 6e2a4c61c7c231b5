// Shared report plumbing: run metadata and writing results to bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RunEnvironment {
  started_at: string;
  node: string;
  cpus: number;
  cpu_model: string;
  memory_gib: number;
  git_commit: string | undefined;
  service_version: string | undefined;
}

export function runEnvironment(repoRoot: string): RunEnvironment {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = undefined;
  }
  return {
    started_at: new Date().toISOString(),
    node: process.version,
    cpus: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    git_commit: commit,
    service_version: undefined,
  };
}

/** Writes `<name>-<timestamp>.json`, `<name>-latest.json` and `<name>-latest.md`; returns the JSON path. */
export function writeResults(repoRoot: string, name: string, data: unknown, markdown: string): string {
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${name}-${stamp}.json`);
  const json = `${JSON.stringify(data, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(path.join(dir, `${name}-latest.json`), json);
  writeFileSync(path.join(dir, `${name}-latest.md`), `${markdown}\n`);
  return file;
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}
