// The one configuration module: every setting is declared once here (name, default, meaning,
// validation). The README's configuration table is checked against these declarations by
// test/docs.test.ts. Nothing else reads process.env; modules get the slice they need.

const MiB = 1024 * 1024;

interface SettingSpec<T> {
  env: string;
  default: T;
  /** How the default is shown in the README (when it is not the plain value). */
  defaultText?: string;
  description: string;
  parse(raw: string): T | { error: string };
}

function intSetting(
  env: string,
  defaultValue: number,
  description: string,
  bounds: { min: number; max?: number },
  defaultText?: string,
): SettingSpec<number> {
  return {
    env,
    default: defaultValue,
    description,
    ...(defaultText === undefined ? {} : { defaultText }),
    parse(raw) {
      if (!/^\s*-?\d+\s*$/.test(raw)) return { error: `must be a whole number, got ${JSON.stringify(raw)}` };
      const value = Number(raw);
      if (!Number.isSafeInteger(value)) return { error: `is out of range: ${raw}` };
      if (value < bounds.min) return { error: `must be at least ${bounds.min}, got ${value}` };
      if (bounds.max !== undefined && value > bounds.max) return { error: `must be at most ${bounds.max}, got ${value}` };
      return value;
    },
  };
}

function boolSetting(env: string, defaultValue: boolean, description: string): SettingSpec<boolean> {
  return {
    env,
    default: defaultValue,
    description,
    parse(raw) {
      const value = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(value)) return true;
      if (['false', '0', 'no', 'off', ''].includes(value)) return false;
      return { error: `must be true or false, got ${JSON.stringify(raw)}` };
    },
  };
}

function enumSetting<const T extends string>(env: string, defaultValue: T, values: readonly T[], description: string): SettingSpec<T> {
  return {
    env,
    default: defaultValue,
    description,
    parse(raw) {
      const value = raw.trim().toLowerCase();
      return (values as readonly string[]).includes(value)
        ? (value as T)
        : { error: `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}` };
    },
  };
}

function colorSetting(env: string, defaultValue: string, description: string): SettingSpec<string> {
  return {
    env,
    default: defaultValue,
    description,
    parse(raw) {
      const value = raw.trim();
      // Injected into a <style> element: allow only plain colour syntax, never arbitrary CSS.
      return /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s]+\))$/.test(value)
        ? value
        : { error: `must be a CSS colour such as #a1d76a, got ${JSON.stringify(raw)}` };
    },
  };
}

function listSetting(env: string, description: string): SettingSpec<readonly string[]> {
  return {
    env,
    default: [],
    defaultText: '(empty)',
    description,
    parse(raw) {
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    },
  };
}

export const settings = {
  port: intSetting('PORT', 8888, 'TCP port the HTTP server listens on.', { min: 0, max: 65535 }),
  host: {
    env: 'HOST',
    default: '0.0.0.0',
    description: 'Address the HTTP server binds to.',
    parse: (raw: string) => raw.trim() || { error: 'must not be empty' },
  } satisfies SettingSpec<string>,
  logLevel: enumSetting('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'Minimum level of the JSON log lines written to stdout.'),
  debug: boolSetting('DEBUG', false, 'Include stack traces and internal messages in error responses. Never in production.'),
  corsAllowedOrigins: listSetting('CORS_ALLOWED_ORIGINS', 'Comma-separated origins allowed by CORS (`*` for any). Empty: no CORS headers.'),

  allowFileUrls: boolSetting('ALLOW_FILE_URLS', false, 'Allow `file://` URLs for `a`/`b`. Local use only; never in production.'),
  allowPrivateUpstreams: boolSetting('ALLOW_PRIVATE_UPSTREAMS', false, 'Lift the SSRF guard: allow loopback, private, link-local and other internal addresses upstream.'),
  verifyUpstreamTls: boolSetting('VERIFY_UPSTREAM_TLS', true, 'Verify upstream TLS certificates. `false` only for self-signed test archives.'),
  upstreamConnectTimeoutMs: intSetting('UPSTREAM_CONNECT_TIMEOUT_MS', 5_000, 'Time to open a TCP/TLS connection to an upstream, per hop.', { min: 1 }),
  upstreamHeadersTimeoutMs: intSetting('UPSTREAM_HEADERS_TIMEOUT_MS', 10_000, 'Time to receive an upstream response\'s headers, per hop.', { min: 1 }),
  upstreamBodyTimeoutMs: intSetting('UPSTREAM_BODY_TIMEOUT_MS', 20_000, 'Time to receive a whole upstream response (headers and body, all redirects).', { min: 1 }),
  upstreamMaxRedirects: intSetting('UPSTREAM_MAX_REDIRECTS', 5, 'Redirects followed per version; each hop is checked by the SSRF guard.', { min: 0, max: 20 }),
  maxBodyBytes: intSetting('MAX_BODY_BYTES', 10 * MiB, 'Largest body per version, on the wire and after decompression.', { min: 1024 }),
  maxDecompressionRatio: intSetting('MAX_DECOMPRESSION_RATIO', 100, 'Largest ratio of decompressed to compressed bytes (gzip bombs are refused).', { min: 1 }),
  maxPostBodyBytes: intSetting('MAX_POST_BODY_BYTES', 0, 'Largest POST request body.', { min: 0 }, '0 (2 × MAX_BODY_BYTES + 64 KiB)'),

  workers: intSetting('WORKERS', 0, 'Diff worker processes.', { min: 0, max: 256 }, '0 (CPUs available to the container)'),
  maxQueuedJobs: intSetting('MAX_QUEUED_JOBS', 0, 'Jobs that may wait for a worker; beyond that requests get 503.', { min: 0 }, '0 (2 × WORKERS)'),
  smallJobQueuePlaces: intSetting(
    'SMALL_JOB_QUEUE_PLACES',
    -1,
    'Queue places beyond MAX_QUEUED_JOBS that only small diffs (bodies together ≤ HEAVY_JOB_BYTES) may take: normal page diffs wait behind a slow job instead of being refused.',
    { min: -1 },
    '-1 (4 × WORKERS)',
  ),
  maxInFlightRequests: intSetting(
    'MAX_IN_FLIGHT_REQUESTS',
    0,
    'Diff requests handled at once, fetching their inputs, queued or running; beyond that requests get 503. Bodies in memory are bounded separately, by bytes.',
    { min: 0 },
    '0 (8 × (WORKERS + MAX_QUEUED_JOBS))',
  ),
  maxInFlightPerClient: intSetting(
    'MAX_IN_FLIGHT_PER_CLIENT',
    0,
    'Diff requests one client address may have in flight (reading its upload, fetching, queued, running or being answered); beyond that its requests get 503 (`scope: "client"`). Behind a proxy every client has the proxy\'s address: raise it or set it to MAX_IN_FLIGHT_REQUESTS.',
    { min: 0 },
    '0 (half of MAX_IN_FLIGHT_REQUESTS, at least 4)',
  ),
  maxConnectionsPerClient: intSetting('MAX_CONNECTIONS_PER_CLIENT', 256, 'Open connections one client address may have; a request on a connection beyond that gets 503 (`scope: "client"`) and the connection is closed.', { min: 1 }),
  postBodyTimeoutMs: intSetting('POST_BODY_TIMEOUT_MS', 15_000, 'Time a client has to send a whole POST body, from its headers; then 408 REQUEST_TIMEOUT and the connection is closed (slow uploads cannot hold places).', { min: 100 }),
  minUploadChunkBytes: intSetting(
    'MIN_UPLOAD_CHUNK_BYTES',
    64,
    'Smallest average chunk size of a POST body that has sent more than 4096 chunks; below it 400 BAD_REQUEST (`limit: "body_chunks"`) and the connection is closed. Each chunk costs the main process ~2 µs, whatever its size. 0 turns the check off.',
    { min: 0 },
  ),
  maxAnswerBytes: intSetting('MAX_ANSWER_BYTES', 32 * MiB, 'Largest diff answer sent (413 TOO_LARGE, `limit: "answer"`, beyond). Answers being written are charged to the input budget.', { min: 1024 }),
  answerWriteTimeoutMs: intSetting('ANSWER_WRITE_TIMEOUT_MS', 10_000, 'Time a client may go without reading any of its answer before it is disconnected and the answer\'s memory given back.', { min: 100 }),
  jobCpuLimitMs: intSetting('JOB_CPU_LIMIT_MS', 10_000, 'CPU time one diff job may use before its worker is killed (422 LIMIT_EXCEEDED, limit cpu).', { min: 50 }),
  jobDeadlineMs: intSetting('JOB_DEADLINE_MS', 30_000, 'Wall-clock limit of a diff job, queue wait included (422 LIMIT_EXCEEDED, limit wall; 504 DEADLINE_EXCEEDED if it was still waiting for a worker).', { min: 100 }),
  workerHeapMib: intSetting('WORKER_HEAP_MIB', 160, 'V8 heap limit of each worker process.', { min: 32 }),
  workerRssLimitMib: intSetting('WORKER_RSS_LIMIT_MIB', 256, 'Resident memory at which a worker is killed (422 LIMIT_EXCEEDED, limit memory).', { min: 64 }),
  // A worker that a job left large is replaced at once anyway (pool): this only bounds slow leaks.
  // At 200 a worker's start (~0.3 s of CPU, then a cold JIT) cost 6–7 ms per diff (bench/README.md).
  workerMaxJobs: intSetting('WORKER_MAX_JOBS', 2000, 'Jobs a worker runs before it is replaced (bounds slow leaks; a worker a job left large is replaced at once).', { min: 1 }),
  workerNiceness: intSetting('WORKER_NICENESS', 10, 'How much lower the workers\' scheduling priority is than the main process\'s (niceness added, at most 19), so health checks and admission answer while workers saturate the CPUs. 0: the same priority.', { min: 0, max: 19 }),
  heavyJobBytes: intSetting(
    'HEAVY_JOB_BYTES',
    2 * MiB,
    'A diff whose two bodies together are larger than this is heavy: heavy diffs hold at most half of the running and queued places and run on all workers but one, and a waiting normal diff goes first.',
    { min: 1024 },
  ),
  memoryLimitMib: intSetting('MEMORY_LIMIT_MIB', 0, 'Memory budget checked at start-up against the worker and input limits.', { min: 0 }, '0 (the cgroup limit, if any)'),
  drainTimeoutMs: intSetting('DRAIN_TIMEOUT_MS', 25_000, 'On SIGTERM, how long in-flight requests may take to finish before exit.', { min: 0 }),
  shutdownDelayMs: intSetting('SHUTDOWN_DELAY_MS', 0, 'On SIGTERM, how long to keep serving (with /readyz failing) before closing the listener.', { min: 0 }),
  retryAfterSeconds: intSetting('RETRY_AFTER_SECONDS', 5, 'Retry-After sent with 503 OVERLOADED.', { min: 1 }),

  dmpTimeoutMs: intSetting('DMP_TIMEOUT_MS', 2_000, 'Default diff-match-patch time budget of html_text_dmp and html_source_dmp (the anchor\'s 2 s).', { min: 1 }),
  htmlTokenMaxTokens: intSetting('HTML_TOKEN_MAX_TOKENS', 300_000, 'Most tokens per side html_token diffs (413 TOO_LARGE beyond).', { min: 1 }),
  // The caps below keep every input under them within the default worker limits (heap 160 MiB,
  // resident 256 MiB): measured peak at most 222 MiB resident, 107 MiB heap, on the costliest shapes.
  // Text: diff-match-patch costs most per character of the span it really compares (between the
  // first and the last difference), much less per character of common start and end, so the
  // changed span has its own, smaller cap. Measured on markup-like text (every `<`/`>` is 6 bytes
  // of escaped JSON): 4 Mi characters with 512 Ki changed throughout peak at 184 MiB (Latin) and
  // 214 MiB (CJK); 10 Mi with 1 Mi changed reach 269 MiB.
  maxTextChars: intSetting('MAX_TEXT_CHARS', 4 * MiB, 'Most decoded characters per side diffed by html_source_dmp, html_text_dmp and text_dmp, and most characters of text extracted from a PDF (413 TOO_LARGE beyond).', { min: 1 }),
  maxChangedChars: intSetting('MAX_CHANGED_CHARS', 512 * 1024, 'Most characters per side between the first and the last difference that html_source_dmp and html_text_dmp compare (413 TOO_LARGE beyond).', { min: 1 }),
  maxHtmlChars: intSetting('MAX_HTML_CHARS', 2 * MiB, 'Most decoded characters of HTML per side the parsing diff types parse (413 TOO_LARGE beyond, before parsing).', { min: 1 }),
  maxHtmlNodes: intSetting('MAX_HTML_NODES', 100_000, 'Most HTML nodes plus attributes a parse may build per side (413 TOO_LARGE beyond).', { min: 1 }),
  sentryDsn: {
    env: 'SENTRY_DSN',
    default: '',
    defaultText: '(empty)',
    description: 'Report unexpected server errors (500 INTERNAL only) to this Sentry DSN, as web-monitoring-diff does. Empty: off.',
    parse: (raw: string) => {
      const value = raw.trim();
      if (value === '') return value;
      try {
        const url = new URL(value);
        return url.protocol === 'https:' || url.protocol === 'http:' ? value : { error: `must be an http(s) Sentry DSN, got a ${url.protocol} URL` };
      } catch {
        return { error: 'must be a Sentry DSN URL (https://key@host/project)' };
      }
    },
  } satisfies SettingSpec<string>,
  // Pages are read one at a time and the text is capped as it grows (MAX_TEXT_CHARS); the page cap
  // bounds the work on PDFs whose pages hold little text but many objects.
  maxPdfPages: intSetting('MAX_PDF_PAGES', 500, 'Most pages per PDF that text_dmp and side_by_side_text read (413 TOO_LARGE beyond, before any page is read).', { min: 1 }),
  insertionColor: colorSetting('DIFFER_COLOR_INSERTION', '#a1d76a', 'Background colour of insertions in rendered HTML diffs.'),
  deletionColor: colorSetting('DIFFER_COLOR_DELETION', '#e8a4c8', 'Background colour of deletions in rendered HTML diffs.'),
} as const;

/**
 * web-monitoring-diff's environment variables, honoured where diffguard has the same setting so an
 * existing deployment's configuration carries over. diffguard's own name wins when both are set.
 * `translate` turns the anchor's value into diffguard's, or says why it is ignored.
 */
export interface AnchorAlias {
  anchor: string;
  setting: string;
  translate?(raw: string): string | { ignored: string };
}

/** The anchor used 0 for "no limit"; diffguard always has one, so 0 keeps diffguard's default. */
const zeroMeansDefault = (raw: string) => (raw.trim() === '0' ? { ignored: '0 (no limit) is not offered: diffguard keeps its default' } : raw);

export const anchorAliases: readonly AnchorAlias[] = [
  { anchor: 'DIFFER_PARALLELISM', setting: 'WORKERS' },
  { anchor: 'MAX_DIFFS_PER_WORKER', setting: 'WORKER_MAX_JOBS', translate: zeroMeansDefault },
  { anchor: 'DIFFER_MAX_BODY_SIZE', setting: 'MAX_BODY_BYTES', translate: zeroMeansDefault },
  { anchor: 'DIFFING_SERVER_DEBUG', setting: 'DEBUG' },
  { anchor: 'ACCESS_CONTROL_ALLOW_ORIGIN_HEADER', setting: 'CORS_ALLOWED_ORIGINS' },
  {
    anchor: 'WEB_MONITORING_APP_ENV',
    setting: 'ALLOW_FILE_URLS',
    // The anchor allows file:// everywhere but in production; diffguard refuses it unless ALLOW_FILE_URLS=true.
    translate: (raw) => (raw.trim().toLowerCase() === 'production' ? 'false' : { ignored: 'only `production` has a meaning (no file:// URLs, also diffguard\'s default)' }),
  },
  { anchor: 'VALIDATE_TARGET_CERTIFICATES', setting: 'VERIFY_UPSTREAM_TLS' },
];

export interface AliasReport {
  /** Anchor name → diffguard name, for each anchor variable that set a diffguard setting. */
  mapped: Record<string, string>;
  /** Anchor variables not used because diffguard's own name was set too. */
  overridden: Record<string, string>;
  /** Anchor variables set to a value without a meaning here, and why. */
  ignored: Record<string, string>;
}

/** The environment with web-monitoring-diff's names applied, and what was mapped (for the start-up log). */
export function resolveAnchorAliases(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; report: AliasReport; sources: Record<string, string> } {
  const effective: NodeJS.ProcessEnv = { ...env };
  const report: AliasReport = { mapped: {}, overridden: {}, ignored: {} };
  const sources: Record<string, string> = {};
  for (const { anchor, setting, translate } of anchorAliases) {
    const raw = env[anchor];
    if (raw === undefined) continue;
    if (env[setting] !== undefined) {
      report.overridden[anchor] = setting;
      continue;
    }
    const value = translate === undefined ? raw : translate(raw);
    if (typeof value !== 'string') {
      report.ignored[anchor] = value.ignored;
      continue;
    }
    effective[setting] = value;
    sources[setting] = anchor;
    report.mapped[anchor] = setting;
  }
  return { env: effective, report, sources };
}

type Settings = typeof settings;
type SettingValue<S> = S extends SettingSpec<infer T> ? T : never;
export type Config = { readonly [K in keyof Settings]: SettingValue<Settings[K]> };

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads every setting from `env`, reports every bad value at once, and returns a frozen config. */
export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): Config {
  const { env, sources } = resolveAnchorAliases(rawEnv);
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(settings) as [string, SettingSpec<unknown>][]) {
    const raw = env[spec.env];
    if (raw === undefined) {
      values[key] = spec.default;
      continue;
    }
    const parsed = spec.parse(raw);
    if (parsed !== null && typeof parsed === 'object' && 'error' in (parsed as object)) {
      const source = sources[spec.env];
      const name = source === undefined ? spec.env : `${source} (web-monitoring-diff's name for ${spec.env})`;
      problems.push(`${name} ${(parsed as { error: string }).error}`);
    } else {
      values[key] = parsed;
    }
  }
  const config = values as Config;
  if (problems.length === 0) {
    if (config.workerRssLimitMib <= config.workerHeapMib) {
      problems.push(`WORKER_RSS_LIMIT_MIB (${config.workerRssLimitMib}) must be above WORKER_HEAP_MIB (${config.workerHeapMib})`);
    }
    if (config.jobDeadlineMs < config.jobCpuLimitMs) {
      problems.push(`JOB_DEADLINE_MS (${config.jobDeadlineMs}) must not be below JOB_CPU_LIMIT_MS (${config.jobCpuLimitMs})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** The effective POST body cap: explicit, or room for both versions plus form overhead. */
export function effectiveMaxPostBodyBytes(config: Pick<Config, 'maxPostBodyBytes' | 'maxBodyBytes'>): number {
  return config.maxPostBodyBytes > 0 ? config.maxPostBodyBytes : 2 * config.maxBodyBytes + 64 * 1024;
}

/** The in-flight requests one client address may have: explicit, or half the service's (at least 4). */
export function effectiveMaxInFlightPerClient(config: Pick<Config, 'maxInFlightPerClient'>, serviceMaxInFlight: number): number {
  return config.maxInFlightPerClient > 0 ? config.maxInFlightPerClient : Math.max(4, Math.floor(serviceMaxInFlight / 2));
}
