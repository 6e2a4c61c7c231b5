// Headers sent upstream: defaults plus the caller's pass_headers, minus anything that would
// change how the connection or the body framing works.

import { BadRequestError } from '../errors.ts';

/** Never forwarded: Host, hop-by-hop headers, framing, and Accept-Encoding (we decode only what we ask for). */
const NEVER_FORWARDED = new Set([
  'host',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'expect',
  'http2-settings',
  'accept-encoding',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 field-value: visible characters, spaces and tabs (and obs-text); never CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const ACCEPT_ENCODING = 'gzip, deflate, br';

export function buildUpstreamHeaders(userAgent: string, passHeaders: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': userAgent, accept: '*/*', 'accept-encoding': ACCEPT_ENCODING };
  for (const [rawName, value] of Object.entries(passHeaders ?? {})) {
    const name = rawName.trim().toLowerCase();
    if (!TOKEN.test(name) || NEVER_FORWARDED.has(name) || name.startsWith('proxy-')) continue;
    if (!FIELD_VALUE.test(value)) {
      throw new BadRequestError(`pass_headers: the value of ${name} contains characters not allowed in a header`, {
        param: 'pass_headers',
        header: name,
      });
    }
    headers[name] = value.trim();
  }
  return headers;
}

/** Credentials a redirect to another origin must not carry (as the Fetch standard drops Authorization). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie']);

/** The headers for one hop: credentials only go to the origin they were given for. */
export function headersForHop(headers: Record<string, string>, firstOrigin: string, hopOrigin: string): Record<string, string> {
  if (hopOrigin === firstOrigin) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.has(name)));
}
