// The request data held in memory at once, bounded by the bytes actually held rather than by a
// count of requests: a request waiting on a slow upstream holds a few bytes and costs nothing,
// while the versions and answers of every fetching, queued, running and answering request together
// stay under the budget the pod was sized for. Each request's reservation is charged with what it
// really holds (bodies as they arrive, decoded copies, the answer being written) and gives it back
// as it lets go. Hand-written: it is a counter with a refusal, shared by GET and POST, plus a way
// to find the request holding the most when the service's memory must come down.
import { OverloadedError } from '../errors.ts';

/** One request's share: charged as it takes memory, given back as it lets go and in one go when it ends. */
export interface BodyReservation {
  /** Counts `bytes` more held by this request; throws OverloadedError (503) past the budget. */
  charge(bytes: number): void;
  /** Gives back `bytes` this request no longer holds (at most what it was charged). */
  refund(bytes: number): void;
  /** Gives back everything this request was charged. Idempotent. */
  release(): void;
  /** Bytes charged to this request now. */
  readonly heldBytes: number;
}

export interface ReservationOptions {
  /**
   * Stops the request holding this reservation (abort its fetches, job or answer) when the service
   * must give memory back (`relieveLargest`). Without it the reservation is never chosen.
   */
  onRelieve?: (reason: OverloadedError) => void;
}

interface Holder {
  charged: number;
  onRelieve: ((reason: OverloadedError) => void) | undefined;
}

export class BodyBudget {
  readonly limitBytes: number;
  readonly #retryAfterSeconds: number;
  #heldBytes = 0;
  readonly #holders = new Set<Holder>();

  constructor(limitBytes: number, retryAfterSeconds: number) {
    this.limitBytes = limitBytes;
    this.#retryAfterSeconds = retryAfterSeconds;
  }

  /** Bytes held now, by all requests. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Requests holding a reservation now. */
  get openReservations(): number {
    return this.#holders.size;
  }

  open(options: ReservationOptions = {}): BodyReservation {
    const holder: Holder = { charged: 0, onRelieve: options.onRelieve };
    this.#holders.add(holder);
    let released = false;
    return {
      charge: (bytes) => {
        if (released) return;
        if (this.#heldBytes + bytes > this.limitBytes) {
          throw new OverloadedError(
            `The service holds as much request data as it may (${this.limitBytes} bytes) right now; retry later`,
            { retry_after_seconds: this.#retryAfterSeconds, scope: 'input_budget', input_budget_bytes: this.limitBytes },
          );
        }
        this.#heldBytes += bytes;
        holder.charged += bytes;
      },
      refund: (bytes) => {
        if (released) return;
        const given = Math.min(Math.max(0, bytes), holder.charged);
        holder.charged -= given;
        this.#heldBytes -= given;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#holders.delete(holder);
        this.#heldBytes -= holder.charged;
        holder.charged = 0;
      },
      get heldBytes() {
        return holder.charged;
      },
    };
  }

  /**
   * Stops the request that holds the most bytes (its `onRelieve` is called with a 503 saying so),
   * so the memory that must come down is the memory of the request that holds it. Returns false
   * when no stoppable request holds anything. The reservation is released by its request, as it ends.
   */
  relieveLargest(): boolean {
    let largest: Holder | undefined;
    for (const holder of this.#holders) {
      if (holder.onRelieve === undefined || holder.charged === 0) continue;
      if (largest === undefined || holder.charged > largest.charged) largest = holder;
    }
    if (largest === undefined) return false;
    const onRelieve = largest.onRelieve!;
    // Once: a request already being stopped is not chosen again while it winds down.
    largest.onRelieve = undefined;
    onRelieve(
      new OverloadedError(`The service's memory budget is exhausted and this request held the most data (${largest.charged} bytes); retry later`, {
        retry_after_seconds: this.#retryAfterSeconds,
        scope: 'service',
        held_bytes: largest.charged,
      }),
    );
    return true;
  }
}
