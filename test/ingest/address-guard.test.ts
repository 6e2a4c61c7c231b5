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

  // One row per range of the guard's tables, in their order: removing any range (or narrowing it)
  // must break a row. Each row has addresses at or near both ends inside, and public neighbours just
  // outside where the next range is not blocked too. `::/128` and `::1/128` are inside `::/96`, so
  // they have no row of their own: removing one of them alone changes nothing.
  const RANGES: ReadonlyArray<{ range: string; inside: string[]; outside: string[] }> = [
    { range: '0.0.0.0/8', inside: ['0.0.0.0', '0.255.255.255'], outside: ['1.0.0.0'] },
    { range: '10.0.0.0/8', inside: ['10.0.0.0', '10.255.255.255'], outside: ['9.255.255.255', '11.0.0.0'] },
    { range: '100.64.0.0/10', inside: ['100.64.0.0', '100.127.255.255'], outside: ['100.63.255.255', '100.128.0.0'] },
    { range: '127.0.0.0/8', inside: ['127.0.0.1', '127.255.255.255'], outside: ['126.255.255.255', '128.0.0.0'] },
    { range: '169.254.0.0/16', inside: ['169.254.0.0', '169.254.169.254', '169.254.255.255'], outside: ['169.253.255.255', '169.255.0.0'] },
    { range: '172.16.0.0/12', inside: ['172.16.0.0', '172.31.255.255'], outside: ['172.15.255.255', '172.32.0.0'] },
    { range: '192.0.0.0/24', inside: ['192.0.0.0', '192.0.0.255'], outside: ['191.255.255.255', '192.0.1.0'] },
    { range: '192.0.2.0/24', inside: ['192.0.2.0', '192.0.2.255'], outside: ['192.0.1.255', '192.0.3.0'] },
    { range: '192.88.99.0/24', inside: ['192.88.99.0', '192.88.99.255'], outside: ['192.88.98.255', '192.88.100.0'] },
    { range: '192.168.0.0/16', inside: ['192.168.0.0', '192.168.255.255'], outside: ['192.167.255.255', '192.169.0.0'] },
    { range: '198.18.0.0/15', inside: ['198.18.0.0', '198.19.255.255'], outside: ['198.17.255.255', '198.20.0.0'] },
    { range: '198.51.100.0/24', inside: ['198.51.100.0', '198.51.100.255'], outside: ['198.51.99.255', '198.51.101.0'] },
    { range: '203.0.113.0/24', inside: ['203.0.113.0', '203.0.113.255'], outside: ['203.0.112.255', '203.0.114.0'] },
    { range: '224.0.0.0/4', inside: ['224.0.0.0', '239.255.255.255'], outside: ['223.255.255.255'] },
    { range: '240.0.0.0/4', inside: ['240.0.0.0', '255.255.255.255'], outside: [] },
    { range: '::/96', inside: ['::1', '::8.8.8.8', '::ffff:ffff'], outside: ['::1:0:0', '::1:0:0:0'] },
    { range: '::ffff:0:0:0/96', inside: ['::ffff:0:808:808', '::ffff:0:ffff:ffff'], outside: ['::fffe:0:808:808', '::1:ffff:0:808:808'] },
    { range: '64:ff9b:1::/48', inside: ['64:ff9b:1::808:808', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff'], outside: ['64:ff9b:2::1', '64:ff9b:0:1::1'] },
    { range: '100::/64', inside: ['100::', '100::ffff:ffff:ffff:ffff'], outside: ['100:0:0:1::', 'ff::1'] },
    { range: '2001::/23', inside: ['2001::1', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['2001:200::1', '2000:ffff::1'] },
    { range: '2001:db8::/32', inside: ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['2001:db7:ffff::1', '2001:db9::'] },
    { range: '3fff::/20', inside: ['3fff::', '3fff:fff:ffff::1'], outside: ['3ffe:ffff::1', '3fff:1000::'] },
    { range: '5f00::/16', inside: ['5f00::', '5f00:ffff::1'], outside: ['5eff:ffff::1', '5f01::'] },
    { range: 'fc00::/7', inside: ['fc00::', 'fdff:ffff::1'], outside: ['fbff:ffff::1'] },
    { range: 'fe80::/10', inside: ['fe80::', 'febf:ffff::1'], outside: ['fe7f:ffff::1'] },
    { range: 'fec0::/10', inside: ['fec0::', 'feff:ffff::1'], outside: [] },
    { range: 'ff00::/8', inside: ['ff00::', 'ffff:ffff::1'], outside: [] },
  ];
  for (const { range, inside, outside } of RANGES) {
    it(`range ${range}: blocks ${inside.join(', ')}${outside.length > 0 ? `; allows ${outside.join(', ')}` : ''}`, () => {
      for (const ip of inside) assert.equal(isBlockedAddress(ip), true, `${ip} is in ${range}`);
      for (const ip of outside) assert.equal(isBlockedAddress(ip), false, `${ip} is outside ${range}`);
    });
  }

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
      const connected = once(server, 'connection');
      const result = await new Promise<{ err: Error | null; destroyed: boolean | undefined }>((resolve) => {
        connect({ hostname: '127.0.0.1', protocol: 'http:', port: String(port) }, (err, socket) => resolve({ err, destroyed: socket?.destroyed }));
      });
      assert.ok(result.err instanceof ForbiddenSourceError);
      // The TCP handshake did happen: this is the check on the address actually connected to.
      await connected;
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
