// X-Request-Id: taken from the client (or the proxy in front) when it is a sane token, generated
// otherwise; sent back on the answer and carried by every log line of the request.
//
// A child logger in res.locals rather than pino-http: the request line is written once the diff
// has settled (after a client disconnect its fetches are still winding down), which pino-http's
// on-finish line does not wait for.
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * What is accepted as is: 1–128 characters of letters, digits and `-_.:@+=/` — enough for UUIDs,
 * ULIDs, W3C trace IDs and the IDs proxies (nginx, Envoy, Heroku) generate; nothing that could
 * break a log line or a header. Anything else is replaced by a generated UUID.
 */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9\-_.:@+=/]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTABLE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Sets res.locals.requestId and res.locals.logger (a child logger with `request_id`), and the answer's header. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.locals.logger = logger.child({ request_id: requestId });
    res.setHeader(REQUEST_ID_HEADER, requestId);
    next();
  };
}

/** The request's logger (with its `request_id`), or `fallback` outside a request context. */
export function requestLogger(res: Response, fallback: Logger): Logger {
  return (res.locals.logger as Logger | undefined) ?? fallback;
}
