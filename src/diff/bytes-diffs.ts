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
