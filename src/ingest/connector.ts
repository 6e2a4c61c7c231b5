// The socket factory of the fetcher's undici Agent: TLS policy, connect timeout, and the SSRF
// guard applied twice — on DNS answers (before connecting) and on the address actually connected
// to (covers IP literals, which net.connect never looks up, and every redirect hop).

import { lookup as systemLookup } from 'node:dns';
import type { LookupFunction, Socket } from 'node:net';
import { buildConnector } from 'undici';
import { createGuardedLookup, forbiddenAddressError, type AddressGuard } from './address-guard.ts';

export interface ConnectorOptions {
  connectTimeoutMs: number;
  verifyTls: boolean;
  guard: AddressGuard | null;
  /** dns.lookup-compatible resolver; the system one by default. */
  lookup?: LookupFunction | undefined;
}

export function createGuardedConnector(options: ConnectorOptions): buildConnector.connector {
  const baseLookup = options.lookup ?? (systemLookup as unknown as LookupFunction);
  const lookup = options.guard === null ? baseLookup : createGuardedLookup(options.guard, baseLookup);
  const connect = buildConnector({
    timeout: options.connectTimeoutMs,
    rejectUnauthorized: options.verifyTls,
    // maxResponseSize and our framing assumptions are HTTP/1.1-only.
    allowH2: false,
    lookup,
  });
  const guard = options.guard;
  return (connectOptions, callback) => {
    let settled = false;
    let socket: Socket | undefined;
    // undici's own connect timer has ~1 s granularity (its "fast timers"); this one is exact.
    const timer = setTimeout(() => {
      socket?.destroy();
      const timeout: NodeJS.ErrnoException = new Error(`Connect timeout after ${options.connectTimeoutMs} ms`);
      timeout.code = 'UND_ERR_CONNECT_TIMEOUT';
      settle(timeout, null);
    }, options.connectTimeoutMs);
    function settle(...args: Parameters<buildConnector.Callback>): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(...args);
    }
    try {
      socket = connect(connectOptions, (err, connected) => {
        if (err !== null) {
          settle(err, null);
          return;
        }
        const remote = connected.remoteAddress;
        if (settled || (guard !== null && (remote === undefined || guard.isBlocked(remote)))) {
          connected.destroy();
          settle(forbiddenAddressError(connectOptions.hostname), null);
          return;
        }
        settle(null, connected);
      }) as unknown as Socket | undefined;
    } catch (err) {
      clearTimeout(timer);
      throw err;
    }
    return socket;
  };
}
