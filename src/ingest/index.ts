// Public face of src/ingest: fetching the two versions of a page safely.

export { BodyBudget, type BodyReservation } from './body-budget.ts';
export { createFetcher } from './fetcher.ts';
export type { FetchedVersion, FetchOptions, FetchProgress, Fetcher, IngestLimits } from './fetcher.ts';
export { validateSourceUrl } from './validate-url.ts';
export type { UrlPolicy } from './validate-url.ts';
export { isBlockedAddress } from './address-guard.ts';
export type { PrefixInfo } from './read-body.ts';
