// Public API of content-type identification, acceptance and text decoding (spec/sniffing.md).
export { SNIFF_WINDOW_BYTES, identifyContent } from './identify.ts';
export { refusalReason, undiffableContentError } from './acceptance.ts';
export { decodeBody, decodeVersion } from './decode.ts';
export type { DecodedText, DecodeOptions } from './decode.ts';
export type { ContentTypeInfo, ContentTypeOption, AcceptedContent } from './types.ts';
