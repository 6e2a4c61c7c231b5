// pdfjs-dist ships no typings for its parser module; the one export diffguard uses.
declare module 'pdfjs-dist/legacy/build/pdf.worker.mjs' {
  export const WorkerMessageHandler: unknown;
}
