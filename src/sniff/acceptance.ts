import { UndiffableContentError } from '../errors.ts';
import type { AcceptedContent, ContentTypeInfo, ContentTypeOption } from './types.ts';
import { contentFamily } from './media-types.ts';

/** Types an HTML diff can read: HTML, XHTML, and text that is unknown or plain (HTML parsers read prose fine). */
function isHtmlReadable(info: ContentTypeInfo): boolean {
  if (!info.is_text) return false;
  if (info.media_type === 'unknown') return true;
  const family = contentFamily(info.media_type);
  return family === 'html' || family === 'xhtml' || family === 'plain';
}

const PDF = 'application/pdf';

/** Types a document-text diff (text_dmp) reads: what an HTML diff reads, and any text/* type. */
function isDocumentText(info: ContentTypeInfo): boolean {
  return isHtmlReadable(info) || (info.is_text && info.media_type.startsWith('text/'));
}

/** "application/pdf (sniffed)": a side's type and where it came from, for error messages. */
export function describeContent(info: ContentTypeInfo): string {
  if (info.media_type === 'unknown') return 'of unknown type';
  switch (info.source) {
    case 'sniffed':
      return `${info.media_type} (sniffed)`;
    case 'header':
      return `${info.media_type} (declared)`;
    default:
      return info.media_type;
  }
}

/** Why this side cannot be diffed by a diff type accepting `accepts`, or null if it can. `option === 'ignore'` → always null. */
export function refusalReason(accepts: AcceptedContent, info: ContentTypeInfo, option: ContentTypeOption): string | null {
  if (option === 'ignore' || accepts === 'any') return null;
  switch (accepts) {
    case 'text':
      return info.is_text ? null : `${describeContent(info)} is not text`;
    case 'html':
      return isHtmlReadable(info) ? null : `${describeContent(info)} is not HTML`;
    case 'html_or_pdf':
      return isHtmlReadable(info) || info.media_type === PDF ? null : `${describeContent(info)} is neither HTML nor PDF`;
    case 'document':
      return isDocumentText(info) || info.media_type === PDF ? null : `${describeContent(info)} is not HTML, text or PDF`;
  }
}

const WHAT_IT_DIFFS: Record<AcceptedContent, string> = {
  any: 'anything',
  text: 'text only',
  html: 'HTML only',
  html_or_pdf: 'HTML or PDF only',
  document: 'HTML, XHTML, text/* or PDF only',
};

/** Build the 422 for a refused pair: names every refused side and what the other side is (if known). */
export function undiffableContentError(
  diffType: string,
  accepts: AcceptedContent,
  sides: { a?: ContentTypeInfo; b?: ContentTypeInfo },
  _option: ContentTypeOption,
): UndiffableContentError {
  const parts: string[] = [];
  const details: { a_content_type?: ContentTypeInfo; b_content_type?: ContentTypeInfo } = {};
  for (const side of ['a', 'b'] as const) {
    const info = sides[side];
    if (info === undefined) continue;
    details[`${side}_content_type`] = info;
    parts.push(`\`${side}\` is ${describeContent(info)}`);
  }
  const subject = parts.length > 0 ? parts.join(', ') : 'the content';
  return new UndiffableContentError(`${subject}; ${diffType} diffs ${WHAT_IT_DIFFS[accepts]}`, details);
}
