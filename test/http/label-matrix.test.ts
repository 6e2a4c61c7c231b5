// Issue #14's matrix through the real service: every format × every way a version arrives (GET from an upstream,
// multipart POST, JSON POST) × a few labels and BOMs × a few diff types. 200 or 422 follows from what the bytes
// are, never from the label. (The whole product of labels, BOMs and diff types runs on identification alone in
// test/sniff/label-matrix.test.ts.) And a multipart part's charset reaches decoding like an upstream's header.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { json, query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Handler, type Upstream } from '../helpers/upstream.ts';
import { concat } from '../sniff/helpers.ts';
import { FORMATS } from '../sniff/label-matrix.helpers.ts';

const LABELS: ReadonlyArray<readonly [string, string | undefined]> = [
  ['no label', undefined],
  ['text/html', 'text/html'],
  ['text/html; charset=utf-16le', 'text/html; charset=utf-16le'],
];
const BOMS: ReadonlyArray<readonly [string, Uint8Array]> = [
  ['no BOM', new Uint8Array(0)],
  ['UTF-16LE BOM', new Uint8Array([0xff, 0xfe])],
];
const DIFF_TYPES = ['html_source_dmp', 'html_text_dmp', 'html_token'] as const;
const ARRIVALS = ['GET', 'multipart', 'JSON'] as const;
type Arrival = (typeof ARRIVALS)[number];

/** The other side of every diff: a small page, the same whichever way `a` arrives. */
const OTHER = new Uint8Array(readFileSync(new URL('../../fixtures/examples/two-paragraphs.after', import.meta.url)));
const legacy = (name: string) => new Uint8Array(readFileSync(new URL(`../../fixtures/encoding/legacy/${name}`, import.meta.url)));

interface Version {
  bytes: Uint8Array;
  contentType: string | undefined;
}

const BOUNDARY = 'label-matrix-boundary';

/** A multipart body with `a` as a part without a filename (a form "field": the case busboy decoded itself) and `b` as a file. */
function multipartBody(a: Version, b: Version): Buffer {
  const part = (name: string, version: Version, filename?: string) =>
    Buffer.concat([
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}\r\n` +
          `${version.contentType === undefined ? '' : `Content-Type: ${version.contentType}\r\n`}\r\n`,
      ),
      version.bytes,
      Buffer.from('\r\n'),
    ]);
  return Buffer.concat([part('a', a), part('b', b, 'b.html'), Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

function jsonBody(a: Version, b: Version): string {
  const side = (v: Version) => ({ content_base64: Buffer.from(v.bytes).toString('base64'), ...(v.contentType === undefined ? {} : { content_type: v.contentType }) });
  return JSON.stringify({ a: side(a), b: side(b) });
}

/** Runs `tasks` with at most `limit` in flight: enough to keep the worker busy, few enough never to fill its queue. */
async function bounded<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const run = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: limit }, run));
  return results;
}

describe('the guard over HTTP: format × arrival × label × BOM × diff type', () => {
  let upstream: Upstream;
  let service: TestService;
  const routes: Record<string, Handler> = {};
  const versionPath = new Map<Version, string>();

  const cases = FORMATS.flatMap((format) =>
    LABELS.flatMap(([labelName, contentType]) =>
      BOMS.map(([bomName, bom]) => ({ format, labelName, bomName, version: { bytes: concat(bom, format.bytes), contentType } as Version })),
    ),
  );
  for (const [index, { version }] of cases.entries()) {
    const path = `/v${index}`;
    routes[path] = serve(version.bytes, version.contentType);
    versionPath.set(version, path);
  }
  const other: Version = { bytes: OTHER, contentType: 'text/html' };
  routes['/other.html'] = serve(other.bytes, other.contentType);

  before(async () => {
    upstream = await startUpstream(routes);
    service = await startTestService({ MAX_QUEUED_JOBS: '8' });
  });
  after(async () => {
    await service.close();
    await upstream.close();
  });

  function send(arrival: Arrival, diffType: string, a: Version, b: Version): Promise<Response> {
    if (arrival === 'GET') return service.get(`/${diffType}?${query({ a: upstream.url(versionPath.get(a) ?? ''), b: upstream.url('/other.html') })}`);
    if (arrival === 'multipart') {
      return service.get(`/${diffType}`, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` }, body: new Uint8Array(multipartBody(a, b)) });
    }
    return service.get(`/${diffType}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: jsonBody(a, b) });
  }

  for (const arrival of ARRIVALS) {
    it(`${arrival}: 200 for every text format, 422 UNDIFFABLE_CONTENT for every binary one, whatever the label or BOM`, async () => {
      const tasks = cases.flatMap(({ format, labelName, bomName, version }) =>
        DIFF_TYPES.map((diffType) => async () => {
          const res = await send(arrival, diffType, version, other);
          const body = await json(res);
          const expected = format.isText ? 200 : 422;
          const got = res.status === 422 ? `422 ${body.type}` : String(res.status);
          const want = format.isText ? '200' : '422 UNDIFFABLE_CONTENT';
          const where = `${format.name}, ${labelName}, ${bomName}, ${diffType}`;
          if (got !== want) return `${where}: ${got} (${body.error ?? body.a_content_type?.media_type}), expected ${want}`;
          if (expected === 200 && format.name === 'real UTF-16 HTML' && body.a_content_type.encoding !== 'utf-16le') {
            return `${where}: decoded as ${body.a_content_type.encoding}, expected utf-16le`;
          }
          return undefined;
        }),
      );
      const wrong = (await bounded(tasks, 4)).filter((w) => w !== undefined);
      assert.deepEqual(wrong, []);
    });
  }

  describe("a multipart part's charset reaches decoding, as an upstream header's does", () => {
    const windows1251 = legacy('windows-1251.html');

    for (const filename of [undefined, 'a.html']) {
      const kind = filename === undefined ? 'a part without a filename' : 'a file part';
      it(`${kind} declared charset=windows-1251 is decoded as windows-1251`, async () => {
        const a: Version = { bytes: windows1251, contentType: 'text/html; charset=windows-1251' };
        const body = multipartBody(a, other);
        const res = await service.get('/side_by_side_text', {
          method: 'POST',
          headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
          body: new Uint8Array(filename === undefined ? body : Buffer.from(body.toString('latin1').replace('name="a"', `name="a"; filename="${filename}"`), 'latin1')),
        });
        assert.equal(res.status, 200);
        const answer = await json(res);
        assert.equal(answer.a_content_type.encoding, 'windows-1251');
        assert.equal(answer.a_content_type.charset, 'windows-1251');
        assert.match(answer.diff.a_text, /Новости города/);
      });
    }

    it('the declared charset wins over detection, as in a browser (windows-1251 bytes declared KOI8-R decode as KOI8-R)', async () => {
      const res = await send('multipart', 'side_by_side_text', { bytes: windows1251, contentType: 'text/html; charset=koi8-r' }, other);
      assert.equal(res.status, 200);
      const answer = await json(res);
      assert.equal(answer.a_content_type.encoding, 'koi8-r');
      assert.doesNotMatch(answer.diff.a_text, /Новости/);
    });

    it('a part declared charset=utf-16le holding UTF-16LE HTML (no BOM) gives 200, decoded as UTF-16LE', async () => {
      const utf16 = FORMATS.find((f) => f.name === 'real UTF-16 HTML')!.bytes;
      const res = await send('multipart', 'html_text_dmp', { bytes: utf16, contentType: 'text/html; charset=utf-16le' }, other);
      assert.equal(res.status, 200);
      const answer = await json(res);
      assert.equal(answer.a_content_type.encoding, 'utf-16le');
      assert.ok(answer.diff.some(([op, text]: [number, string]) => op === -1 && /Grüße – “quoted” 日本語/.test(text)), JSON.stringify(answer.diff));
    });

    it('a part without a Content-Type is sniffed and detected like an upstream body without one', async () => {
      const res = await send('multipart', 'side_by_side_text', { bytes: windows1251, contentType: undefined }, other);
      assert.equal(res.status, 200);
      const answer = await json(res);
      assert.equal(answer.a_content_type.media_type, 'text/html');
      assert.equal(answer.a_content_type.encoding, 'windows-1251');
    });
  });

  describe('multipart framing', () => {
    const post = (body: string | Buffer, contentType = `multipart/form-data; boundary=${BOUNDARY}`) =>
      service.get('/length', { method: 'POST', headers: { 'Content-Type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    const simple = multipartBody({ bytes: Buffer.from('abc'), contentType: 'text/plain' }, { bytes: Buffer.from('abcdef'), contentType: undefined });

    it('takes a preamble and an epilogue (RFC 2046), and parts other than a and b are skipped', async () => {
      const extra = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nnot a version\r\n`;
      const res = await post(Buffer.concat([Buffer.from(`a preamble\r\n${extra}`), simple, Buffer.from('an epilogue\r\n')]));
      assert.equal(res.status, 200);
      assert.equal((await json(res)).diff, 3);
    });

    it('a quoted boundary parameter works', async () => {
      const res = await post(simple, `multipart/form-data; boundary="${BOUNDARY}"`);
      assert.equal(res.status, 200);
    });

    for (const [what, body, contentType] of [
      ['no boundary parameter', simple, 'multipart/form-data'],
      ['a body cut before its closing boundary', simple.subarray(0, simple.length - 30), undefined],
      ['more than 16 parts', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\n\r\nx\r\n`.repeat(17) + `--${BOUNDARY}--\r\n`, undefined],
    ] as const) {
      it(`answers 400 to ${what}`, async () => {
        const res = await post(body, contentType);
        assert.equal(res.status, 400);
        assert.equal((await json(res)).type, 'BAD_REQUEST');
      });
    }
  });
});
