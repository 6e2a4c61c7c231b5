import { bodyOf, type Body } from '../body.ts';
import type { DiffDefinition } from './types.ts';

/** `length`'s result: byte length of b minus byte length of a (bodies after content decoding). */
export function lengthResult(a: Body, b: Body): { diff: number } {
  return { diff: b.byteLength - a.byteLength };
}

/** `identical_bytes`'s result: whether the two bodies are byte-for-byte equal. */
export function identicalBytesResult(a: Body, b: Body): { diff: boolean } {
  return { diff: sameBytes(a, b) };
}

/** Whether two bodies hold the same bytes, however each was cut into chunks (a memcmp per overlap). */
export function sameBytes(a: Body, b: Body): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let i = 0;
  let j = 0;
  let atA = 0;
  let atB = 0;
  while (i < a.chunks.length && j < b.chunks.length) {
    const chunkA = a.chunks[i]!;
    const chunkB = b.chunks[j]!;
    const length = Math.min(chunkA.byteLength - atA, chunkB.byteLength - atB);
    if (Buffer.compare(chunkA.subarray(atA, atA + length), chunkB.subarray(atB, atB + length)) !== 0) return false;
    atA += length;
    atB += length;
    if (atA === chunkA.byteLength) [i, atA] = [i + 1, 0];
    if (atB === chunkB.byteLength) [j, atB] = [j + 1, 0];
  }
  return true;
}

/** `length`: byte length of b minus byte length of a (bodies after content decoding). */
export const lengthDiff: DiffDefinition<Record<string, never>> = {
  name: 'length',
  accepts: 'any',
  needsText: false,
  parseOptions: () => ({}),
  run: (a, b) => lengthResult(bodyOf(a.bytes), bodyOf(b.bytes)),
};

/** `identical_bytes`: whether the two bodies are byte-for-byte equal. */
export const identicalBytesDiff: DiffDefinition<Record<string, never>> = {
  name: 'identical_bytes',
  accepts: 'any',
  needsText: false,
  parseOptions: () => ({}),
  run: (a, b) => identicalBytesResult(bodyOf(a.bytes), bodyOf(b.bytes)),
};

/**
 * Diff types the main process answers itself, without a worker, from the bodies as it holds them
 * (chunk lists, never joined): `length` is O(1) and `identical_bytes` a memcmp of bodies already in
 * memory (each at most MAX_BODY_BYTES, ~1 ms for 10 MiB), and neither decodes. The worker round
 * trip cost ~3 ms of CPU per request (hand-off, the worker's turn, /proc sampling), several times
 * the diff itself (bench/README.md, the floor).
 */
export const MAIN_PROCESS_DIFFS: ReadonlyMap<DiffDefinition<any>, (a: Body, b: Body) => Record<string, unknown>> = new Map<DiffDefinition<any>, (a: Body, b: Body) => Record<string, unknown>>([
  [lengthDiff, lengthResult],
  [identicalBytesDiff, identicalBytesResult],
]);
