// Per-client bounds, so that one client cannot take every connection or every place in flight
// (64 sockets that each sent one byte of a POST used to stop every other diff). A client is its
// address: the IPv4 address, or the /64 prefix of an IPv6 address (one host is usually given a
// whole /64). Hand-written: two counters keyed by address; express rate limiters count requests
// over time, which is not the resource held here.
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Socket } from 'node:net';
import { OverloadedError } from '../errors.ts';

export interface ClientLimitSettings {
  /** Open connections per client (a request on one beyond this is refused and its connection closed). */
  maxConnections: number;
  /** Diff requests per client, from their arrival until their answer is written. */
  maxInFlight: number;
  retryAfterSeconds: number;
}

/** What a request's client is, for the per-client limits. */
export type ClientKeyOf = (req: IncomingMessage) => string;

export const clientAddressKey: ClientKeyOf = (req) => {
  const address = req.socket.remoteAddress ?? 'unknown';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  return ipv6Prefix64(address);
};

/** The first four groups of an IPv6 address, expanded: `2001:db8:1:2::5` → `2001:db8:1:2::/64`. */
function ipv6Prefix64(address: string): string {
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class ClientLimits {
  readonly #settings: ClientLimitSettings;
  readonly #keyOf: ClientKeyOf;
  readonly #connections = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();
  /** Sockets already counted, and whether they were over the limit when they came. */
  readonly #counted = new WeakMap<Socket, boolean>();

  constructor(settings: ClientLimitSettings, keyOf: ClientKeyOf = clientAddressKey) {
    this.#settings = settings;
    this.#keyOf = keyOf;
  }

  connectionsOf(key: string): number {
    return this.#connections.get(key) ?? 0;
  }

  inFlightOf(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }

  keyOf(req: IncomingMessage): string {
    return this.#keyOf(req);
  }

  /**
   * Counts the request's connection the first time it is seen (until it closes). Throws the 503 for
   * every request on a connection that came when its client already had `maxConnections` open.
   */
  checkConnection(req: IncomingMessage): void {
    const socket = req.socket;
    let over = this.#counted.get(socket);
    if (over === undefined) {
      const key = this.#keyOf(req);
      const count = this.connectionsOf(key) + 1;
      this.#connections.set(key, count);
      over = count > this.#settings.maxConnections;
      this.#counted.set(socket, over);
      socket.once('close', () => decrement(this.#connections, key));
    }
    if (over) throw this.#refusal(`more than ${this.#settings.maxConnections} open connections from your address`, { max_connections_per_client: this.#settings.maxConnections });
  }

  /** Takes one of the client's in-flight places, or throws the 503; returns the (idempotent) release. */
  admit(req: IncomingMessage): () => void {
    const key = this.#keyOf(req);
    const count = this.inFlightOf(key);
    if (count >= this.#settings.maxInFlight) {
      throw this.#refusal(`${count} diff requests from your address are already in flight`, { max_in_flight_per_client: this.#settings.maxInFlight });
    }
    this.#inFlight.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.#inFlight, key);
    };
  }

  #refusal(reason: string, details: Record<string, unknown>): OverloadedError {
    return new OverloadedError(`Too many requests from one client (${reason}); retry later`, {
      retry_after_seconds: this.#settings.retryAfterSeconds,
      scope: 'client',
      ...details,
    });
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}
