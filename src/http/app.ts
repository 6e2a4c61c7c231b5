// The express app: routes, CORS, ETag, per-request log line, and the one error handler.
// createApp does not listen; main.ts and the tests do.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Body } from '../body.ts';
import { effectiveMaxInFlightPerClient, effectiveMaxPostBodyBytes, type Config } from '../config.ts';
import { MAIN_PROCESS_DIFFS } from '../diff/bytes-diffs.ts';
import type { DiffDefinition, DiffSettings } from '../diff/types.ts';
import { BadRequestError, DiffguardError, MethodNotAllowedError, OverloadedError, UnknownDiffTypeError, isDiffguardError, type ErrorDetails } from '../errors.ts';
import type { BodyBudget, BodyReservation, Fetcher } from '../ingest/index.ts';
import { escapedJsonBytes, spliceJsonChunks, type Admission, type DiffJob, type DiffPool, type JobSide, type JsonJobResult } from '../pool/index.ts';
import { VERSION } from '../version.ts';
import { byteLengthOf, refuseOversizedAnswer, writeAnswer } from './answer.ts';
import { ClientDisconnectedError } from './client-disconnect.ts';
import { answerCoding, writeCompressedAnswer } from './compress.ts';
import { ClientLimits, type ClientKeyOf } from './client-limits.ts';
import { toErrorResponse } from './error-map.ts';
import { planCaching } from './etag.ts';
import { requestContext, requestLogger } from './request-id.ts';
import type { ErrorReporter } from './sentry.ts';
import { fetchVersions, readInlineVersions, validateSources, type LoadedVersion, type Side, type SideFetchOutcome, type VersionCheck } from './load-versions.ts';
import { closeWithoutReading, hasBody, lingerAfterEarlyAnswer } from './lingering-close.ts';
import type { Metrics } from './metrics.ts';
import { lastValueWins, parseBooleanParam, parseContentTypeOption, parseHashParam, pickPassHeaders, refuseReservedParams } from './params.ts';
import type { ContentTypeOption } from '../sniff/types.ts';
import { createViewRouter } from './view/router.ts';
import { OPENAPI_DOCUMENT } from './openapi.ts';

export interface AppState {
  /** Set on SIGTERM: readiness fails, new diffs get 503. */
  shuttingDown: boolean;
}

export interface AppDependencies {
  config: Config;
  pool: DiffPool;
  fetcher: Fetcher;
  /** Bounds the request bodies held at once, by bytes (503 past it). */
  bodyBudget: BodyBudget;
  logger: Logger;
  metrics: Metrics;
  diffTypes: ReadonlyMap<string, DiffDefinition<any>>;
  state?: AppState;
  /** Reports 500 INTERNAL errors (Sentry, when SENTRY_DSN is set). */
  errorReporter?: ErrorReporter | undefined;
  /** What a request's client is, for the per-client limits (default: its address). */
  clientKey?: ClientKeyOf;
}

/** A diff request whose parameters have been validated (see parseDiffRequest). */
export interface ParsedDiffRequest {
  definition: DiffDefinition<any>;
  params: Record<string, string>;
  contentTypeOption: ContentTypeOption;
  ignoreDecodingErrors: boolean;
  options: unknown;
  /** The versions' URLs for a GET; undefined for a POST (versions in the body). */
  urls: Record<Side, string> | undefined;
  hashes: Partial<Record<Side, string>>;
  /** The request headers named by `pass_headers` (GET only), sent to both upstreams and part of the ETag. */
  passHeaders: Record<string, string>;
}

/** What runDiff got: both versions, the job's JSON, and what each fetch saw (GET only). */
export interface DiffRun {
  versions: Record<Side, LoadedVersion>;
  result: JsonJobResult;
  fetched: Partial<Record<Side, SideFetchOutcome>>;
  /** What the request holds in the main process, given back when its response closes. */
  reservation: BodyReservation;
  /** Aborted when the client goes away (or the request is stopped to relieve memory). */
  signal: AbortSignal;
}

/** The diff pipeline, for the viewer: the API's own steps (see createApp). */
export interface DiffPipeline {
  /** `params`: the request's own by default (the viewer narrows html_token's `include`). */
  parseDiffRequest(req: Request, definition: DiffDefinition<any>, params?: Record<string, string>): ParsedDiffRequest;
  runDiff(req: Request, res: Response, request: ParsedDiffRequest): Promise<DiffRun>;
}

export function diffSettingsFrom(config: Config): DiffSettings {
  return {
    insertionColor: config.insertionColor,
    deletionColor: config.deletionColor,
    dmpTimeoutMs: config.dmpTimeoutMs,
    dmpMaxTimeoutMs: config.jobCpuLimitMs,
    htmlTokenMaxTokens: config.htmlTokenMaxTokens,
    maxTextChars: config.maxTextChars,
    maxChangedChars: config.maxChangedChars,
    maxHtmlChars: config.maxHtmlChars,
    maxPdfPages: config.maxPdfPages,
    maxHtmlNodes: config.maxHtmlNodes,
  };
}

const DIFF_TYPE_PATH = /^\/([A-Za-z0-9_]+)\/?$/;
const FIXED_ROUTES = new Set(['/', '/healthcheck', '/healthz', '/readyz', '/metrics', '/openapi.json', '/view']);

export function createApp(deps: AppDependencies): express.Express {
  const { config, pool, fetcher, bodyBudget, logger, metrics, diffTypes } = deps;
  const state = deps.state ?? { shuttingDown: false };
  const settings = diffSettingsFrom(config);
  // Settings that shape diff output (colours, time budget, caps) are part of every ETag: an answer
  // cached under other settings must not be revalidated as unchanged.
  const settingsTag = JSON.stringify(settings);
  const ingestLimits = { allowFileUrls: config.allowFileUrls, allowPrivateUpstreams: config.allowPrivateUpstreams };
  const maxPostBytes = effectiveMaxPostBodyBytes(config);
  const clientLimits = new ClientLimits(
    { maxConnections: config.maxConnectionsPerClient, maxInFlight: effectiveMaxInFlightPerClient(config, pool.maxInFlight), retryAfterSeconds: config.retryAfterSeconds },
    deps.clientKey,
  );
  const answerLimits = { maxBytes: config.maxAnswerBytes, writeTimeoutMs: config.answerWriteTimeoutMs };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Escape <, > and & inside JSON strings (as \u003c...): html_token and links answers embed page
  // markup, and the JSON must stay inert even if something renders it as HTML.
  app.set('json escape', true);

  app.use(requestContext(logger));
  // One structured log line per request; no bodies, no header values (Cookie/Authorization never logged).
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.locals.log = {};
    res.on('close', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      // Closed before the answer was sent: the client went away (nginx's 499), whatever statusCode says.
      const aborted = !res.writableFinished;
      const status = aborted ? 499 : res.statusCode;
      // After a disconnect the diff is still winding down (its fetches aborting): log once it has
      // settled, so the line has what each side got.
      void Promise.resolve(res.locals.settled as Promise<void> | undefined).then(() => {
        const diffType = res.locals.diffType as string | undefined;
        metrics.requests.inc({ diff_type: diffType ?? routeLabel(req.path), status: String(status) });
        // Handlers of other pages may name their route in res.locals.route (bounded label values only).
        const route = (res.locals.route as string | undefined) ?? (diffType === undefined ? routeLabel(req.path) : `/${diffType}`);
        metrics.httpRequestDuration.observe({ route, status: String(status) }, durationMs / 1000);
        requestLogger(res, logger).info({ method: req.method, path: req.path, diff_type: diffType, status, duration_ms: Math.round(durationMs * 10) / 10, ...res.locals.log }, aborted ? 'request aborted by client' : 'request');
      });
    });
    next();
  });

  app.use((req, res, next) => {
    const origin = req.headers.origin;
    const allowed = config.corsAllowedOrigins;
    if (origin !== undefined && (allowed.includes('*') || allowed.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', allowed.includes('*') ? '*' : origin);
      if (!allowed.includes('*')) res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', 'ETag, Retry-After, X-Request-Id');
    }
    if (req.method === 'OPTIONS') {
      if (res.hasHeader('Access-Control-Allow-Origin')) {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
        const requested = req.headers['access-control-request-headers'];
        res.setHeader('Access-Control-Allow-Headers', typeof requested === 'string' ? requested : 'Content-Type, If-None-Match');
        res.setHeader('Access-Control-Max-Age', '600');
      }
      res.setHeader('Allow', 'GET, POST, OPTIONS');
      res.status(204).end();
      return;
    }
    next();
  });

  // One client may not hold every connection (health checks and metrics are not exempt: a probe
  // comes from the kubelet's address, not the client's).
  app.use((req, _res, next) => {
    clientLimits.checkConnection(req);
    next();
  });

  app.get('/', (req, res) => {
    // A browser (Accept: text/html first) is sent to the viewer; API clients keep the JSON index.
    res.vary('Accept');
    if (req.accepts(['json', 'html']) === 'html') {
      res.redirect(303, 'view');
      return;
    }
    res.json({ diff_types: [...diffTypes.keys()], version: VERSION });
  });
  app.get('/healthcheck', (_req, res) => {
    res.json({});
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reason = state.shuttingDown ? 'shutting down' : pool.unavailableReason();
    const body = { workers: pool.size, active_jobs: pool.active, queued_jobs: pool.queued, max_queued_jobs: pool.maxQueued };
    if (reason === undefined) {
      res.json({ status: 'ready', ...body });
      return;
    }
    res.status(503).setHeader('Retry-After', String(config.retryAfterSeconds));
    res.json({ code: 503, error: `Not ready: ${reason}`, type: 'OVERLOADED', ...body });
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.send(await metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  });

  /** 405 with Allow for a known path asked with another method; otherwise 404 pointing at the index. */
  const noRouteError = (req: Request): DiffguardError => {
    const match = DIFF_TYPE_PATH.exec(req.path);
    const allow = FIXED_ROUTES.has(req.path) ? 'GET, HEAD, OPTIONS' : match !== null && diffTypes.has(match[1]!) ? 'GET, HEAD, POST, OPTIONS' : undefined;
    if (allow !== undefined) return new MethodNotAllowedError(`${req.method} is not served on ${req.path}; use ${allow}`, { allow });
    return new UnknownDiffTypeError(`Unknown diff type \`${match?.[1] ?? req.path}\`. GET / lists the diff types.`, {
      diff_types: [...diffTypes.keys()],
      index: '/',
    });
  };

  // The diff pipeline in two steps, shared by the API (handleDiff) and the viewer (src/http/view):
  // parseDiffRequest validates (every 400 comes before a 304 or a fetch); runDiff admits, loads
  // both versions and runs the job.
  const parseDiffRequest = (req: Request, definition: DiffDefinition<any>, params = lastValueWins(req.query as Record<string, unknown>)): ParsedDiffRequest => {
    refuseReservedParams(params);
    const contentTypeOption = parseContentTypeOption(params.content_type_options);
    const ignoreDecodingErrors = parseBooleanParam(params.ignore_decoding_errors);
    const options = definition.parseOptions(params, settings);
    // express routes HEAD to GET handlers: it is a GET whose body is not sent.
    const isGet = req.method === 'GET' || req.method === 'HEAD';
    // Validated before the 304: a request that cannot succeed gets its 400, cached or not.
    const urls = isGet ? validateSources(params, ingestLimits) : undefined;
    const hashes = { ...optional('a', parseHashParam(params.a_hash, 'a_hash')), ...optional('b', parseHashParam(params.b_hash, 'b_hash')) };
    const passHeaders = isGet ? pickPassHeaders(params.pass_headers, req.headers) : {};
    return { definition, params, contentTypeOption, ignoreDecodingErrors, options, urls, hashes, passHeaders };
  };

  /**
   * `notModified`, when given, is asked once both versions are fetched (GET): true means the answer
   * cannot have changed (a 304 was sent), and no job is run.
   */
  const runDiffUnlessNotModified = async (req: Request, res: Response, request: ParsedDiffRequest, notModified?: (versions: Record<Side, LoadedVersion>) => boolean): Promise<DiffRun | undefined> => {
    const { definition, contentTypeOption, ignoreDecodingErrors, options, urls, hashes, passHeaders } = request;
    if (state.shuttingDown) throw new OverloadedError('The service is shutting down; retry on another instance', { retry_after_seconds: config.retryAfterSeconds });
    // One client's place, held until its answer is written: one client cannot fill the service.
    res.once('close', clientLimits.admit(req));
    const disconnected = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) disconnected.abort(new ClientDisconnectedError());
    });
    // Everything this request holds in the main process (bodies as they arrive, decoded copies, its
    // answer) is charged here and given back when its response closes. When the service's memory
    // must come down, the request holding the most is stopped (BodyBudget.relieveLargest).
    const reservation = bodyBudget.open({ onRelieve: (reason) => disconnected.abort(reason) });
    res.once('close', () => reservation.release());
    const check: VersionCheck = {
      diffType: definition.name,
      accepts: definition.accepts,
      option: contentTypeOption,
      onRefused: (_side, info) => metrics.contentRefusals.inc({ diff_type: definition.name, media_type: info.media_type }),
    };
    const log = res.locals.log as Record<string, unknown>;
    let versions: Record<Side, LoadedVersion>;
    let result: JsonJobResult;
    const fetched: DiffRun['fetched'] = {};
    const fetchStarted = Date.now();
    let jobStarted: number | undefined;
    // A pool place is taken only once the request has something for the pool: when a GET starts
    // fetching (an overloaded service answers 503 without touching upstreams), when a POST's bodies
    // have arrived (an idle or slow upload holds no place). The drain waits for admitted requests.
    let admission: Admission | undefined;
    try {
      if (urls !== undefined) {
        admission = pool.admit();
        // Each side is logged as its fetch settles, so a failed request's line still says what each side got.
        const onSettled = (side: Side, outcome: SideFetchOutcome) => {
          fetched[side] = outcome;
          Object.assign(log, sideLogFields(side, outcome));
        };
        const fetchReservation = MAIN_PROCESS_DIFFS.has(definition) ? reservation : stopWhenRefusedAsHeavy(reservation, admission, config.heavyJobBytes);
        versions = await fetchVersions(fetcher, { urls, hashes, passHeaders, signal: disconnected.signal, reservation: fetchReservation, onSettled }, check);
        // A live page that changed gets a new ETag; an unchanged pair is answered 304 without a diff job.
        if (notModified?.(versions) === true) return undefined;
      } else {
        versions = await readInlineVersions(req, { maxBodyBytes: config.maxBodyBytes, maxPostBytes, reservation, bodyTimeoutMs: config.postBodyTimeoutMs, minAverageChunkBytes: config.minUploadChunkBytes }, check, disconnected.signal);
        for (const side of ['a', 'b'] as const) Object.assign(log, { [`${side}_bytes`]: versions[side].body.byteLength });
        admission = pool.admit();
      }
      jobStarted = Date.now();
      log.fetch_ms = jobStarted - fetchStarted;
      const job = { diffType: definition.name, a: jobSide(versions.a), b: jobSide(versions.b), options, ignoreDecodingErrors };
      const mainProcessDiff = MAIN_PROCESS_DIFFS.get(definition);
      result = mainProcessDiff !== undefined
        ? runInMainProcess(mainProcessDiff, job)
        : await admission.runJson(job, { signal: disconnected.signal, deadlineAt: jobStarted + config.jobDeadlineMs }).catch((err: unknown) => {
            throw withContentTypes(err, versions);
          });
    } catch (err) {
      // Whatever failed once the client had gone (a fetch or job aborted for it) is that disconnect.
      throw disconnected.signal.aborted ? disconnected.signal.reason : err;
    } finally {
      admission?.release();
      if (jobStarted === undefined) log.fetch_ms = Date.now() - fetchStarted;
      else log.job_ms = Date.now() - jobStarted;
    }
    return { versions, result, fetched, reservation, signal: disconnected.signal };
  };
  const runDiff = async (req: Request, res: Response, request: ParsedDiffRequest): Promise<DiffRun> => (await runDiffUnlessNotModified(req, res, request))!;

  const handleDiff = async (req: Request, res: Response): Promise<void> => {
    const match = DIFF_TYPE_PATH.exec(req.path);
    const definition = match === null ? undefined : diffTypes.get(match[1]!);
    if (definition === undefined) throw noRouteError(req);
    res.locals.diffType = definition.name;
    // Answers are gzipped when asked (compress.ts); a 304 or an error says so too.
    res.vary('Accept-Encoding');
    const request = parseDiffRequest(req, definition);
    const { params, passHeaders, hashes } = request;
    const caching = planCaching(req.method, { version: VERSION, settingsTag, path: req.path, params, passHeaders, hashes });
    if (caching.beforeFetch(res, req.headers['if-none-match'])) return;
    const run = await runDiffUnlessNotModified(req, res, request, (versions) => caching.afterFetch(res, req.headers['if-none-match'], versions));
    if (run === undefined) return;
    const { versions, result, reservation } = run;
    const log = res.locals.log as Record<string, unknown>;
    // The versions are let go (they were only needed for the job); what this request holds from
    // now on is its answer.
    reservation.refund(reservation.heldBytes);
    // The worker made the result's JSON, escaped as `json escape` does: it is written around, never
    // parsed or re-stringified here (a 12 MB answer stalled the event loop for up to 0.9 s that way).
    const { encodings } = result;
    const contentType = (side: Side) => ({ ...versions[side].info, ...(encodings[side] === undefined ? {} : { encoding: encodings[side] }) });
    const parts = spliceJsonChunks({ type: definition.name, version: VERSION }, result.chunks, { a_content_type: contentType('a'), b_content_type: contentType('b') });
    const answerBytes = byteLengthOf(parts);
    log.answer_bytes = answerBytes;
    refuseOversizedAnswer(answerBytes, answerLimits.maxBytes);
    reservation.charge(answerBytes);
    // Diff output may embed page markup (html_token, links); never let a browser run it as a page.
    res.setHeader('Content-Security-Policy', 'sandbox');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    // MAX_ANSWER_BYTES (above) holds for the answer before compression.
    const coding = answerCoding(req, answerBytes);
    if (coding === undefined) await writeAnswer(res, parts, answerLimits, run.signal);
    else await writeCompressedAnswer(res, parts, coding, answerLimits, run.signal);
  };
  const trackedDiff = (req: Request, res: Response): Promise<void> => {
    const work = handleDiff(req, res);
    res.locals.settled = work.then(
      () => undefined,
      () => undefined,
    );
    return work;
  };
  app.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI_DOCUMENT);
  });
  app.use('/view', createViewRouter({ diffTypes, pipeline: { parseDiffRequest, runDiff }, logger, debug: config.debug }));
  app.get(/^\/[^/]+\/?$/, trackedDiff);
  app.post(/^\/[^/]+\/?$/, trackedDiff);
  app.use((req, _res, next) => next(noRouteError(req)));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ClientDisconnectedError) {
      // Nobody to answer; the request line already says 499.
      res.destroy();
      return;
    }
    const response = toErrorResponse(normalizeExpressError(err), { debug: config.debug });
    if (response.status >= 500 && response.body.type === 'INTERNAL') {
      requestLogger(res, logger).error({ err }, 'internal error');
      deps.errorReporter?.report(err, { requestId: res.locals.requestId as string | undefined, method: req.method, route: (res.locals.diffType as string | undefined) ?? routeLabel(req.path) });
    }
    res.locals.log = { ...res.locals.log, error_type: response.body.type };
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.removeHeader('ETag');
    // An error may be over by the next request (upstreams, load); none is worth storing.
    res.setHeader('Cache-Control', 'no-store');
    // Answered before the request body was read (413, 400, 503, 408): the client, still sending,
    // must receive this answer, so the rest of the body is discarded for a bounded time before the
    // connection is closed, instead of a reset (lingering-close.ts). Except a body sent in tiny
    // chunks: discarding it would still parse every chunk, the very cost it was refused for, so its
    // connection is no longer read and is closed a moment after the answer.
    if (response.body.limit === 'body_chunks') closeWithoutReading(req, res);
    else if (!req.complete && hasBody(req)) lingerAfterEarlyAnswer(req, res);
    else if (response.body.max_connections_per_client !== undefined) res.setHeader('Connection', 'close');
    res.status(response.status).set(response.headers).json(response.body);
  });
  return app;
}

/** `a_status`, `a_bytes`, `a_wire_bytes`, `a_fetch_ms` (and `a_error` when it failed) for the request log. */
function sideLogFields(side: Side, outcome: SideFetchOutcome): Record<string, unknown> {
  return {
    [`${side}_status`]: outcome.status,
    [`${side}_bytes`]: outcome.bytes,
    [`${side}_wire_bytes`]: outcome.wireBytes,
    [`${side}_fetch_ms`]: outcome.fetchMs,
    ...(outcome.error === undefined ? {} : { [`${side}_error`]: outcome.error }),
  };
}

/** Errors of a diff job carry what each side is, as a 422 refusal does (the worker does not know). */
function withContentTypes(err: unknown, versions: Record<Side, LoadedVersion>): unknown {
  if (!isDiffguardError(err)) return err;
  const ErrorClass = err.constructor as new (message: string, details: ErrorDetails, options?: ErrorOptions) => DiffguardError;
  return new ErrorClass(err.message, { a_content_type: versions.a.info, b_content_type: versions.b.info, ...err.details }, { cause: err });
}

/**
 * A bounded, bytes-only diff (MAIN_PROCESS_DIFFS) run on the event loop: the same JSON a worker
 * would send back (no decoding, so no encodings), without the round trip.
 */
function runInMainProcess(diff: (a: Body, b: Body) => Record<string, unknown>, job: Pick<DiffJob, 'a' | 'b'>): JsonJobResult {
  const json = escapedJsonBytes(diff(job.a.body, job.b.body));
  return { chunks: [json], byteLength: json.byteLength, json, encodings: {} };
}

function jobSide(version: LoadedVersion): JobSide {
  return {
    body: version.body,
    mediaType: version.info.media_type,
    ...(version.contentType === undefined ? {} : { contentType: version.contentType }),
    ...(version.url === undefined ? {} : { url: version.url }),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function routeLabel(path: string): string {
  if (path === '/' || path === '/healthz' || path === '/readyz' || path === '/metrics' || path === '/healthcheck') return path;
  return 'other';
}

/** Errors express itself raises (malformed URL encoding etc.) carry a 4xx `status`: keep them 400s, not 500s. */
function normalizeExpressError(err: unknown): unknown {
  if (err instanceof DiffguardError || err === null || typeof err !== 'object' || !('status' in err)) return err;
  const status = Number(err.status);
  return status >= 400 && status < 500 ? new BadRequestError(err instanceof Error ? err.message : 'Bad request') : err;
}

/**
 * The request's reservation, which also claims one of large jobs' places as soon as the bodies grow
 * past `heavyJobBytes`, and stops the fetch with the 503 a heavy job would get when none is left: a
 * burst of large pages is refused after their first 2 MiB instead of after downloading, hashing and
 * copying all of them in the main process only to be refused at submission (the hostile replay's
 * overload: 50 requests for 1–20 MiB pairs held the event loop up to 0.45 s).
 */
function stopWhenRefusedAsHeavy(reservation: BodyReservation, admission: Admission, heavyJobBytes: number): BodyReservation {
  let claimed = false;
  return {
    charge(bytes) {
      reservation.charge(bytes);
      if (claimed || reservation.heldBytes <= heavyJobBytes) return;
      claimed = true;
      const refused = admission.claimHeavyPlace();
      if (refused !== undefined) throw refused;
    },
    refund: (bytes) => reservation.refund(bytes),
    release: () => reservation.release(),
    get heldBytes() {
      return reservation.heldBytes;
    },
  };
}
