import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics, EVENT_LOOP_DELAY_QUANTILES } from '../../src/http/metrics.ts';
import { parsePrometheusText } from '../../bench/lib/prometheus.ts';

async function loopDelay(registry: ReturnType<typeof createMetrics>['registry']): Promise<{ quantiles: Map<string, number>; samples: number }> {
  const samples = parsePrometheusText(await registry.metrics());
  const quantiles = new Map(samples.filter((s) => s.name === 'diffguard_event_loop_delay_seconds').map((s) => [s.labels['quantile']!, s.value]));
  return { quantiles, samples: samples.find((s) => s.name === 'diffguard_event_loop_delay_samples')?.value ?? NaN };
}

/** Keeps the event loop busy for `ms`, as a synchronous JSON.parse of a huge body would. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe('event-loop delay metric', () => {
  it('reports a stall of the main loop in the max and p99.9 of the window, then starts a new window', async () => {
    const { registry } = createMetrics();
    await loopDelay(registry); // start a fresh window
    // Let the monitor tick a few times, stall the loop for 500 ms, then let it tick again.
    await new Promise((resolve) => setTimeout(resolve, 20));
    blockLoop(500);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const stalled = await loopDelay(registry);
    assert.deepEqual([...stalled.quantiles.keys()], EVENT_LOOP_DELAY_QUANTILES.map(String));
    assert.ok(stalled.samples > 0, `samples: ${stalled.samples}`);
    const max = stalled.quantiles.get('1')!;
    // Seconds, not ms or ns: the stall is at least 0.49 s, and no more than the whole test's time.
    assert.ok(max >= 0.49 && max < 60, `max ${max}`);
    const values = EVENT_LOOP_DELAY_QUANTILES.map((q) => stalled.quantiles.get(String(q))!);
    assert.deepEqual(values, [...values].sort((a, b) => a - b), 'quantiles are non-decreasing');

    // The next scrape covers only what happened since: the 500 ms stall is gone from it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = await loopDelay(registry);
    assert.ok(next.quantiles.get('1')! < 0.49, `max of the next window ${next.quantiles.get('1')}`);
  });
});
