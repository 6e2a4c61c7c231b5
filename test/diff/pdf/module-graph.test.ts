// pdf.js is only ever loaded by diff workers: the main process (which imports the diff registry
// for option parsing and content checks) must never resolve pdfjs-dist, even while it serves PDF diffs.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { recordResolvedModules } from '../../helpers/resolved-modules.ts';

// Registered before the service is imported: every module this process resolves from now on.
const resolved = recordResolvedModules();

const { startTestService, json } = await import('../../helpers/service.ts');
const { makeTextDocument, textPdf } = await import('../../../fixtures/pdf/make-pdfs.ts');

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('pdf.js stays out of the main process', () => {
  let service: Awaited<ReturnType<typeof startTestService>>;
  before(async () => {
    service = await startTestService({ WORKER_HEAP_MIB: '160', WORKER_RSS_LIMIT_MIB: '256', JOB_CPU_LIMIT_MS: '10000' });
  });
  after(async () => {
    await service.close();
  });

  it('serves a PDF diff (its worker loads pdf.js) without this process ever resolving pdfjs-dist', async () => {
    const form = new FormData();
    const pdf = Buffer.from(textPdf(makeTextDocument(2)));
    form.append('a', new Blob([pdf], { type: 'application/pdf' }), 'a');
    form.append('b', new Blob([pdf], { type: 'application/pdf' }), 'b');
    const res = await service.get('/text_dmp', { method: 'POST', body: form });
    assert.equal(res.status, 200);
    assert.deepEqual((await json(res)).pages, { a: 2, b: 2 });
    assert.ok(resolved.some((url) => url.endsWith('/src/diff/index.ts')), 'the hook saw the registry load (it works)');
    assert.deepEqual(resolved.filter((url) => /pdfjs-dist|@napi-rs/.test(url)), []);
  });

  it('names pdfjs-dist in one source module only, and imports it there only dynamically', () => {
    const naming = sourceFiles(join(root, 'src'))
      .concat(sourceFiles(join(root, 'workers')))
      .filter((file) => !file.endsWith('.d.ts') && readFileSync(file, 'utf8').includes('pdfjs-dist'))
      .map((file) => relative(root, file));
    assert.deepEqual(naming, ['src/diff/pdf-text/pdfjs.ts']);
    const loader = readFileSync(join(root, 'src/diff/pdf-text/pdfjs.ts'), 'utf8');
    const staticImports = [...loader.matchAll(/^import\s+(?!type\b)[^;]*from\s+'([^']+)'/gm)].map((m) => m[1]);
    assert.deepEqual(staticImports.filter((s) => s?.includes('pdfjs')), []);
  });
});
