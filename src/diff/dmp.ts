// diff-match-patch, as the anchor uses it: no line mode, semantic cleanup, a time budget.
// dmp-core.ts is a port of @sanity/diff-match-patch (which this service used before) with the same
// output: it keeps UTF-16 surrogate pairs whole (emoji are never split), unlike the original JS port.
import { diffWholeTexts } from './text-engine.ts';
import type { DiffSegment } from './types.ts';

export interface DmpOptions {
  /** Time budget in ms. Past it, dmp returns a valid but coarser diff (a quality knob, not a safety limit). */
  timeoutMs: number;
}

/** Character-level diff of two strings with semantic cleanup. Segments are `[op, text]`, op -1/0/1. */
export function diffTexts(a: string, b: string, options: DmpOptions): DiffSegment[] {
  return diffWholeTexts(a, b, options.timeoutMs);
}

/** Number of segments that are not equal (the anchor's `change_count`). */
export function countChanges(segments: readonly DiffSegment[]): number {
  let count = 0;
  for (const [op] of segments) if (op !== 0) count += 1;
  return count;
}
