/** What one version turned out to be, reported to clients as `a_content_type` / `b_content_type`. */
export interface ContentTypeInfo {
  /** Essence, lower-cased (`text/html`, `application/pdf`), or `unknown` when nothing could tell. */
  media_type: string;
  /**
   * Where the media type came from: the header, the bytes, or both agreeing. `none`: neither could tell
   * (an empty body with no usable header, or `nosniff` with no usable header); media_type is then `unknown`.
   */
  source: 'header' | 'sniffed' | 'both' | 'none';
  /** Charset parameter of the declared Content-Type, as sent (a BOM or an unknown label may mean it is not what decoding used). */
  charset?: string;
  /**
   * The encoding the text was decoded with (BOM, header, <meta>, XML prolog or detection decided it). Only known
   * after decoding, which runs in the worker: present in answers of diff types that read text.
   */
  encoding?: string;
  /** Whether the bytes are text (decodable as a document), as opposed to a binary format. */
  is_text: boolean;
}

/** `content_type_options`: how strictly each side's type is checked (see README and spec/sniffing.md). */
export type ContentTypeOption = 'normal' | 'nocheck' | 'nosniff' | 'ignore';

export const CONTENT_TYPE_OPTIONS: readonly ContentTypeOption[] = ['normal', 'nocheck', 'nosniff', 'ignore'];

/**
 * The families of content a diff type can accept. `html_or_pdf`: what `html` accepts, plus PDF;
 * `document`: HTML, XHTML, text/* (and text of unknown type) or PDF, for diffs of extracted text.
 */
export type AcceptedContent = 'any' | 'text' | 'html' | 'html_or_pdf' | 'document';
