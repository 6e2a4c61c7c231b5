// The service's main event-loop delay over a whole run, from its /metrics: the service exports the
// quantiles of each window between two scrapes (diffguard_event_loop_delay_seconds{quantile}, with
// diffguard_event_loop_delay_samples), so scraping every second and merging the windows gives the run.
import { scrapeMetrics } from './prometheus.ts';

export interface LoopDelayWindow {
  samples: number;
  /** Seconds by quantile ('0.5' … '1' = max). */
  quantiles: Map<number, number>;
}

export interface LoopDelaySummary {
  exported: boolean;
  windows: number;
  samples: number;
  /** An upper bound of the run's 99th percentile (exact when one window holds the tail). */
  p99Ms: number;
  maxMs: number;
  /** The worst window's p99, for comparison. */
  worstWindowP99Ms: number;
}

export class LoopDelayScraper {
  readonly #windows: LoopDelayWindow[] = [];
  readonly #baseUrl: string;
  #timer: NodeJS.Timeout;
  #busy: Promise<void> | undefined;
  #exported = false;

  constructor(baseUrl: string, intervalMs = 1000) {
    this.#baseUrl = baseUrl;
    this.#timer = setInterval(() => void this.#scrape(), intervalMs);
  }

  #scrape(): Promise<void> {
    this.#busy ??= (async () => {
      try {
        const samples = await scrapeMetrics(this.#baseUrl);
        const quantiles = new Map<number, number>();
        for (const s of samples) if (s.name === 'diffguard_event_loop_delay_seconds') quantiles.set(Number(s.labels['quantile']), s.value);
        const count = samples.find((s) => s.name === 'diffguard_event_loop_delay_samples')?.value ?? 0;
        if (quantiles.size > 0) this.#exported = true;
        if (quantiles.size > 0 && count > 0) this.#windows.push({ samples: count, quantiles });
      } catch {
        // a scrape that failed: its window merges into the next one
      } finally {
        this.#busy = undefined;
      }
    })();
    return this.#busy;
  }

  /** Stops after one last scrape (the window since the previous one). */
  async stop(): Promise<LoopDelaySummary> {
    clearInterval(this.#timer);
    await this.#busy;
    await this.#scrape();
    return { exported: this.#exported, ...mergeWindows(this.#windows) };
  }
}

/**
 * The run's p99 from per-window quantiles: for a candidate value v, a window can have at most
 * (1 − q) of its samples above v, q being the highest quantile whose value is ≤ v; the smallest v
 * leaving at most 1 % of all samples above it bounds the run's p99 from above.
 */
export function mergeWindows(windows: readonly LoopDelayWindow[]): Omit<LoopDelaySummary, 'exported'> {
  const total = windows.reduce((sum, w) => sum + w.samples, 0);
  const candidates = [...new Set(windows.flatMap((w) => [...w.quantiles.values()]))].sort((a, b) => a - b);
  const above = (v: number) =>
    windows.reduce((sum, w) => {
      let covered = 0;
      for (const [q, value] of w.quantiles) if (value <= v) covered = Math.max(covered, q);
      return sum + w.samples * (1 - covered);
    }, 0);
  const p99 = candidates.find((v) => above(v) <= 0.01 * total + 1e-9) ?? NaN;
  const max = Math.max(...windows.map((w) => w.quantiles.get(1) ?? 0));
  const worst = Math.max(...windows.map((w) => w.quantiles.get(0.99) ?? 0));
  return { windows: windows.length, samples: total, p99Ms: p99 * 1000, maxMs: windows.length > 0 ? max * 1000 : NaN, worstWindowP99Ms: windows.length > 0 ? worst * 1000 : NaN };
}
