// Composition root: config → pool → app → listen, and graceful shutdown on SIGTERM/SIGINT.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import { ConfigError, loadConfig, resolveAnchorAliases, type AliasReport, type Config } from './config.ts';
import { diffTypes, type DiffDefinition } from './diff/index.ts';
import { createApp, type AppState } from './http/app.ts';
import { createMetrics } from './http/metrics.ts';
import { createErrorReporter } from './http/sentry.ts';
import { BodyBudget, createFetcher, type Fetcher } from './ingest/index.ts';
import { DiffPool, derivePoolSizing, readContainerResources, sizingProblem } from './pool/index.ts';
import { VERSION } from './version.ts';

// The share of the memory limit that running jobs may fill before the largest is stopped.
const MEMORY_BUDGET_SHARE = 0.9;
// When the drain runs out, the jobs left are answered 503 OVERLOADED; this long is given for those
// answers to reach their clients before the remaining connections are closed.
const RESPONSE_FLUSH_MS = 1_000;
// At shutdown, how long error reports still queued may take to reach Sentry.
const SENTRY_FLUSH_MS = 2_000;

export interface RunningService {
  server: Server;
  pool: DiffPool;
  fetcher: Fetcher;
  /** What requests hold in the main process (bodies, answers), by bytes. */
  bodyBudget: BodyBudget;
  state: AppState;
  /**
   * Stops accepting, drains in-flight requests (up to DRAIN_TIMEOUT_MS), answers what is left with
   * 503 OVERLOADED + Retry-After, closes the connections and stops the workers.
   */
  shutdown(): Promise<void>;
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'diffguard', version: VERSION },
    // Belt and braces: request logging never includes headers, but nothing secret may ever slip through.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', '*.authorization', '*.cookie'], censor: '[redacted]' },
  });
}

export interface ServiceOverrides {
  /** Worker entry module and the diff types it serves (tests add hostile ones). */
  workerModule?: string;
  diffTypes?: ReadonlyMap<string, DiffDefinition<any>>;
  /** Called when the pool has been broken (no worker can start) for a while; main() exits non-zero. */
  onPoolGaveUp?: (event: { reason: string; brokenForMs: number }) => void;
}

export async function startService(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const { workerModule } = overrides;
  const resources = readContainerResources();
  const sizing = derivePoolSizing(config, resources);
  const problem = sizingProblem(sizing);
  if (problem !== undefined) throw new ConfigError([problem]);
  logger.info({ cpus: resources.cpus, memory_limit_mib: sizing.budgetMib, workers: sizing.workers, max_queued_jobs: sizing.maxQueued, small_job_queue_places: sizing.smallQueuePlaces, max_in_flight_requests: sizing.maxInFlight, input_budget_mib: Math.round(sizing.inputBudgetBytes / 2 ** 20), required_mib: sizing.requiredMib, worker_heap_mib: config.workerHeapMib, worker_rss_limit_mib: config.workerRssLimitMib }, 'pool sizing');

  const metrics = createMetrics();
  // Made before the pool: when the service's memory must come down, the request holding the most
  // in the main process can be the one stopped (BodyBudget.relieveLargest).
  const bodyBudget = new BodyBudget(sizing.inputBudgetBytes, config.retryAfterSeconds);
  const pool = new DiffPool({
    workers: sizing.workers,
    // One idle, started worker beyond WORKERS takes over when a worker is replaced. It holds ~40 MiB
    // of its own; the sizing counts each worker's shared node-binary pages (~50 MiB) once per worker
    // where the kernel charges them once, which covers it.
    spareWorkers: 1,
    maxQueued: sizing.maxQueued,
    smallQueuePlaces: sizing.smallQueuePlaces,
    maxInFlight: sizing.maxInFlight,
    maxJobsPerWorker: config.workerMaxJobs,
    heavyJobBytes: config.heavyJobBytes,
    workerNiceness: config.workerNiceness,
    retryAfterSeconds: config.retryAfterSeconds,
    // Stop the largest job before the container's OOM killer would take every job with it; when the
    // main process is what grew, stop the request holding the most there instead.
    relieveMainProcess: () => bodyBudget.relieveLargest(),
    ...(sizing.budgetMib === undefined ? {} : { memoryBudgetMib: Math.floor(sizing.budgetMib * MEMORY_BUDGET_SHARE) }),
    limits: {
      heapMib: config.workerHeapMib,
      rssLimitMib: config.workerRssLimitMib,
      cpuLimitMs: config.jobCpuLimitMs,
      deadlineMs: config.jobDeadlineMs,
      watchdogIntervalMs: 20,
      useDataLimit: true,
    },
    ...(workerModule === undefined ? {} : { workerModule }),
    observer: {
      ...metrics.poolObserver,
      workerExited(event) {
        metrics.poolObserver.workerExited?.(event);
        const level = event.reason === 'recycle' || event.reason === 'shutdown' ? 'debug' : 'warn';
        logger[level]({ reason: event.reason, pid: event.pid, worker_output: event.reason === 'crash' || event.reason === 'startup' ? event.output.slice(-1000) : undefined }, event.replaced ? 'worker replaced' : 'worker stopped');
      },
      dataLimitDropped(event) {
        logger.warn({ worker_output: event.output.slice(-1000) }, 'workers fail to start under RLIMIT_DATA: starting them without it (the resident-memory watchdog still applies)');
      },
      gaveUp(event) {
        logger.fatal({ reason: event.reason, broken_for_ms: event.brokenForMs }, 'no diff worker could start for too long: giving up so the pod is restarted');
        overrides.onPoolGaveUp?.(event);
      },
    },
  });
  await pool.start();
  metrics.watchPool(pool);

  const fetcher = createFetcher({
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    headersTimeoutMs: config.upstreamHeadersTimeoutMs,
    bodyTimeoutMs: config.upstreamBodyTimeoutMs,
    maxRedirects: config.upstreamMaxRedirects,
    maxBodyBytes: config.maxBodyBytes,
    maxDecompressionRatio: config.maxDecompressionRatio,
    allowPrivateUpstreams: config.allowPrivateUpstreams,
    allowFileUrls: config.allowFileUrls,
    verifyTls: config.verifyUpstreamTls,
    userAgent: `diffguard/${VERSION} (+https://github.com/edgi-govdata-archiving/web-monitoring-diff compatible)`,
  });
  const state: AppState = { shuttingDown: false };
  metrics.watchBodies(bodyBudget);
  const errorReporter = config.sentryDsn === '' ? undefined : await createErrorReporter({ dsn: config.sentryDsn, release: VERSION });
  const app = createApp({ config, pool, fetcher, bodyBudget, logger, metrics, diffTypes: overrides.diffTypes ?? diffTypes, state, errorReporter });
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  // While draining, close each keep-alive connection as soon as its last response is done.
  server.on('request', (_req, res) => {
    res.once('finish', () => {
      if (state.shuttingDown) setImmediate(() => server.closeIdleConnections());
    });
  });
  // Slow clients must not hold sockets forever; diffs themselves are bounded by the job deadline.
  server.headersTimeout = 20_000;
  server.requestTimeout = config.jobDeadlineMs + config.upstreamBodyTimeoutMs + 10_000;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      state.shuttingDown = true;
      const drainUntil = Date.now() + config.drainTimeoutMs;
      // Keep serving (with /readyz failing) while the load balancer takes the pod out of rotation.
      if (config.shutdownDelayMs > 0) await sleep(config.shutdownDelayMs);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // The pool drains until the same deadline, then stops the jobs left with 503 + Retry-After.
      const poolClosed = pool.close(Math.max(0, drainUntil - Date.now()));
      if (!(await settlesWithin(closed, drainUntil - Date.now()))) {
        // Let those 503s (and any request that finishes fetching meanwhile) reach the clients.
        await poolClosed;
        await settlesWithin(closed, RESPONSE_FLUSH_MS);
        server.closeAllConnections();
      }
      await poolClosed;
      await fetcher.close();
      await errorReporter?.close(SENTRY_FLUSH_MS);
    })());
  return { server, pool, fetcher, bodyBudget, state, shutdown };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The URL a person on this machine opens: a wildcard bind address is reached as localhost. */
export function servingUrl(host: string, port: number): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]';
  const name = wildcard ? 'localhost' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${name}:${port}/`;
}

/** One line saying which web-monitoring-diff variables were honoured (only when any is set). */
function logAnchorAliases(logger: Logger, report: AliasReport): void {
  const mapped = Object.entries(report.mapped).map(([anchor, setting]) => `${anchor} → ${setting}`);
  if (mapped.length + Object.keys(report.overridden).length + Object.keys(report.ignored).length === 0) return;
  logger.info(
    { mapped: report.mapped, overridden_by_own_name: report.overridden, ignored: report.ignored },
    `web-monitoring-diff settings honoured: ${mapped.join(', ') || 'none'}`,
  );
}

/** The service as a process: config from the environment, signals, exit codes. Tests start it with hostile diff types. */
export async function main(overrides: ServiceOverrides = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const logger = createLogger(config);
  logAnchorAliases(logger, resolveAnchorAliases(process.env).report);
  let service: RunningService;
  try {
    service = await startService(config, logger, {
      ...overrides,
      // Kubernetes restarts the container (the 'exit' listener below stops the workers).
      onPoolGaveUp: () => process.exit(1),
    });
  } catch (err) {
    logger.fatal({ err }, 'diffguard could not start');
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const address = service.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = servingUrl(config.host, port);
  logger.info({ url, bind_address: typeof address === 'object' && address !== null ? address.address : config.host, port }, `diffguard listening on ${url}`);

  // However the process ends, no worker outlives it: a worker busy in a loop never notices that
  // its parent is gone. (kill() is synchronous, as 'exit' listeners must be.)
  process.once('exit', () => service.pool.killWorkersNow());
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      service.pool.killWorkersNow();
      process.exit(1);
    }
    logger.info({ signal, drain_timeout_ms: config.drainTimeoutMs }, 'shutting down: draining in-flight requests');
    service.shutdown().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  void main();
}
