// Starts the built service (dist/src/main.js) as a child process on a free loopback port and
// waits until /readyz answers 200. Its JSON log lines are kept (last few hundred) for reports.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServiceProcess {
  pid: number;
  baseUrl: string;
  child: ChildProcess;
  /** The last log lines (stdout and stderr). */
  logTail(): string[];
  /** Set once the process has exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface StartOptions {
  repoRoot: string;
  /** Extra environment on top of PORT, HOST and LOG_LEVEL. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** A cgroup's `cgroup.procs`: the service joins it before Node starts, so its workers are born inside. */
  cgroupProcsFile?: string;
  /** Node flags for the main process (e.g. --cpu-prof); the workers do not get them. */
  nodeArgs?: string[];
}

/** glibc malloc settings the Dockerfile and `npm start` give the service (test/deploy checks they agree). */
export const PRODUCTION_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '1048576',
  MALLOC_TRIM_THRESHOLD_: '4194304',
};

export async function startServiceProcess(options: StartOptions): Promise<ServiceProcess> {
  const entry = path.join(options.repoRoot, 'dist', 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  // Only the variables the service needs: no inherited settings may change its limits.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // The image's malloc settings (Dockerfile, `npm start`): benchmarks measure what ships.
    ...PRODUCTION_MALLOC_ENV,
    ...options.env,
  };
  // In a cgroup: a shell writes its own pid (which exec keeps for Node) to cgroup.procs first.
  const [command, args] =
    options.cgroupProcsFile === undefined
      ? [process.execPath, [...(options.nodeArgs ?? []), entry]]
      : ['/bin/sh', ['-c', 'echo $$ > "$1" || exit 97; shift; exec "$@"', 'sh', options.cgroupProcsFile, process.execPath, ...(options.nodeArgs ?? []), entry]];
  const child = spawn(command, args, { cwd: options.repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      if (lines.length > 300) lines.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const service: ServiceProcess = {
    pid: child.pid ?? -1,
    baseUrl,
    child,
    logTail: () => [...lines],
    exit: undefined,
    async stop() {
      if (service.exit !== undefined) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(30_000, undefined, { ref: false }).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  child.once('exit', (code, signal) => {
    service.exit = { code, signal };
  });

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (service.exit !== undefined) {
      throw new Error(`service exited during start-up (${JSON.stringify(service.exit)}):\n${lines.slice(-20).join('\n')}`);
    }
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return service;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await service.stop();
  throw new Error(`service not ready after ${options.readyTimeoutMs ?? 30_000} ms:\n${lines.slice(-20).join('\n')}`);
}
