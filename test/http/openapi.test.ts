// The OpenAPI document against the service: the document is valid OpenAPI 3.1, every registered
// diff type has its path, and real answers (successes and each error type that is cheap to
// provoke) match the documented status and schema. A route or answer shape that changes without
// the document fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { diffTypes } from '../../src/diff/index.ts';
import { ERROR_TYPES } from '../../src/errors.ts';
import { DIFF_TYPE_DOCS, OPENAPI_DOCUMENT } from '../../src/http/openapi.ts';
import { query, startTestService, type TestService } from '../helpers/service.ts';
import { serve, startUpstream, type Upstream } from '../helpers/upstream.ts';

const fixture = (path: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url)));
const doc = OPENAPI_DOCUMENT as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ ...OPENAPI_DOCUMENT, $id: 'https://diffguard.invalid/openapi.json' });
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** (path template, method, status) answered and validated, to check every documented path was exercised. */
const exercised = new Set<string>();

/** Checks an answer against the document: its status must be documented for the operation, its body must match. */
async function conforms(res: Response, path: string, method: string): Promise<void> {
  const operation = doc.paths[path]?.[method];
  assert.ok(operation, `${method.toUpperCase()} ${path} is not in the document`);
  const status = String(res.status);
  const response = operation.responses[status];
  const body = await res.text();
  assert.ok(response, `${method.toUpperCase()} ${path} answered ${status}, which the document does not list (body: ${body.slice(0, 300)})`);
  exercised.add(`${method} ${path}`);
  if (response.content === undefined) return;
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  assert.ok(response.content[mediaType], `${method.toUpperCase()} ${path} ${status}: content type ${mediaType} is not documented`);
  if (mediaType !== 'application/json') return;
  const validate = ajv.getSchema(`https://diffguard.invalid/openapi.json#/${pointer('paths', path, method, 'responses', status, 'content', mediaType, 'schema')}`);
  assert.ok(validate);
  const valid = validate(JSON.parse(body));
  assert.ok(valid, `${method.toUpperCase()} ${path} ${status} does not match the document: ${ajv.errorsText(validate.errors)}\n${body.slice(0, 500)}`);
}

let service: TestService;
let upstream: Upstream;
const url = (path: string) => upstream.url(path);

before(async () => {
  upstream = await startUpstream({
    '/a.html': serve(fixture('pages/03-library_atexit.a.html'), 'text/html; charset=utf-8'),
    '/b.html': serve(fixture('pages/03-library_atexit.b.html'), 'text/html; charset=utf-8'),
    '/empty.pdf': serve(fixture('examples/empty.pdf'), 'application/pdf'),
    '/error': (_req, res) => void res.writeHead(500, { 'Content-Type': 'text/plain' }).end('upstream broke'),
  });
  service = await startTestService({ WORKERS: '2', MAX_QUEUED_JOBS: '8', MAX_POST_BODY_BYTES: String(256 * 1024) });
});

after(async () => {
  await service?.close();
  await upstream?.close();
});

describe('the OpenAPI document', () => {
  test('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(OPENAPI_DOCUMENT) as Parameters<Validator["validate"]>[0]);
    assert.equal(validator.version, '3.1');
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
  });

  test('describes every registered diff type, and no other', () => {
    for (const name of diffTypes.keys()) {
      assert.ok(DIFF_TYPE_DOCS[name], `diff type ${name} has no entry in DIFF_TYPE_DOCS (src/http/openapi.ts)`);
      assert.ok(doc.paths[`/${name}`], `no path /${name}`);
    }
    assert.deepEqual(Object.keys(DIFF_TYPE_DOCS).sort(), [...diffTypes.keys()].sort());
  });

  test('lists every error type', () => {
    const text = JSON.stringify(OPENAPI_DOCUMENT);
    for (const type of ERROR_TYPES) assert.ok(text.includes(`"${type}"`), type);
  });

  test('is what GET /openapi.json serves', async () => {
    const res = await service.get('/openapi.json');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.clone().json(), JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
    await conforms(res, '/openapi.json', 'get');
  });
});

describe('real answers match the document', () => {
  for (const name of diffTypes.keys()) {
    if (!DIFF_TYPE_DOCS[name]) continue;
    test(`GET /${name} on a real page pair`, async () => {
      await conforms(await service.get(`/${name}?${query({ a: url('/a.html'), b: url('/b.html') })}`), `/${name}`, 'get');
    });
    test(`POST /${name} with both versions inline`, async () => {
      const body = JSON.stringify({ a: { text: '<p>Hello world</p>', content_type: 'text/html' }, b: { text: '<p>Hello there</p>', content_type: 'text/html' } });
      await conforms(await service.get(`/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }), `/${name}`, 'post');
    });
  }

  test('html_token with include=all and the dmp diffs with their options', async () => {
    const versions = { a: url('/a.html'), b: url('/b.html') };
    await conforms(await service.get(`/html_token?${query({ ...versions, include: 'all', url_rules: '' })}`), '/html_token', 'get');
    await conforms(await service.get(`/html_text_dmp?${query({ ...versions, granularity: 'word', context: '3' })}`), '/html_text_dmp', 'get');
  });

  test('each error type that can be provoked cheaply', async () => {
    const versions = { a: url('/a.html'), b: url('/b.html') };
    const cases: [string, number, string][] = [
      [`/html_token?${query({ a: versions.a })}`, 400, 'BAD_REQUEST'],
      [`/html_token?${query({ ...versions, include: 'nonsense' })}`, 400, 'BAD_REQUEST'],
      [`/html_token?${query({ a: 'file:///etc/passwd', b: versions.b })}`, 403, 'FORBIDDEN_SOURCE'],
      [`/html_text_dmp?${query({ a: url('/empty.pdf'), b: versions.b })}`, 422, 'UNDIFFABLE_CONTENT'],
      [`/html_text_dmp?${query({ a: url('/error'), b: versions.b })}`, 502, 'UPSTREAM_ERROR'],
      [`/length?${query({ ...versions, a_hash: '0'.repeat(64) })}`, 502, 'HASH_MISMATCH'],
    ];
    for (const [path, status, type] of cases) {
      const res = await service.get(path);
      assert.equal(res.status, status, path);
      assert.equal(((await res.clone().json()) as { type: string }).type, type);
      await conforms(res, `/${path.slice(1).split('?')[0]}`, 'get');
    }
    const tooLarge = await service.get('/length', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ a: { text: 'x'.repeat(300 * 1024) }, b: { text: 'y' } }) });
    assert.equal(tooLarge.status, 413);
    await conforms(tooLarge, '/length', 'post');
  });

  test('an unknown path or method gets the documented error body', async () => {
    const unknown = await service.get('/no_such_diff');
    assert.equal(unknown.status, 404);
    const errorSchema = ajv.getSchema('https://diffguard.invalid/openapi.json#/components/schemas/Error')!;
    assert.ok(errorSchema(await unknown.json()), ajv.errorsText(errorSchema.errors));
    const wrongMethod = await service.get('/length', { method: 'PUT' });
    assert.equal(wrongMethod.status, 405);
    assert.ok(errorSchema(await wrongMethod.json()), ajv.errorsText(errorSchema.errors));
  });

  test('operations routes', async () => {
    for (const path of ['/', '/healthz', '/healthcheck', '/readyz', '/metrics']) await conforms(await service.get(path), path, 'get');
    const browser = await service.get('/', { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }, redirect: 'manual' });
    assert.equal(browser.headers.get('location'), 'view');
    await conforms(browser, '/', 'get');
  });

  test('viewer routes', async () => {
    await conforms(await service.get('/view'), '/view', 'get');
    const redirected = await service.get(`/view?${query({ type: 'length', a: url('/a.html'), b: url('/b.html') })}`, { redirect: 'manual' });
    await conforms(redirected, '/view', 'get');
    await conforms(await service.get(`/view/length?${query({ a: url('/a.html'), b: url('/b.html') })}`), '/view/{diff_type}', 'get');
    await conforms(await service.get(`/view/html_text_dmp?${query({ a: url('/empty.pdf'), b: url('/b.html') })}`), '/view/{diff_type}', 'get');
    await conforms(await service.get('/view/assets/viewer.js'), '/view/assets/{asset}', 'get');
    await conforms(await service.get('/view/assets/viewer.css'), '/view/assets/{asset}', 'get');
  });

  // Last in this suite (its tests run in order): every documented operation was answered above.
  test('every documented operation was exercised', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    const missed = documented.filter((op) => !exercised.has(op));
    assert.deepEqual(missed, [], 'documented operations no test exercised');
  });
});
