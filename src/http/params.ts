// Query parameters → plain values. Repeated parameters: the last value wins (as in the anchor).
import { BadRequestError } from '../errors.ts';
import { CONTENT_TYPE_OPTIONS, type ContentTypeOption } from '../sniff/types.ts';

/** Names the anchor used internally for content; a request must never be able to supply content this way. */
const RESERVED_PARAMS = /^(a|b)_(body|text|headers|content|bytes|data|raw)$/;

export function lastValueWins(query: Record<string, unknown>): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(query)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (typeof last === 'string') params[name] = last;
  }
  return params;
}

export function refuseReservedParams(params: Record<string, string>): void {
  for (const name of Object.keys(params)) {
    if (RESERVED_PARAMS.test(name)) {
      throw new BadRequestError(`Parameter \`${name}\` is not accepted: content comes only from the \`a\` and \`b\` sources`, { param: name });
    }
  }
}

export function parseContentTypeOption(raw: string | undefined): ContentTypeOption {
  if (raw === undefined || raw === '') return 'normal';
  const value = raw.toLowerCase() as ContentTypeOption;
  if (!CONTENT_TYPE_OPTIONS.includes(value)) {
    throw new BadRequestError(`content_type_options must be one of ${CONTENT_TYPE_OPTIONS.join(', ')}`, { param: 'content_type_options' });
  }
  return value;
}

/** Only true/1/yes (any case) mean true; the anchor's "false means true" bug is not kept. */
export function parseBooleanParam(raw: string | undefined): boolean {
  return raw !== undefined && ['true', '1', 'yes'].includes(raw.trim().toLowerCase());
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

export function parseHashParam(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!SHA256_HEX.test(raw)) throw new BadRequestError(`${name} must be a hex SHA-256 (64 hex digits)`, { param: name });
  return raw.toLowerCase();
}

/** `pass_headers=Name1,Name2` → the values of those request headers (hop-by-hop and Host are dropped by ingest). */
export function pickPassHeaders(raw: string | undefined, requestHeaders: Record<string, string | string[] | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  if (raw === undefined) return picked;
  for (const name of raw.split(',').map((n) => n.trim().toLowerCase()).filter(Boolean)) {
    const value = requestHeaders[name];
    if (typeof value === 'string') picked[name] = value;
    else if (Array.isArray(value)) picked[name] = value.join(', ');
  }
  return picked;
}
