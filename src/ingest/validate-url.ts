// Up-front URL checks (400/403) that need no network: syntax, scheme, literal internal addresses.

import { isIP } from 'node:net';
import { BadRequestError, ForbiddenSourceError } from '../errors.ts';
import { createAddressGuard, type AddressGuard } from './address-guard.ts';

export interface UrlPolicy {
  allowFileUrls: boolean;
  allowPrivateUpstreams: boolean;
  /** Test-only: addresses the SSRF guard lets through although they are internal. */
  guardExemptAddresses?: readonly string[] | undefined;
}

/** The host of an http(s) URL as a bare IP literal, or undefined for a name. */
function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) === 0 ? undefined : host;
}

/** Throws ForbiddenSourceError when the guard can tell from the URL alone that the host is internal. */
export function assertHostAllowed(url: URL, guard: AddressGuard | null, urlForDetails: string): void {
  if (guard === null) return;
  const address = literalAddress(url);
  const host = url.hostname.toLowerCase();
  // `localhost` names never reach DNS in some resolvers (RFC 6761), so refuse them by name too.
  const internalName = address === undefined && (host === 'localhost' || host.endsWith('.localhost'));
  if (internalName || (address !== undefined && guard.isBlocked(address))) {
    throw new ForbiddenSourceError(`Upstream host ${url.hostname} is a private, loopback or otherwise internal address; the server's operator can allow internal upstreams with ALLOW_PRIVATE_UPSTREAMS=true (trusted networks only)`, {
      url: urlForDetails,
    });
  }
}

export function validateSourceUrl(raw: string, policy: UrlPolicy, param: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestError(`${param} is not a valid URL`, { param, url: raw });
  }
  if (url.protocol === 'file:') {
    if (!policy.allowFileUrls) {
      throw new ForbiddenSourceError(`${param}: file:// URLs are not allowed on this server (the operator can allow them with ALLOW_FILE_URLS=true, for local use only)`, { param, url: raw });
    }
    if (url.host !== '') throw new BadRequestError(`${param}: a file:// URL must not name a host`, { param, url: raw });
    return url;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BadRequestError(`${param} must be an http or https URL`, { param, url: raw });
  }
  if (url.hostname === '') throw new BadRequestError(`${param} has no host`, { param, url: raw });
  // Like fetch(): credentials in the URL are refused rather than silently sent or dropped.
  if (url.username !== '' || url.password !== '') {
    throw new BadRequestError(`${param} must not contain credentials; use pass_headers=Authorization`, { param, url: raw });
  }
  assertHostAllowed(url, createAddressGuard(policy), raw);
  return url;
}
