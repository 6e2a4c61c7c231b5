// The text of one version for the diff types that read documents of several kinds: a PDF's
// extracted text, an HTML page's visible text, or a text file as it is.
import type { DiffSide } from '../types.ts';
import { extractVisibleText } from '../visible-text.ts';
import { extractPdfText } from './extract.ts';

export const PDF_MEDIA_TYPE = 'application/pdf';

export interface DocumentTextLimits {
  maxHtmlNodes: number;
  maxHtmlChars: number;
  maxTextChars: number;
  maxPdfPages: number;
}

/** How a side's text is read: `html` parses it for its visible text, `verbatim` keeps it as decoded. */
export type TextReading = 'html' | 'verbatim';

export interface DocumentText {
  text: string;
  /** Pages, when the side is a PDF. */
  pages?: number;
}

/** HTML, XHTML and text of unknown type are read as HTML (as html_text_dmp does); other text verbatim. */
export function readingFor(mediaType: string | undefined): TextReading {
  if (mediaType === undefined || mediaType === 'unknown') return 'html';
  return mediaType === 'text/html' || mediaType === 'application/xhtml+xml' || mediaType === 'application/vnd.wap.xhtml+xml' ? 'html' : 'verbatim';
}

export async function documentText(side: DiffSide, name: 'a' | 'b', limits: DocumentTextLimits, reading: TextReading): Promise<DocumentText> {
  if (side.mediaType === PDF_MEDIA_TYPE) {
    const { text, pages } = await extractPdfText(side.bytes, { maxPages: limits.maxPdfPages, maxChars: limits.maxTextChars }, name);
    return { text, pages };
  }
  if (reading === 'verbatim') return { text: side.text };
  return { text: extractVisibleText(side.text, { maxNodes: limits.maxHtmlNodes, maxChars: limits.maxHtmlChars, side: name }) };
}

/** The PDF-only fields of a result: `pages` per PDF side, and a warning per PDF side without text. */
export function pdfResultFields(a: DocumentText, b: DocumentText): Record<string, unknown> {
  const pages: Record<string, number> = {};
  const warnings: string[] = [];
  for (const [name, side] of [['a', a], ['b', b]] as const) {
    if (side.pages === undefined) continue;
    pages[name] = side.pages;
    // Scanned documents: pages of images, no text layer. Not an error: the diff is still right.
    if (side.text.trim() === '') warnings.push(`no extractable text on side ${name}`);
  }
  return {
    ...(Object.keys(pages).length > 0 ? { pages } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
