import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ForbiddenSourceError } from '../../src/errors.ts';
import { createAddressGuard, isBlockedAddress } from '../../src/ingest/address-guard.ts';
import { createGuardedConnector } from '../../src/ingest/connector.ts';

describe('isBlockedAddress', () => {
  it('blocks loopback, private, link-local, CGNAT, multicast, reserved and unspecified IPv4', () => {
    for (const ip of ['127.0.0.1', '127.255.255.254', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '100.127.255.255', '0.0.0.0', '224.0.0.251', '239.255.255.250', '240.0.0.1', '255.255.255.255', '192.0.2.1', '198.18.0.1']) {
      assert.equal(isBlockedAddress(ip), true, ip);
    }
  });

  it('allows public IPv4', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.215.14', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '11.0.0.1']) {
      assert.equal(isBlockedAddress(ip), false, ip);
    }
  });

  it('blocks IPv6 loopback, unspecified, ULA, link-local, multicast and embedded internal IPv4', () => {
    for (const ip of ['::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::127.0.0.1', '64:ff9b::7f00:1', '64:ff9b::10.1.1.1', '2002:7f00:1::1', '2002:a9fe:a9fe::', '2001:db8::1', '[::1]']) {
      assert.equal(isBlockedAddress(ip), true, ip);
    }
  });

  it('allows public IPv6, including public IPv4 behind NAT64 and IPv4-mapped', () => {
    for (const ip of ['2606:4700:4700::1111', '2a00:1450:4001:81b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1']) {
      assert.equal(isBlockedAddress(ip), false, ip);
    }
  });

  it('fails closed on anything that is not an IP address', () => {
    assert.equal(isBlockedAddress('example.com'), true);
    assert.equal(isBlockedAddress(''), true);
  });

  it('createAddressGuard: off when private upstreams are allowed; exemptions are exact', () => {
    assert.equal(createAddressGuard({ allowPrivateUpstreams: true }), null);
    const guard = createAddressGuard({ allowPrivateUpstreams: false, guardExemptAddresses: ['127.0.0.1'] });
    assert.ok(guard);
    assert.equal(guard.isBlocked('127.0.0.1'), false);
    assert.equal(guard.isBlocked('127.0.0.2'), true);
    assert.equal(guard.isBlocked('::ffff:127.0.0.1'), true);
  });
});

describe('guarded connector (post-connect backstop)', () => {
  it('refuses a socket whose remote address is internal even when no lookup happened (IP literal)', async () => {
    const accepted: Socket[] = [];
    const server = createServer((socket) => accepted.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const guard = createAddressGuard({ allowPrivateUpstreams: false });
      const connect = createGuardedConnector({ connectTimeoutMs: 1000, verifyTls: true, guard });
      const result = await new Promise<{ err: Error | null; destroyed: boolean | undefined }>((resolve) => {
        connect({ hostname: '127.0.0.1', protocol: 'http:', port: String(port) }, (err, socket) => resolve({ err, destroyed: socket?.destroyed }));
      });
      assert.ok(result.err instanceof ForbiddenSourceError);
      // The TCP handshake did happen: this is the check on the address actually connected to.
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(accepted.length, 1);

      const open = createGuardedConnector({ connectTimeoutMs: 1000, verifyTls: true, guard: null });
      const ok = await new Promise<Error | null>((resolve) => {
        open({ hostname: '127.0.0.1', protocol: 'http:', port: String(port) }, (err, socket) => {
          socket?.destroy();
          resolve(err);
        });
      });
      assert.equal(ok, null);
    } finally {
      for (const socket of accepted) socket.destroy();
      server.close();
    }
  });
});
