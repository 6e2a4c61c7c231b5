// The text diff types: side_by_side_text (visible texts side by side), html_text_dmp (dmp diff
// of the visible texts) and html_source_dmp (dmp diff of the decoded sources), as in
// spec/diff-types.md §2.3–2.6.
//
// Beyond the anchor, the two dmp diffs take optional query parameters:
//   timeout_ms=N        dmp time budget, 1..DiffSettings.dmpMaxTimeoutMs (default dmpTimeoutMs)
//   granularity=G       char (default) | word | line; the output then says which granularity was
//                       used as `"granularity"` (`char` if word/line had too many distinct tokens)
//   context=N           N ≥ 1: keep only N units (chars, words or lines) of equal text around
//                       each change; the output then has `"context": N`. A cut equal run between
//                       changes is two adjacent equal segments `[0, head], [0, tail]` (dmp never
//                       emits two in a row, so that pair marks the gap); the equal text before the
//                       first change keeps only its last N units and the one after the last change
//                       its first N. No segment is empty; without changes the diff is `[]`. The
//                       texts cannot be rebuilt from such a diff. change_count is unaffected.
// Without these parameters the output is the anchor's, exactly.

import { BadRequestError, TooLargeError } from '../errors.ts';
import { countChanges } from './dmp.ts';
import { commonPrefixLength, commonSuffixLength, diffTextUnits, GRANULARITIES, type Granularity } from './text-engine.ts';
import { documentText, PDF_MEDIA_TYPE, pdfResultFields } from './pdf-text/document-text.ts';
import type { DiffDefinition, DiffParams, DiffResult, DiffSettings } from './types.ts';
import { extractVisibleText } from './visible-text.ts';

export { extractVisibleText } from './visible-text.ts';
export { diffTextUnits } from './text-engine.ts';

export interface VisibleTextDiffOptions {
  maxNodes: number;
  maxChars: number;
  /** For PDF sides: most characters of extracted text (MAX_TEXT_CHARS) and most pages (MAX_PDF_PAGES). */
  maxTextChars: number;
  maxPdfPages: number;
}

export interface DmpDiffOptions {
  timeoutMs: number;
  granularity: Granularity;
  /** Whether the request named a granularity (then the output reports the one used). */
  granularityRequested: boolean;
  /** Units of context around changes; null = the whole diff. */
  context: number | null;
  maxTextChars: number;
  /** Characters per side between the first and the last difference (MAX_CHANGED_CHARS). */
  maxChangedChars: number;
  maxNodes: number;
  /** Characters of HTML html_text_dmp may parse per side (MAX_HTML_CHARS). */
  maxHtmlChars: number;
}

/** Largest context a request may ask for (any larger value means "everything" anyway). */
const MAX_CONTEXT = 1_000_000_000;

/** Validates the dmp query parameters. Cheap: runs on the event loop. */
export function parseDmpOptions(params: DiffParams, settings: DiffSettings): DmpDiffOptions {
  const timeoutMs =
    params.timeout_ms === undefined ? settings.dmpTimeoutMs : parseIntegerParam('timeout_ms', params.timeout_ms, 1, settings.dmpMaxTimeoutMs);
  let granularity: Granularity = 'char';
  if (params.granularity !== undefined) {
    const requested = params.granularity.trim().toLowerCase();
    if (!(GRANULARITIES as readonly string[]).includes(requested)) {
      throw new BadRequestError(`granularity must be one of ${GRANULARITIES.join(', ')}`, {
        param: 'granularity',
        allowed: [...GRANULARITIES],
      });
    }
    granularity = requested as Granularity;
  }
  // At least 1: with 0 nothing would be left to show where a run between two changes was cut.
  const context = params.context === undefined ? null : parseIntegerParam('context', params.context, 1, MAX_CONTEXT);
  return {
    timeoutMs,
    granularity,
    granularityRequested: params.granularity !== undefined,
    context,
    maxTextChars: settings.maxTextChars,
    maxChangedChars: settings.maxChangedChars,
    maxNodes: settings.maxHtmlNodes,
    maxHtmlChars: settings.maxHtmlChars,
  };
}

function parseIntegerParam(name: string, raw: string, min: number, max: number): number {
  const text = raw.trim();
  // Length check first: the value is user input and this runs on the event loop.
  const value = text.length <= 16 && /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new BadRequestError(`${name} must be a whole number from ${min} to ${max}`, { param: name, min, max });
  }
  return value;
}

/** Refuses a text longer than the per-side character cap (MAX_TEXT_CHARS). */
export function checkTextLength(text: string, maxChars: number, side: string): void {
  if (text.length > maxChars) {
    throw new TooLargeError(`\`${side}\` has more than ${maxChars} characters to diff (MAX_TEXT_CHARS)`, {
      limit: 'text_chars',
      max_chars: maxChars,
      side,
    });
  }
}

/**
 * Refuses a pair whose changed span (what is left after their common start and end, the part
 * diff-match-patch really compares, at up to ~32 bytes a character) is longer than MAX_CHANGED_CHARS on
 * either side. Linear and allocation-free, so it runs before the diff.
 */
export function checkChangedSpan(a: string, b: string, maxChars: number): void {
  const prefix = commonPrefixLength(a, b);
  const changed = Math.max(a.length, b.length) - prefix - commonSuffixLength(a, b, prefix);
  if (changed > maxChars) {
    throw new TooLargeError(
      `The versions differ over ${changed} characters (from their first to their last difference); at most ${maxChars} are compared (MAX_CHANGED_CHARS)`,
      { limit: 'changed_chars', max_chars: maxChars, changed_chars: changed },
    );
  }
}

/** The dmp diff of two texts as the dmp diff types return it (`type`/`version` are added by the HTTP layer). */
export function dmpDiffResult(a: string, b: string, options: DmpDiffOptions): Record<string, unknown> {
  checkTextLength(a, options.maxTextChars, 'a');
  checkTextLength(b, options.maxTextChars, 'b');
  checkChangedSpan(a, b, options.maxChangedChars);
  const { segments, granularity } = diffTextUnits(a, b, options);
  // Without context the segments are the diff; with it, count on the same segments (cutting
  // equal runs never adds or removes a change).
  return {
    change_count: countChanges(segments),
    diff: segments,
    ...(options.granularityRequested ? { granularity } : {}),
    ...(options.context === null ? {} : { context: options.context }),
  };
}

export const sideBySideTextDiff: DiffDefinition<VisibleTextDiffOptions, DiffResult> = {
  name: 'side_by_side_text',
  accepts: 'html_or_pdf',
  needsText: true,
  readsPdf: true,
  parseOptions: (_params, settings) => ({
    maxNodes: settings.maxHtmlNodes,
    maxChars: settings.maxHtmlChars,
    maxTextChars: settings.maxTextChars,
    maxPdfPages: settings.maxPdfPages,
  }),
  run: (a, b, options) => {
    if (a.mediaType !== PDF_MEDIA_TYPE && b.mediaType !== PDF_MEDIA_TYPE) {
      const visible = { maxNodes: options.maxNodes, maxChars: options.maxChars };
      return { diff: { a_text: extractVisibleText(a.text, { ...visible, side: 'a' }), b_text: extractVisibleText(b.text, { ...visible, side: 'b' }) } };
    }
    // A PDF on either side: its text comes from pdf.js (asynchronous); an HTML side reads as above.
    return (async () => {
      const limits = { maxHtmlNodes: options.maxNodes, maxHtmlChars: options.maxChars, maxTextChars: options.maxTextChars, maxPdfPages: options.maxPdfPages };
      const aText = await documentText(a, 'a', limits, 'html');
      const bText = await documentText(b, 'b', limits, 'html');
      return { diff: { a_text: aText.text, b_text: bText.text }, ...pdfResultFields(aText, bText) };
    })();
  },
};

export const htmlTextDmpDiff: DiffDefinition<DmpDiffOptions> = {
  name: 'html_text_dmp',
  accepts: 'html',
  needsText: true,
  parseOptions: parseDmpOptions,
  run: (a, b, options) =>
    dmpDiffResult(
      extractVisibleText(a.text, { maxNodes: options.maxNodes, maxChars: options.maxHtmlChars, side: 'a' }),
      extractVisibleText(b.text, { maxNodes: options.maxNodes, maxChars: options.maxHtmlChars, side: 'b' }),
      options,
    ),
};

export const htmlSourceDmpDiff: DiffDefinition<DmpDiffOptions> = {
  name: 'html_source_dmp',
  accepts: 'text',
  needsText: true,
  parseOptions: parseDmpOptions,
  run: (a, b, options) => dmpDiffResult(a.text, b.text, options),
};
