// A closed-loop load run on undici: `connections` clients, each sending its next request as soon
// as the previous one is answered, cycling through the paths, until the time (or count) is up.
// Not autocannon: its timed runs cut in-flight requests at the end, and the service kills the
// worker of an aborted job, so every run would end with worker restarts that skew the next one.
// Here each client finishes its last request and then stops.
import { Pool } from 'undici';

export interface LoadRun {
  /** Responses received (any status). */
  responses: number;
  ok: number;
  /** Non-2xx answers by status, transport errors as 'error'. */
  failures: Record<string, number>;
  latenciesMs: number[];
  /** From the first request sent to the last answer received. */
  elapsedS: number;
}

export async function runLoad(options: { baseUrl: string; paths: readonly string[]; connections: number; durationS?: number; amount?: number; timeoutS?: number }): Promise<LoadRun> {
  const timeoutMs = (options.timeoutS ?? 60) * 1000;
  const pool = new Pool(options.baseUrl, { connections: options.connections, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const latenciesMs: number[] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const started = performance.now();
  const stopAt = options.amount === undefined ? started + (options.durationS ?? 5) * 1000 : Infinity;
  const amount = options.amount ?? Infinity;
  const client = async (offset: number) => {
    while (performance.now() < stopAt && next < amount) {
      // Clients start on different pairs so they do not move in lock-step over the same page.
      const path = options.paths[(next + offset) % options.paths.length]!;
      next += 1;
      const sent = performance.now();
      try {
        const res = await pool.request({ method: 'GET', path });
        await res.body.dump({ limit: Infinity });
        latenciesMs.push(performance.now() - sent);
        if (res.statusCode >= 200 && res.statusCode < 300) ok += 1;
        else failures[String(res.statusCode)] = (failures[String(res.statusCode)] ?? 0) + 1;
      } catch {
        failures.error = (failures.error ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, (_, i) => client(i * Math.ceil(options.paths.length / options.connections))));
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  return { responses: latenciesMs.length, ok, failures, latenciesMs, elapsedS };
}
