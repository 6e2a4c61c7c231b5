// Shared by the pool tests: waiting on a real condition (never a fixed sleep), and matching a typed error.
import assert from 'node:assert/strict';
import type { DiffguardError } from '../../src/errors.ts';

/** Resolves once `condition()` holds; fails after `timeoutMs`. */
export async function waitForCondition(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function rejectsWith(promise: Promise<unknown>, check: (err: DiffguardError) => void): Promise<void> {
  await assert.rejects(promise, (err: DiffguardError) => {
    check(err);
    return true;
  });
}
