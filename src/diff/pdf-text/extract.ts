// Text of a PDF, as a monitoring analyst reads it: page by page, one paragraph per text block.
//
// Layout of the text (README, "text_dmp"): within a page, each text block (lines closer than
// 1.6 line heights to the one before, in the order the page draws them) is one paragraph on one
// line, its lines joined by a space; paragraphs are separated by a blank line; pages by a line
// holding one form feed (`\f`, as pdftotext separates pages). So `a\n\nb\n\f\nc` is a page with
// paragraphs a and b, then a page with c.
//
// pdf.js runs with everything that could reach outside the worker off: the bytes are passed as
// `data` (no URL, no network or range requests), no font faces or system fonts, no standard-font
// or wasm files, no XFA; pdf.js 6 has no eval path left at all; it never runs a PDF's JavaScript
// (that needs its separate scripting sandbox, pdf.sandbox.mjs, which is never loaded).
import { TooLargeError, UndiffableContentError } from '../../errors.ts';
import { cMapDirectory, loadPdfjs } from './pdfjs.ts';

export interface PdfTextLimits {
  /** Most pages per PDF (MAX_PDF_PAGES); more → TooLargeError `pdf_pages`, before any page is read. */
  maxPages: number;
  /** Most characters of extracted text (MAX_TEXT_CHARS); more → TooLargeError `text_chars`, as soon as it is passed. */
  maxChars: number;
}

export interface PdfText {
  text: string;
  pages: number;
}

/** A text item as pdf.js reports it (the fields this module reads). */
export interface TextItem {
  str: string;
  hasEOL: boolean;
  transform: number[];
  height: number;
}

/** The gap between two lines, in line heights, from which the second starts a new paragraph. */
const PARAGRAPH_GAP = 1.6;
export const PAGE_SEPARATOR = '\n\f\n';
const PARAGRAPH_SEPARATOR = '\n\n';

// Allocation failures inside pdf.js reach us re-wrapped (its message port), no longer RangeErrors.
const OUT_OF_MEMORY_MESSAGE = /allocation failed|Invalid string length|Invalid array length|Invalid typed array length|out of memory/i;

/**
 * Extracts the text of one PDF. `bytes`' buffer is handed to pdf.js (transferred, not copied): do
 * not use it afterwards.
 */
export async function extractPdfText(bytes: Uint8Array, limits: PdfTextLimits, side: string): Promise<PdfText> {
  const pdfjs = await loadPdfjs();
  const task = pdfjs.getDocument({
    // A plain view: pdf.js refuses Buffers (which is what bodies arrive as in the worker).
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    // No `isEvalSupported`: pdf.js 6 removed the option with its last eval/new Function use
    // (test/diff/pdf/pdfjs-safety.test.ts checks the build still has none).
    disableFontFace: true,
    useSystemFonts: false,
    standardFontDataUrl: null as unknown as string,
    wasmUrl: null as unknown as string,
    useWasm: false,
    useWorkerFetch: false,
    cMapUrl: cMapDirectory(),
    cMapPacked: true,
    disableRange: true,
    disableStream: true,
    disableAutoFetch: true,
    enableXfa: false,
    isOffscreenCanvasSupported: false,
    isImageDecoderSupported: false,
    verbosity: 0,
  });
  try {
    let document;
    try {
      document = await task.promise;
    } catch (err) {
      throw unreadablePdfError(err, side);
    }
    const pages = document.numPages;
    if (pages > limits.maxPages) {
      throw new TooLargeError(`\`${side}\` is a PDF of ${pages} pages; at most ${limits.maxPages} are read (MAX_PDF_PAGES)`, {
        limit: 'pdf_pages',
        max_pages: limits.maxPages,
        pages,
        side,
      });
    }
    const pageTexts: string[] = [];
    // Separators count too: the joined text is what the limit bounds.
    let chars = 0;
    for (let number = 1; number <= pages; number++) {
      const separator = number > 1 ? PAGE_SEPARATOR.length : 0;
      let text: string;
      try {
        const page = await document.getPage(number);
        text = await readPageText(page, { limit: limits.maxChars, used: chars + separator }, side);
        page.cleanup();
      } catch (err) {
        if (err instanceof TooLargeError) throw err;
        throw unreadablePdfError(err, side);
      }
      chars += separator + text.length;
      pageTexts.push(text);
    }
    return { text: pageTexts.join(PAGE_SEPARATOR), pages };
  } finally {
    await task.destroy();
  }
}

/**
 * A page's text, laid out as its items stream in: only the text is kept (an item costs ~20 times
 * its characters), and a page with too much text is stopped as soon as the total passes the limit.
 */
async function readPageText(page: { streamTextContent(params?: object): ReadableStream }, budget: { limit: number; used: number }, side: string): Promise<string> {
  const reader = page.streamTextContent({ includeMarkedContent: false }).getReader();
  const layout = new PageLayout();
  for (;;) {
    const { done, value } = (await reader.read()) as { done: boolean; value?: { items: Array<TextItem | { type: string }> } };
    if (done) {
      const text = layout.text();
      if (budget.used + text.length > budget.limit) throw textTooLarge(budget.limit, side);
      return text;
    }
    for (const item of value?.items ?? []) if ('str' in item) layout.add(item);
    if (budget.used + layout.keptLength > budget.limit) {
      const error = textTooLarge(budget.limit, side);
      await reader.cancel(error).catch(() => {});
      throw error;
    }
  }
}

function textTooLarge(maxChars: number, side: string): TooLargeError {
  return new TooLargeError(`\`${side}\` has more than ${maxChars} characters of PDF text to diff (MAX_TEXT_CHARS)`, { limit: 'text_chars', max_chars: maxChars, side });
}

/** pdf.js's own errors, as a 422 that says what was wrong with the PDF; allocation failures stay memory errors. */
function unreadablePdfError(err: unknown, side: string): Error {
  const name = (err as { name?: unknown } | null)?.name;
  const message = err instanceof Error ? err.message : String(err);
  if (OUT_OF_MEMORY_MESSAGE.test(message)) return new RangeError(message);
  if (name === 'PasswordException') {
    return new UndiffableContentError(`\`${side}\` is an encrypted PDF that needs a password to open; its text cannot be read`, {
      reason: 'encrypted_pdf',
      side,
    });
  }
  return new UndiffableContentError(`\`${side}\` is not a readable PDF (${message.slice(0, 200)})`, { reason: 'unreadable_pdf', side });
}

/** Lays out one page's items, in drawing order: lines, then paragraphs (text blocks). */
export class PageLayout {
  readonly #paragraphs: string[] = [];
  #paragraph: string[] = [];
  #line = '';
  // Baseline and size of the line being built, and of the last line kept.
  #lineY: number | undefined;
  #lineSize = 0;
  #previousY: number | undefined;
  #previousSize = 0;
  #lineEnded = false;
  #paragraphsLength = 0;
  #pendingLength = 0;

  add(item: TextItem): void {
    const y = item.transform[5] ?? 0;
    const size = Math.abs(item.height) || Math.hypot(item.transform[2] ?? 0, item.transform[3] ?? 0);
    // A new line: pdf.js said the last one ended, or this item sits on another baseline.
    if (this.#lineY !== undefined && (this.#lineEnded || Math.abs(y - this.#lineY) > Math.max(this.#lineSize, size, 1) * 0.5)) this.#endLine();
    if (item.str !== '') {
      this.#lineY ??= y;
      this.#lineSize = Math.max(this.#lineSize, size);
      this.#line += item.str;
    } else if (this.#lineY === undefined && !item.hasEOL) {
      this.#lineY = y;
    }
    if (item.hasEOL) this.#lineEnded = true;
  }

  /** Length of the text laid out so far (all but the line being built): never more than the final text's. */
  get keptLength(): number {
    const separator = this.#paragraphs.length > 0 && this.#paragraph.length > 0 ? PARAGRAPH_SEPARATOR.length : 0;
    return this.#paragraphsLength + separator + this.#pendingLength;
  }

  text(): string {
    this.#endLine();
    if (this.#paragraph.length > 0) this.#paragraphs.push(this.#paragraph.join(' '));
    this.#paragraph = [];
    return this.#paragraphs.join(PARAGRAPH_SEPARATOR);
  }

  #endLine(): void {
    const text = this.#line.replace(/\s+/g, ' ').trim();
    if (text !== '') {
      const startsBlock = this.#previousY !== undefined && this.#lineY !== undefined && isNewBlock(this.#previousY, this.#previousSize, this.#lineY, this.#lineSize);
      if (startsBlock && this.#paragraph.length > 0) {
        this.#paragraphsLength += (this.#paragraphs.length > 0 ? PARAGRAPH_SEPARATOR.length : 0) + this.#pendingLength;
        this.#paragraphs.push(this.#paragraph.join(' '));
        this.#paragraph = [];
        this.#pendingLength = 0;
      }
      this.#pendingLength += (this.#paragraph.length > 0 ? 1 : 0) + text.length;
      this.#paragraph.push(text);
      this.#previousY = this.#lineY;
      this.#previousSize = this.#lineSize;
    }
    this.#line = '';
    this.#lineY = undefined;
    this.#lineSize = 0;
    this.#lineEnded = false;
  }
}

/** Lays out one page's items (see PageLayout). */
export function layoutPage(items: readonly TextItem[]): string {
  const layout = new PageLayout();
  for (const item of items) layout.add(item);
  return layout.text();
}

/** Whether a line at `y` starts a new block after a line at `previousY` (PDF y grows upwards). */
function isNewBlock(previousY: number, previousSize: number, y: number, size: number): boolean {
  const lineHeight = Math.max(previousSize, size, 1);
  const gap = previousY - y;
  // Far below, or above (a new column, a header drawn last, a text box).
  return gap > PARAGRAPH_GAP * lineHeight || gap < -0.5 * lineHeight;
}
