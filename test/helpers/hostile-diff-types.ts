// Diff types that misbehave on purpose, registered only in the test worker (never in production).
import type { DiffDefinition } from '../../src/diff/types.ts';

function hostile(name: string, run: (text: string) => Record<string, unknown>, needsText = false): DiffDefinition<Record<string, never>> {
  return { name, accepts: 'any', needsText, parseOptions: () => ({}), run: (a) => run(needsText ? a.text : new TextDecoder().decode(a.bytes)) };
}

const keep: unknown[] = [];

export const hostileDiffTypes: DiffDefinition<any>[] = [
  hostile('test_echo', (text) => ({ diff: text, pid: process.pid })),
  hostile('test_spin', () => {
    for (;;) {
      // An infinite loop that never yields: only an outside clock can stop it.
    }
  }),
  hostile('test_small_objects', () => {
    for (;;) keep.push({ a: Math.random(), b: [1, 2, 3] });
  }),
  hostile('test_big_array', () => ({ diff: new Array(1e8).fill(0).length })),
  hostile('test_buffers', () => {
    // 1 GiB of Buffers, written so the pages are really resident; not counted by the V8 heap limit.
    for (let i = 0; i < 64; i += 1) keep.push(Buffer.alloc(16 * 1024 * 1024, 1));
    return { diff: keep.length };
  }),
  hostile('test_regex', () => ({ diff: /^(a+)+$/.test(`${'a'.repeat(40)}!`) })),
  hostile('test_string_length', () => {
    // Doubles a (rope) string until V8 refuses its length: a catchable RangeError "Invalid string length".
    let s = 'x';
    for (;;) s += s;
  }),
  hostile('test_alloc_unsafe', () => {
    // Untouched Buffers: resident memory stays low, so RLIMIT_DATA refuses one first
    // (RangeError ERR_MEMORY_ALLOCATION_FAILED "Failed to allocate memory").
    for (;;) keep.push(Buffer.allocUnsafe(64 * 1024 * 1024));
  }),
  hostile('test_exit_after_answer', () => {
    // Answers, then the process exits before it reads another message (as if killed between jobs).
    process.nextTick(() => process.exit(0));
    return { diff: 'answered', pid: process.pid };
  }),
  hostile('test_throw', () => {
    throw new Error('a bug in a diff');
  }),
  hostile('test_exit', () => process.exit(3)),
  hostile('test_abort', () => process.abort()),
  hostile('test_hold', (text) => {
    // Holds `text` MiB of written Buffers for a while: under the per-worker limit, but counted in the service's total.
    const held = Array.from({ length: Number(text) }, () => Buffer.alloc(1024 * 1024, 1));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_500);
    return { diff: held.length, pid: process.pid };
  }),
  hostile('test_retain', (text) => {
    // Keeps `text` MiB of written Buffers after the job, as a leaking diff would: the worker ends the
    // job holding them, whatever the garbage collector does meanwhile.
    for (let i = 0; i < Number(text); i += 1) keep.push(Buffer.alloc(1024 * 1024, 1));
    return { diff: Number(text), pid: process.pid };
  }),
  hostile('test_sleep', (text) => {
    // Blocks without using CPU: only the wall-clock deadline stops it.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(text) || 60_000);
    return { diff: 'woke' };
  }),
];
