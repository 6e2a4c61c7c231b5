import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { UpstreamError, UpstreamTooLargeError } from '../../src/errors.ts';
import { startServer, testLimits, withFetcher, type TestServer } from './helpers.ts';
import { joinBody } from '../../src/body.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Compresses `mebibytes` MiB of zeros from one reused 1 MiB buffer (no large allocation in the test process). */
function compressZeros(compressor: zlib.Gzip | zlib.DeflateRaw | zlib.BrotliCompress, mebibytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    compressor.on('data', (chunk: Buffer) => out.push(chunk));
    compressor.on('end', () => resolve(Buffer.concat(out)));
    compressor.on('error', reject);
    const zero = Buffer.alloc(MiB);
    for (let i = 0; i < mebibytes; i++) compressor.write(zero);
    compressor.end();
  });
}

describe('Content-Encoding decoding and bomb caps', () => {
  const text = '<html><body>' + 'Hello, decoded world. '.repeat(200) + '</body></html>';
  const bodies = new Map<string, { encoding: string; body: Buffer }>();
  let upstream: TestServer;
  let acceptEncoding: string | undefined;
  let gzipBomb: Buffer;

  before(async () => {
    bodies.set('/gzip', { encoding: 'gzip', body: zlib.gzipSync(text) });
    bodies.set('/x-gzip', { encoding: 'x-gzip', body: zlib.gzipSync(text) });
    bodies.set('/deflate', { encoding: 'deflate', body: zlib.deflateSync(text) });
    bodies.set('/deflate-raw', { encoding: 'deflate', body: zlib.deflateRawSync(text) });
    bodies.set('/br', { encoding: 'br', body: zlib.brotliCompressSync(text) });
    bodies.set('/stacked', { encoding: 'deflate, gzip', body: zlib.gzipSync(zlib.deflateSync(text)) });
    bodies.set('/empty-gzip', { encoding: 'gzip', body: Buffer.alloc(0) });
    bodies.set('/corrupt', { encoding: 'gzip', body: Buffer.from('this is not gzip at all') });
    bodies.set('/zstd', { encoding: 'zstd', body: Buffer.from('whatever') });
    bodies.set('/exact-decoded', { encoding: 'gzip', body: zlib.gzipSync(Buffer.alloc(64 * KiB, 0x61)) });
    bodies.set('/over-decoded', { encoding: 'gzip', body: zlib.gzipSync(Buffer.alloc(64 * KiB + 1, 0x61)) });
    // ~1000× ratio, 4 MiB decoded: between the 1 MiB floor and the 16 MiB size cap used below.
    bodies.set('/ratio-1000', { encoding: 'gzip', body: zlib.gzipSync(Buffer.alloc(4 * MiB)) });
    // 1 GiB of zeros as 16 gzip members of 64 MiB (each ~64 KiB): ~1 MiB on the wire.
    const member = await compressZeros(zlib.createGzip({ level: 9 }), 64);
    gzipBomb = Buffer.concat(new Array<Buffer>(16).fill(member));
    bodies.set('/gzip-bomb', { encoding: 'gzip', body: gzipBomb });
    bodies.set('/deflate-bomb', { encoding: 'deflate', body: await compressZeros(zlib.createDeflateRaw({ level: 9 }), 64) });
    // Brotli packs 64 MiB of zeros into about a hundred bytes.
    const brotli = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
    bodies.set('/br-bomb', { encoding: 'br', body: await compressZeros(brotli, 64) });

    upstream = await startServer((req, res) => {
      acceptEncoding = req.headers['accept-encoding'];
      const entry = bodies.get(req.url ?? '');
      if (!entry) return void res.writeHead(404).end();
      res.on('error', () => {});
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': entry.encoding });
      res.end(entry.body);
    });
  });
  after(() => upstream.close());

  it('asks for gzip, deflate and br, and decodes each (zlib-wrapped and raw deflate, x-gzip, stacked)', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      for (const path of ['/gzip', '/x-gzip', '/deflate', '/deflate-raw', '/br', '/stacked']) {
        const version = await fetcher.fetchVersion(`${upstream.origin}${path}`);
        assert.equal(Buffer.from(joinBody(version.body)).toString(), text, path);
        assert.equal(version.wireBytes, bodies.get(path)?.body.length, path);
        assert.ok(version.wireBytes < version.body.byteLength, path);
      }
      assert.equal(acceptEncoding, 'gzip, deflate, br');
    });
  });

  it('an empty body labelled gzip is an empty body', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      assert.equal((await fetcher.fetchVersion(`${upstream.origin}/empty-gzip`)).body.byteLength, 0);
    });
  });

  it('a corrupt encoded body or an unsupported coding is an upstream error', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/corrupt`), (err: unknown) => {
        assert.ok(err instanceof UpstreamError);
        assert.equal(err.details['reason'], 'invalid_content_encoding');
        return true;
      });
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/zstd`), (err: unknown) => {
        assert.ok(err instanceof UpstreamError);
        assert.equal(err.details['reason'], 'unsupported_content_encoding');
        return true;
      });
    });
  });

  it('the decoded size cap: exactly maxBodyBytes decoded passes, one byte more fails', async () => {
    await withFetcher(testLimits({ maxBodyBytes: 64 * KiB }), async (fetcher) => {
      assert.equal((await fetcher.fetchVersion(`${upstream.origin}/exact-decoded`)).body.byteLength, 64 * KiB);
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/over-decoded`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'decoded_size');
        assert.equal(err.details['max_size'], 64 * KiB);
        return true;
      });
    });
  });

  it('the ratio cap: a ~1000× body passes under a 2000× cap and fails under a 500× cap', async () => {
    await withFetcher(testLimits({ maxBodyBytes: 16 * MiB, maxDecompressionRatio: 2000 }), async (fetcher) => {
      assert.equal((await fetcher.fetchVersion(`${upstream.origin}/ratio-1000`)).body.byteLength, 4 * MiB);
    });
    await withFetcher(testLimits({ maxBodyBytes: 16 * MiB, maxDecompressionRatio: 500 }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/ratio-1000`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'decompression_ratio');
        assert.equal(err.details['max_ratio'], 500);
        return true;
      });
    });
  });

  for (const [path, label] of [['/gzip-bomb', 'a 1 GiB gzip bomb'], ['/deflate-bomb', 'a 64 MiB raw deflate bomb']] as const) {
  it(`${label} is refused by the ratio cap without inflating it (RSS stays flat)`, async () => {
    // The bomb this case serves (not another case's) is small on the wire.
    const served = bodies.get(path)!.body;
    assert.ok(served.length < 2 * MiB, `${path} is ${served.length} bytes`);
    await withFetcher(testLimits({ maxBodyBytes: 10 * MiB, maxDecompressionRatio: 100 }), async (fetcher) => {
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 2);
      try {
        // A slow sniff hook pauses the consumer: only backpressure keeps the inflater from running ahead.
        const slowInspect = () => new Promise<void>((resolve) => setTimeout(resolve, 200));
        await assert.rejects(fetcher.fetchVersion(`${upstream.origin}${path}`, { inspectPrefix: slowInspect }), (err: unknown) => {
          assert.ok(err instanceof UpstreamTooLargeError);
          assert.equal(err.details['reason'], 'decompression_ratio');
          return true;
        });
      } finally {
        clearInterval(sampler);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      assert.ok(peak - before < 32 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(1)} MiB`);
    });
  });
  }

  it('a brotli bomb (64 MiB in ~100 bytes) is refused by the ratio cap', async () => {
    await withFetcher(testLimits({ maxBodyBytes: 10 * MiB, maxDecompressionRatio: 100 }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/br-bomb`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'decompression_ratio');
        return true;
      });
    });
  });

  it('with a huge ratio allowed, the decoded size cap still stops a bomb', async () => {
    await withFetcher(testLimits({ maxBodyBytes: 2 * MiB, maxDecompressionRatio: 1_000_000 }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/br-bomb`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'decoded_size');
        return true;
      });
    });
  });
});
