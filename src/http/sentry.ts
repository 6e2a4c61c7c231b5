// Unexpected server errors (500 INTERNAL) to Sentry, as web-monitoring-diff does when SENTRY_DSN is
// set. Only those: a client's 4xx and an upstream's 502/504 are not bugs of this service (they were
// most of web-monitoring-diff's Sentry volume, diff#21).
//
// Error reporting only, so the lightest correct setup: no auto-instrumentation (it would need the
// SDK loaded with `node --import` before express, for tracing this service does not use), no
// default integrations (they patch http, fetch, console and child processes, and would attach the
// request), just captureException from the one error handler. The SDK is loaded only when a DSN is set.
import type { ErrorEvent } from '@sentry/node';

export interface ErrorContext {
  requestId?: string | undefined;
  method: string;
  /** The route or diff type, never the query (URLs and pass_headers names may be private). */
  route: string;
}

export interface ErrorReporter {
  report(err: unknown, context: ErrorContext): void;
  /** Sends what is pending (up to `timeoutMs`) and stops. */
  close(timeoutMs: number): Promise<void>;
}

export async function createErrorReporter(options: { dsn: string; release: string }): Promise<ErrorReporter> {
  const Sentry = await import('@sentry/node');
  Sentry.initWithoutDefaultIntegrations({
    dsn: options.dsn,
    release: `diffguard@${options.release}`,
    integrations: [Sentry.linkedErrorsIntegration(), Sentry.dedupeIntegration()],
    // SDK 11's switch for what it may collect: nothing about the request or its user.
    dataCollection: { userInfo: false, cookies: false, httpHeaders: false, httpBodies: [], urlQueryParams: false },
    sendClientReports: false,
    beforeSend: scrubEvent,
  });
  return {
    report(err, context) {
      Sentry.captureException(err, {
        tags: { method: context.method, route: context.route, ...(context.requestId === undefined ? {} : { request_id: context.requestId }) },
      });
    },
    async close(timeoutMs) {
      await Sentry.close(timeoutMs);
    },
  };
}

/**
 * Never a request body, header or credential: nothing here attaches them, and this removes them
 * should an integration or a future change ever do so.
 */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  if (event.request !== undefined) {
    const { method, url } = event.request;
    event.request = { ...(method === undefined ? {} : { method }), ...(url === undefined ? {} : { url: url.replace(/[?#].*$/, '') }) };
  }
  delete event.user;
  delete event.breadcrumbs;
  delete event.extra;
  return event;
}
