// Starts the whole service in-process (real sockets, port 0) with the hostile test worker.
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { diffTypes } from '../../src/diff/index.ts';
import { startService, type RunningService } from '../../src/main.ts';
import { hostileDiffTypes } from './hostile-diff-types.ts';

export interface TestService extends RunningService {
  base: string;
  get(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export const hostileWorkerModule = fileURLToPath(new URL('./hostile-worker.ts', import.meta.url));

export interface TestServiceOptions {
  /** Where the service logs (default: nowhere). See captureLogs. */
  logger?: Logger;
}

export async function startTestService(env: Record<string, string> = {}, options: TestServiceOptions = {}): Promise<TestService> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ALLOW_PRIVATE_UPSTREAMS: 'true',
    WORKERS: '1',
    MAX_QUEUED_JOBS: '2',
    // Tests that fill the queue count its places; test/pool/admission.test.ts covers the small-only ones.
    SMALL_JOB_QUEUE_PLACES: '0',
    JOB_CPU_LIMIT_MS: '3000',
    WORKER_HEAP_MIB: '96',
    WORKER_RSS_LIMIT_MIB: '192',
    DRAIN_TIMEOUT_MS: '5000',
    MEMORY_LIMIT_MIB: '4096',
    UPSTREAM_BODY_TIMEOUT_MS: '3000',
    // Workers at the main process's priority: on a shared, loaded test machine, niced workers starve
    // behind every other process and hit JOB_DEADLINE_MS before the limit a test expects.
    // (test/pool/limits.test.ts checks the niceness itself.)
    WORKER_NICENESS: '0',
    ...env,
  });
  const service = await startService(config, options.logger ?? pino({ level: 'silent' }), {
    workerModule: hostileWorkerModule,
    diffTypes: new Map([...diffTypes, ...hostileDiffTypes.map((d) => [d.name, d] as const)]),
  });
  const { port } = service.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    ...service,
    base,
    get: (path, init) => fetch(`${base}${path}`, init),
    close: () => service.shutdown(),
  };
}

export function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** A response's JSON body, loosely typed for assertions. */
export async function json(res: Response): Promise<any> {
  return res.json();
}

export interface CapturedLogs {
  logger: Logger;
  /** Every line logged so far, parsed. */
  lines: Record<string, any>[];
  /** Waits (up to 60 s: a loaded machine is slow, a missing line still fails) for a line matching `predicate` and returns it. */
  waitFor(predicate: (line: Record<string, any>) => boolean): Promise<Record<string, any>>;
}

/** A logger that keeps its JSON lines in memory, for tests of the request log. */
export function captureLogs(): CapturedLogs {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return {
    logger,
    lines,
    async waitFor(predicate) {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 10))) {
        const line = lines.find(predicate);
        if (line !== undefined) return line;
      }
      throw new Error('no matching log line within 60 s');
    },
  };
}
