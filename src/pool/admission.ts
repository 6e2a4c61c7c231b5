// Admission: who may be in the service and who may wait for a worker. Two kinds of place:
// - in flight (`maxInFlight`): a request takes one before it fetches its inputs (bounds sockets and
//   time spent on upstreams; bodies in memory are bounded by bytes elsewhere, in ingest's BodyBudget);
// - job places (`workers` running + `maxQueued` waiting): a job takes one when it is submitted.
// Heavy jobs (bodies over `heavyJobBytes`) may hold at most half of the job places (counting requests
// still fetching bodies already that large: claimHeavyPlace) and run on at most
// `workers − 1` workers (when there are two or more), and a waiting small job goes before a waiting
// heavy one: a burst of large pages cannot refuse or starve a normal page diff, which is refused only
// when the service is really full. Heavy jobs still run whenever nothing small is waiting. Small jobs
// also have `smallQueuePlaces` queue places of their own, filled before the `maxQueued` shared ones:
// they hold little memory and run quickly, so a steady stream of normal diffs waits out a slow job on
// the worker left to them (measured: 5 normal diffs a second behind one 2 s job filled a queue of 4)
// instead of being refused, and without taking the places a single large page needs.
//
// Hand-written rather than p-queue (which the pool used before): p-queue has one concurrency for all
// its tasks, and a cap per class of job is what keeps capacity for the small ones.
import { OverloadedError } from '../errors.ts';

/** Heavy jobs may hold at most this share of the job places (running + waiting), rounded up. */
const HEAVY_PLACE_SHARE = 0.5;

export interface AdmissionOptions {
  workers: number;
  maxQueued: number;
  maxInFlight: number;
  /** A job whose two bodies together are larger than this is heavy (default: no job is). */
  heavyJobBytes?: number;
  /** Queue places beyond `maxQueued` that only small jobs may take (default 0). */
  smallQueuePlaces?: number;
  retryAfterSeconds: number;
}

export type JobWeight = 'small' | 'heavy';

interface Waiting {
  weight: JobWeight;
  start: () => void;
}

export class AdmissionControl {
  readonly #options: AdmissionOptions;
  readonly #heavyPlaces: number;
  readonly #heavyRunning: number;
  readonly #waiting: Waiting[] = [];
  #running = 0;
  #runningHeavy = 0;
  #waitingHeavy = 0;
  /** Heavy places claimed by requests still fetching their bodies (claimHeavyPlace). */
  #fetchingHeavy = 0;
  #admitted = 0;
  readonly #drainWaiters: (() => void)[] = [];

  constructor(options: AdmissionOptions) {
    this.#options = options;
    this.#heavyPlaces = Math.max(1, Math.ceil(HEAVY_PLACE_SHARE * (options.workers + options.maxQueued)));
    this.#heavyRunning = options.workers > 1 ? options.workers - 1 : 1;
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Jobs running (holding one of the `workers` run slots). */
  get active(): number {
    return this.#running;
  }

  /** Requests in flight: fetching their inputs, queued, or running. */
  get admitted(): number {
    return this.#admitted;
  }

  /** Job places (running + waiting) heavy jobs may hold together. */
  get heavyPlaceLimit(): number {
    return this.#heavyPlaces;
  }

  weigh(bodyBytes: number): JobWeight {
    return bodyBytes > (this.#options.heavyJobBytes ?? Number.POSITIVE_INFINITY) ? 'heavy' : 'small';
  }

  /** The 503 for a service that cannot take a diff now, saying why. */
  overloaded(reason: string): OverloadedError {
    return new OverloadedError(`The service cannot take more diffs right now (${reason}); retry later`, { retry_after_seconds: this.#options.retryAfterSeconds });
  }

  /**
   * Every worker busy and no queue place left for a job of this weight. Small jobs fill their own
   * `smallQueuePlaces` first, then the `maxQueued` shared places; a heavy job may take only a shared
   * one. The default weight is small: a request whose weight is not known yet may still turn out so.
   */
  queueFull(weight: JobWeight = 'small'): boolean {
    if (this.#running < this.#options.workers) return false;
    const smallPlaces = this.#options.smallQueuePlaces ?? 0;
    if (weight === 'small') return this.#waiting.length >= this.#options.maxQueued + smallPlaces;
    const waitingSmall = this.#waiting.length - this.#waitingHeavy;
    return this.#waitingHeavy + Math.max(0, waitingSmall - smallPlaces) >= this.#options.maxQueued;
  }

  /** Why a request cannot be admitted now (queue full, too many in flight), or undefined. */
  unavailableReason(): string | undefined {
    if (this.queueFull()) return 'queue full';
    if (this.#admitted >= this.#options.maxInFlight) return 'too many requests in flight';
    return undefined;
  }

  /** Why a job of this weight cannot be submitted now, or undefined. */
  refusalReason(weight: JobWeight): string | undefined {
    if (this.queueFull(weight)) return 'queue full';
    if (weight === 'heavy' && this.#runningHeavy + this.#waitingHeavy + this.#fetchingHeavy >= this.#heavyPlaces) {
      return `large jobs hold their share of the queue (${this.#heavyPlaces} places for bodies over ${this.#options.heavyJobBytes} bytes)`;
    }
    return undefined;
  }

  /**
   * For a request whose bodies, still arriving, have made its job heavy: takes one of large jobs'
   * places now, so that a burst of large pages is refused while fetching (after their first
   * `heavyJobBytes`) rather than after every one of them was downloaded. Returns the place's
   * idempotent release (give it back before submitting the job), or the refusal's reason.
   */
  claimHeavyPlace(): { release: () => void } | { refused: string } {
    const refused = this.refusalReason('heavy');
    if (refused !== undefined) return { refused };
    this.#fetchingHeavy += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#fetchingHeavy -= 1;
      },
    };
  }

  /** Takes an in-flight place (the caller checked `unavailableReason`); returns its idempotent release. */
  takePlace(): () => void {
    this.#admitted += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#admitted -= 1;
      if (this.#admitted === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
    };
  }

  /** Resolves when no request is in flight. */
  drained(): Promise<void> {
    return this.#admitted === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Runs `task` once a run slot is free for its weight. Throws OverloadedError at once when there is
   * no job place for it; rejects with `signal.reason` if the signal fires while it waits (a running
   * task is not interrupted: stopping it is the task's own business).
   */
  async schedule<T>(weight: JobWeight, signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    const refused = this.refusalReason(weight);
    if (refused !== undefined) throw this.overloaded(refused);
    if (signal.aborted) throw signal.reason;
    await new Promise<void>((resolve, reject) => {
      const entry: Waiting = {
        weight,
        start: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(entry);
        if (index === -1) return;
        this.#waiting.splice(index, 1);
        if (weight === 'heavy') this.#waitingHeavy -= 1;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
      if (weight === 'heavy') this.#waitingHeavy += 1;
      this.#dispatch();
    });
    try {
      return await task();
    } finally {
      this.#running -= 1;
      if (weight === 'heavy') this.#runningHeavy -= 1;
      this.#dispatch();
    }
  }

  /** Starts waiting jobs while run slots are free: small ones first, heavy ones within their cap. */
  #dispatch(): void {
    while (this.#running < this.#options.workers) {
      let index = this.#waiting.findIndex((entry) => entry.weight === 'small');
      if (index === -1 && this.#runningHeavy < this.#heavyRunning) index = this.#waiting.findIndex((entry) => entry.weight === 'heavy');
      if (index === -1) return;
      const [entry] = this.#waiting.splice(index, 1);
      this.#running += 1;
      if (entry!.weight === 'heavy') {
        this.#waitingHeavy -= 1;
        this.#runningHeavy += 1;
      }
      entry!.start();
    }
  }
}
