// One timed request to the service: status, error `type`, time to answer, response size.
import { Agent, request } from 'undici';

export interface TimedResponse {
  status: number;
  /** The error `type` of a JSON error body, or undefined for a 2xx answer. */
  type: string | undefined;
  ms: number;
  responseBytes: number;
  retryAfter: string | undefined;
  /** The parsed JSON body when it was small enough to keep (errors, small diffs). */
  json: Record<string, unknown> | undefined;
  /** Set when no HTTP answer came (connection refused or reset, client timeout). */
  transportError: string | undefined;
}

/**
 * `localAddress` picks the loopback source address (any 127.x.y.z works on Linux): hostile clients
 * come from another address than the normal diffs and the health checks, as they would in real life,
 * so per-client limits can tell them apart.
 */
export function createAgent(timeoutMs: number, localAddress?: string): Agent {
  return new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 10_000, connections: 256, ...(localAddress === undefined ? {} : { localAddress }) });
}

const KEEP_JSON_BYTES = 256 * 1024;

export function timedGet(url: string, agent: Agent, timeoutMs: number): Promise<TimedResponse> {
  return timedRequest(url, agent, timeoutMs);
}

export function timedPost(url: string, agent: Agent, timeoutMs: number, body: Buffer, contentType: string): Promise<TimedResponse> {
  return timedRequest(url, agent, timeoutMs, { method: 'POST', body, headers: { 'content-type': contentType } });
}

async function timedRequest(url: string, agent: Agent, timeoutMs: number, options: { method?: 'POST'; body?: Buffer; headers?: Record<string, string> } = {}): Promise<TimedResponse> {
  const started = performance.now();
  try {
    const res = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(timeoutMs), ...options });
    const body = Buffer.from(await res.body.arrayBuffer());
    const ms = performance.now() - started;
    let json: Record<string, unknown> | undefined;
    if (body.byteLength <= KEEP_JSON_BYTES) {
      try {
        json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
    }
    const retryAfter = res.headers['retry-after'];
    return {
      status: res.statusCode,
      type: res.statusCode >= 400 && typeof json?.type === 'string' ? json.type : undefined,
      ms,
      responseBytes: body.byteLength,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      json,
      transportError: undefined,
    };
  } catch (err) {
    const e = err as { code?: string; name?: string; message?: string };
    return {
      status: 0,
      type: undefined,
      ms: performance.now() - started,
      responseBytes: 0,
      retryAfter: undefined,
      json: undefined,
      transportError: e.code ?? e.name ?? String(err),
    };
  }
}

export function diffUrl(baseUrl: string, diffType: string, a: string, b: string, extra = ''): string {
  return `${baseUrl}/${diffType}?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}${extra}`;
}
