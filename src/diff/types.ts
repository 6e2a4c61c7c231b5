import type { AcceptedContent } from '../sniff/types.ts';

/** Query parameters after "last value wins": one string per name. */
export type DiffParams = Readonly<Record<string, string>>;

/**
 * Operator settings that shape diff output (from config, never from the request). They are
 * copied into each job's options by `parseOptions`, so a diff function itself never reads config.
 */
export interface DiffSettings {
  /** Colour of insertions in rendered HTML, e.g. `#a1d76a`. */
  insertionColor: string;
  /** Colour of deletions in rendered HTML, e.g. `#e8a4c8`. */
  deletionColor: string;
  /** Default diff-match-patch time budget for the two dmp diffs, in ms (anchor: 2000). */
  dmpTimeoutMs: number;
  /** Upper bound a request may raise the dmp budget to, in ms (the job CPU limit). */
  dmpMaxTimeoutMs: number;
  /** Most tokens per side html_token will diff; over it → TooLargeError (413). */
  htmlTokenMaxTokens: number;
  /** Most characters per side for the text diffs; over it → TooLargeError (413). */
  maxTextChars: number;
  /** Most characters per side between the first and the last difference the dmp diffs compare; over it → TooLargeError (413). */
  maxChangedChars: number;
  /** Most HTML nodes plus attributes a parse may build per side; over it → TooLargeError (413). */
  maxHtmlNodes: number;
  /** Most characters of HTML per side a parse-based diff type parses; over it → TooLargeError (413), before parsing. */
  maxHtmlChars: number;
  /** Most pages per PDF the PDF-reading diff types read; over it → TooLargeError (413), before any page is read. */
  maxPdfPages: number;
}

/** One version as a diff function sees it. */
export interface DiffSide {
  /** Body after content decoding (gzip etc.), exactly as delivered. */
  bytes: Uint8Array;
  /** Decoded text; empty string when the diff type does not need text. */
  text: string;
  /** Final URL the version was fetched from (after redirects), when known. */
  url?: string;
  /** What the main process found the version to be (`text/html`, `application/pdf`, `unknown`), when known. */
  mediaType?: string;
}

/** What `run` returns: the result object, or a promise of it (PDF text extraction is asynchronous). */
export type DiffResult = Record<string, unknown> | Promise<Record<string, unknown>>;

/**
 * A diff type. `parseOptions` runs on the main thread (cheap validation; throws
 * BadRequestError for bad values); `run` is pure and runs in a worker process.
 * Options must be plain data (they cross a process boundary).
 */
export interface DiffDefinition<Options = unknown, Result extends DiffResult = Record<string, unknown>> {
  readonly name: string;
  readonly accepts: AcceptedContent;
  /** Whether `run` needs decoded text (false: bytes only, no decoding is done). */
  readonly needsText: boolean;
  /** Whether `run` reads PDF sides itself: a side identified as application/pdf then reaches it undecoded (`text` empty). */
  readonly readsPdf?: boolean;
  parseOptions(params: DiffParams, settings: DiffSettings): Options;
  run(a: DiffSide, b: DiffSide, options: Options): Result;
}

/** A diff-match-patch style segment: [-1 deleted | 0 equal | 1 inserted, text]. */
export type DiffOp = -1 | 0 | 1;
export type DiffSegment = [DiffOp, string];
