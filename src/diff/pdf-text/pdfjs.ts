// The one place that loads pdf.js (pdfjs-dist). It is only ever reached through a dynamic
// `import()` from extract.ts, which runs inside a diff worker process: the main process imports
// the diff registry (for option parsing and content acceptance) but never this module, so it
// never holds pdf.js (test/diff/pdf/module-graph.test.ts checks both).
//
// pdf.js in Node (pdfjs-dist 6, legacy build, the one its docs name for Node): there are no web
// workers, so the display layer runs the parser in the same thread ("fake worker"), importing
// `GlobalWorkerOptions.workerSrc` (default `./pdf.worker.mjs`) unless `globalThis.pdfjsWorker`
// already holds its `WorkerMessageHandler`. We import the worker module ourselves and set that
// global: the parser is then a static, known module and nothing is loaded by URL.
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as PdfjsDisplay from 'pdfjs-dist/legacy/build/pdf.mjs';

export type Pdfjs = typeof PdfjsDisplay;

let loaded: Promise<Pdfjs> | undefined;

/**
 * pdf.js's display layer `require`s the optional `@napi-rs/canvas` (Skia, native code) at import
 * in Node, only to polyfill DOMMatrix/Path2D for rendering. Text extraction never renders, so the
 * worker refuses to resolve it: no native canvas code is loaded into a process that parses hostile
 * PDFs, and the worker saves ~10 MiB of resident memory. pdf.js logs a warning and carries on.
 */
function blockCanvasModule(): void {
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === '@napi-rs/canvas' || specifier.startsWith('@napi-rs/canvas/')) {
        throw Object.assign(new Error('@napi-rs/canvas is not loaded in diff workers (text extraction never renders)'), { code: 'MODULE_NOT_FOUND' });
      }
      return nextResolve(specifier, context);
    },
  });
}

/** Loads pdf.js once per worker process (about 0.25 s of CPU and ~40 MiB; only workers that get a PDF pay it). */
export function loadPdfjs(): Promise<Pdfjs> {
  loaded ??= (async () => {
    blockCanvasModule();
    const worker = (await import('pdfjs-dist/legacy/build/pdf.worker.mjs')) as { WorkerMessageHandler: unknown };
    (globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = { WorkerMessageHandler: worker.WorkerMessageHandler };
    // Its import warns, on stderr, that canvas is missing and rendering may be broken: expected
    // (see blockCanvasModule), and noise in the worker's stderr tail, which error reports quote.
    const warn = console.warn;
    console.warn = () => {};
    try {
      return await import('pdfjs-dist/legacy/build/pdf.mjs');
    } finally {
      console.warn = warn;
    }
  })();
  return loaded;
}

/**
 * pdf.js's predefined CMaps (for CJK text without embedded mappings), read from the installed
 * package on local disk; pdf.js only loads names from its own built-in list, so a PDF cannot
 * name another file.
 */
export function cMapDirectory(): string {
  return fileURLToPath(new URL('./', import.meta.resolve('pdfjs-dist/cmaps/78-H.bcmap')));
}
