// What the worker loads when it reads a PDF: pdf.js without any eval path, without the native
// canvas module, and never its scripting sandbox.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import module from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPdfjs } from '../../../src/diff/pdf-text/pdfjs.ts';
import { recordResolvedModules } from '../../helpers/resolved-modules.ts';

const build = (name: string) => readFileSync(fileURLToPath(import.meta.resolve(`pdfjs-dist/legacy/build/${name}`)), 'utf8');

describe('pdf.js as the worker loads it', () => {
  it('has no eval or Function-constructor path left (why isEvalSupported is not passed)', () => {
    for (const name of ['pdf.mjs', 'pdf.worker.mjs']) {
      const source = build(name);
      assert.doesNotMatch(source, /\bnew Function\s*\(/, name);
      assert.doesNotMatch(source, /[^.\w]eval\s*\(/, name);
    }
  });

  it('loads without the native canvas module, its scripting sandbox or any other pdf.js file', async () => {
    const resolved = recordResolvedModules();
    const pdfjs = await loadPdfjs();
    assert.equal(typeof pdfjs.getDocument, 'function');
    const require = module.createRequire(import.meta.url);
    assert.deepEqual(Object.keys(require.cache).filter((file) => file.includes('@napi-rs')), []);
    const pdfjsFiles = resolved.filter((url) => url.includes('pdfjs-dist')).map((url) => url.replace(/^.*pdfjs-dist\//, ''));
    assert.deepEqual(pdfjsFiles.sort(), ['legacy/build/pdf.mjs', 'legacy/build/pdf.worker.mjs']);
  });
});
