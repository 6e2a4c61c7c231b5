// text_dmp: diff-match-patch over the text of two documents of any kind the service can read as
// text — HTML/XHTML (visible text, as html_text_dmp extracts it), text/* (as decoded) and PDF
// (extracted by pdf.js in the worker) — in any combination. Options and result as html_text_dmp,
// plus `pages` per PDF side and `warnings` for PDF sides without text.
import { dmpDiffResult, parseDmpOptions, type DmpDiffOptions } from '../text-diffs.ts';
import type { DiffDefinition } from '../types.ts';
import { documentText, pdfResultFields, readingFor } from './document-text.ts';

export interface TextDmpOptions extends DmpDiffOptions {
  maxPdfPages: number;
}

export const textDmpDiff: DiffDefinition<TextDmpOptions, Promise<Record<string, unknown>>> = {
  name: 'text_dmp',
  accepts: 'document',
  needsText: true,
  readsPdf: true,
  parseOptions: (params, settings) => ({ ...parseDmpOptions(params, settings), maxPdfPages: settings.maxPdfPages }),
  run: async (a, b, options) => {
    const limits = { maxHtmlNodes: options.maxNodes, maxHtmlChars: options.maxHtmlChars, maxTextChars: options.maxTextChars, maxPdfPages: options.maxPdfPages };
    const aText = await documentText(a, 'a', limits, readingFor(a.mediaType));
    const bText = await documentText(b, 'b', limits, readingFor(b.mediaType));
    return { ...dmpDiffResult(aText.text, bText.text, options), ...pdfResultFields(aText, bText) };
  },
};
