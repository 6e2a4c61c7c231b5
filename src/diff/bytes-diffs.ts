import type { DiffDefinition } from './types.ts';

/** `length`: byte length of b minus byte length of a (bodies after content decoding). */
export const lengthDiff: DiffDefinition<Record<string, never>> = {
  name: 'length',
  accepts: 'any',
  needsText: false,
  parseOptions: () => ({}),
  run: (a, b) => ({ diff: b.bytes.byteLength - a.bytes.byteLength }),
};

/** `identical_bytes`: whether the two bodies are byte-for-byte equal. */
export const identicalBytesDiff: DiffDefinition<Record<string, never>> = {
  name: 'identical_bytes',
  accepts: 'any',
  needsText: false,
  parseOptions: () => ({}),
  run: (a, b) => ({ diff: Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength).equals(b.bytes) }),
};

/**
 * Diff types the main process answers itself, without a worker: `length` is O(1) and
 * `identical_bytes` a memcmp of bodies already in memory (each at most MAX_BODY_BYTES, ~1 ms for
 * 10 MiB), and neither decodes. The worker round trip cost ~3 ms of CPU per request (hand-off,
 * the worker's turn, /proc sampling), several times the diff itself (bench/README.md, the floor).
 */
export const MAIN_PROCESS_DIFFS: ReadonlySet<DiffDefinition<any>> = new Set<DiffDefinition<any>>([lengthDiff, identicalBytesDiff]);
