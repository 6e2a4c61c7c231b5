// Conditional GET for diff answers that is never wrong: a 304 only when the answer cannot have
// changed since the client's copy.
//
// An answer depends on the request (diff type, parameters, pass_headers values), the service
// (version, settings that shape output) and the two bodies (and what the job is told about them:
// declared Content-Type, final URL). A live URL can change at any moment, so its ETag is derived
// from the bodies actually fetched: a 304 then still costs the fetches, but saves the diff job and
// the answer's bytes. Only when both `a_hash` and `b_hash` pin the bodies (a mismatch is a 502) is
// the request alone enough, and a 304 answered before anything is fetched.
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import type { Body } from '../body.ts';
import type { Side } from './load-versions.ts';

/** Everything but the bodies that an answer depends on. */
export interface CacheKeyInput {
  version: string;
  /** The settings that shape diff output, serialised once per app. */
  settingsTag: string;
  /** The request path (names the diff type). */
  path: string;
  params: Record<string, string>;
  /** Values of the request headers forwarded upstream (cookies, tokens): another user's answer is another answer. */
  passHeaders: Record<string, string>;
  hashes: Partial<Record<Side, string>>;
}

/** What the diff job learns about one fetched version. */
export interface VersionIdentity {
  body: Body;
  /** SHA-256 (hex) of `body` when the fetch computed it while reading (else it is computed here). */
  sha256?: string | undefined;
  contentType?: string;
  url?: string;
}

/**
 * How long a client may reuse an answer of hash-pinned inputs without asking again. The bodies
 * cannot change, but the answer also depends on the service's version and settings: an upgrade or
 * a reconfiguration must reach clients within a day. Answers of live URLs are `no-cache` instead
 * (stored, but revalidated on every use), because a page can change at any moment.
 */
export const PINNED_MAX_AGE_SECONDS = 86_400;

export interface CachePlan {
  /** Both bodies are pinned by a_hash and b_hash: the request alone decides the answer. */
  readonly pinned: boolean;
  /**
   * GET/HEAD of pinned inputs: sets Cache-Control, Vary and the ETag, and answers 304 when the
   * client already has this answer. Returns true when it answered. Other requests: sets
   * Cache-Control only.
   */
  beforeFetch(res: Response, ifNoneMatch: string | undefined): boolean;
  /** GET/HEAD of live URLs, once both bodies are in: sets the ETag from them and answers 304 on a match. */
  afterFetch(res: Response, ifNoneMatch: string | undefined, versions: Record<Side, VersionIdentity>): boolean;
}

/** The caching of one diff request. POST answers (inline bodies, possibly confidential) are never stored. */
export function planCaching(method: string, key: CacheKeyInput): CachePlan {
  const conditional = method === 'GET' || method === 'HEAD';
  const pinned = conditional && key.hashes.a !== undefined && key.hashes.b !== undefined;
  const passedNames = Object.keys(key.passHeaders);
  const credentials = passedNames.length > 0;
  const setHeaders = (res: Response) => {
    res.setHeader('Cache-Control', conditional ? cacheControl({ pinned, credentials }) : 'no-store');
    // The answer depends on these request headers' values, not only on the URL.
    if (conditional && credentials) res.vary(passedNames.join(', '));
  };
  const answer = (res: Response, ifNoneMatch: string | undefined, etag: string): boolean => {
    res.setHeader('ETag', etag);
    if (!etagMatches(ifNoneMatch, etag)) return false;
    res.status(304).end();
    return true;
  };
  return {
    pinned,
    beforeFetch(res, ifNoneMatch) {
      setHeaders(res);
      return pinned ? answer(res, ifNoneMatch, weakEtag(['pinned', ...requestParts(key)])) : false;
    },
    afterFetch(res, ifNoneMatch, versions) {
      if (!conditional || pinned) return false;
      const bodies = (['a', 'b'] as const).flatMap((side) => [versions[side].sha256 ?? sha256Hex(versions[side].body), versions[side].contentType ?? '', versions[side].url ?? '']);
      return answer(res, ifNoneMatch, weakEtag(['content', ...requestParts(key), ...bodies]));
    },
  };
}

/**
 * `private` where credentials were passed upstream: a shared cache must never hand one user's
 * answer to another. Pinned inputs: reusable for a day. Live URLs: `no-cache`, revalidated every time.
 */
export function cacheControl({ pinned, credentials }: { pinned: boolean; credentials: boolean }): string {
  const freshness = pinned ? `max-age=${PINNED_MAX_AGE_SECONDS}` : 'no-cache';
  return credentials ? `private, ${freshness}` : freshness;
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  // If-None-Match uses the weak comparison (RFC 9110 13.1.2).
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}

function sha256Hex(body: Body): string {
  const hash = createHash('sha256');
  for (const chunk of body.chunks) hash.update(chunk);
  return hash.digest('hex');
}

function requestParts(key: CacheKeyInput): string[] {
  const passHeaders = Object.keys(key.passHeaders)
    .sort()
    .map((name) => `${name}:${key.passHeaders[name]}`);
  return [key.version, key.settingsTag, key.path, canonicalQuery(key.params), ...passHeaders];
}

/**
 * Each part length-prefixed, so no two different lists hash alike. Weak: two answers under one ETag
 * are equivalent, not always byte-identical (a diff-match-patch search cut by its time budget may
 * stop elsewhere on another run).
 */
function weakEtag(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${Buffer.byteLength(part)}:${part}\n`);
  return `W/"${hash.digest('base64url').slice(0, 27)}"`;
}

function canonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((name) => `${encodeURIComponent(name)}=${encodeURIComponent(params[name]!)}`)
    .join('&');
}
