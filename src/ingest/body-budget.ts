// The request bodies held in memory at once, bounded by the bytes actually held rather than by a
// count of requests: a request waiting on a slow upstream holds a few bytes and costs nothing,
// while the versions of every fetching, queued and running request together stay under the budget
// the pod was sized for. Hand-written: it is a counter with a refusal, shared by GET and POST.
import { OverloadedError } from '../errors.ts';

/** One request's share: charged as its bodies arrive, given back in one go when it ends. */
export interface BodyReservation {
  /** Counts `bytes` more held by this request; throws OverloadedError (503) past the budget. */
  charge(bytes: number): void;
  /** Gives back everything this request was charged. Idempotent. */
  release(): void;
}

export class BodyBudget {
  readonly limitBytes: number;
  readonly #retryAfterSeconds: number;
  #heldBytes = 0;

  constructor(limitBytes: number, retryAfterSeconds: number) {
    this.limitBytes = limitBytes;
    this.#retryAfterSeconds = retryAfterSeconds;
  }

  /** Bytes of request bodies held now, by all requests. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  open(): BodyReservation {
    let charged = 0;
    let released = false;
    return {
      charge: (bytes) => {
        if (released) return;
        if (this.#heldBytes + bytes > this.limitBytes) {
          throw new OverloadedError(
            `The service holds as many request bodies as it may (${this.limitBytes} bytes) right now; retry later`,
            { retry_after_seconds: this.#retryAfterSeconds, scope: 'input_budget', input_budget_bytes: this.limitBytes },
          );
        }
        this.#heldBytes += bytes;
        charged += bytes;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#heldBytes -= charged;
        charged = 0;
      },
    };
  }
}
