// The viewer: `GET /view/<diff_type>?a=…&b=…` answers the diff as an HTML page for people. It runs
// the API's own pipeline (parse, admit, fetch, job) through `DiffPipeline`, so admission, limits,
// refusals and logs are the API's; only the answer differs.
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { DiffDefinition } from '../../diff/types.ts';
import { isDiffguardError, UnknownDiffTypeError } from '../../errors.ts';
import type { DiffPipeline } from '../app.ts';
import { ClientDisconnectedError } from '../client-disconnect.ts';
import { toErrorResponse } from '../error-map.ts';
import { lastValueWins } from '../params.ts';
import { VIEWER_CSS, VIEWER_SCRIPT, VIEWER_SCRIPT_HASH } from './assets.ts';
import { renderPage, VIEW_PATH, type PageModel, type SideSummary } from './page.ts';
import { htmlTokenTab, renderResult } from './render.ts';

export interface ViewDependencies {
  diffTypes: ReadonlyMap<string, DiffDefinition<any>>;
  pipeline: DiffPipeline;
  logger: Logger;
  debug: boolean;
}

const SOURCE_ORIGIN = /^https?:\/\/[A-Za-z0-9.\-:[\]]+$/;

/**
 * The page's policy. A srcdoc frame inherits it, so it is also the diffed page's: no script but
 * the viewer's own (by hash), styles, images and fonts only from the versions' own origins, no
 * connections, no plugins, no framing of the viewer.
 */
export function viewerCsp(sourceUrls: readonly (string | undefined)[]): string {
  const origins = [...new Set(sourceUrls.flatMap((url) => (url === undefined ? [] : [URL.parse(url)?.origin ?? ''])).filter((o) => SOURCE_ORIGIN.test(o)))];
  const hosts = origins.join(' ');
  return [
    "default-src 'none'",
    `script-src '${VIEWER_SCRIPT_HASH}'`,
    `style-src 'self' 'unsafe-inline'${hosts === '' ? '' : ` ${hosts}`}`,
    `img-src data:${hosts === '' ? '' : ` ${hosts}`}`,
    `font-src data:${hosts === '' ? '' : ` ${hosts}`}`,
    `media-src${hosts === '' ? " 'none'" : ` ${hosts}`}`,
    `base-uri${hosts === '' ? " 'none'" : ` ${hosts}`}`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "connect-src 'none'",
    "object-src 'none'",
  ].join('; ');
}

export function createViewRouter(deps: ViewDependencies): express.Router {
  const { diffTypes, pipeline, logger } = deps;
  const router = express.Router();
  const names = [...diffTypes.keys()];

  const sendPage = (res: Response, status: number, model: PageModel, sourceUrls: readonly (string | undefined)[] = []) => {
    res.status(status);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', viewerCsp(sourceUrls));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // Encoded once here: a string would be measured and then encoded by express (two passes over a page-sized string).
    res.send(Buffer.from(renderPage(model), 'utf8'));
  };

  const sendError = (res: Response, err: unknown, model: PageModel) => {
    if (err instanceof ClientDisconnectedError) throw err;
    const response = toErrorResponse(err, { debug: deps.debug });
    if (response.status >= 500 && response.body.type === 'INTERNAL') logger.error({ err }, 'internal error');
    res.locals.log = { ...res.locals.log, error_type: response.body.type };
    res.set(response.headers);
    sendPage(res, response.status, { ...model, error: { status: response.status, body: response.body as unknown as Record<string, unknown> } });
  };

  router.get('/assets/viewer.js', (_req, res) => {
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(VIEWER_SCRIPT);
  });
  router.get('/assets/viewer.css', (_req, res) => {
    res.setHeader('Content-Type', 'text/css; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(VIEWER_CSS);
  });

  // The form: `/view?type=…&a=…&b=…` goes to the diff type's page (a plain form cannot set a path).
  router.get('/', (req, res) => {
    const params = lastValueWins(req.query as Record<string, unknown>);
    const { type, ...rest } = params;
    if (type !== undefined && diffTypes.has(type) && rest.a && rest.b) {
      res.redirect(303, `${VIEW_PATH}/${type}?${new URLSearchParams(rest).toString()}`);
      return;
    }
    sendPage(res, 200, { diffTypes: names, params: rest });
  });

  router.get('/:diffType', async (req: Request<{ diffType: string }>, res) => {
    const definition = diffTypes.get(req.params.diffType);
    const params = lastValueWins(req.query as Record<string, unknown>);
    const model: PageModel = { diffTypes: names, params, ...(definition === undefined ? {} : { diffType: definition.name }) };
    if (definition === undefined) {
      sendError(res, new UnknownDiffTypeError(`Unknown diff type \`${req.params.diffType}\`; choose one below.`, { diff_types: names }), model);
      return;
    }
    // The request line says which diff a viewer page ran (the request metric keeps it apart, as `other`).
    Object.assign(res.locals.log as Record<string, unknown>, { view: true, diff_type: definition.name });
    // No versions yet: just the form, with this diff type chosen.
    if (!params.a && !params.b) {
      sendPage(res, 200, model);
      return;
    }
    // html_token: the viewer shows one view at a time (the tab), so it asks for that one only.
    const jobParams = definition.name === 'html_token' ? { ...params, include: htmlTokenTab(params.include) } : params;
    let run: Awaited<ReturnType<DiffPipeline['runDiff']>>;
    let request: ReturnType<DiffPipeline['parseDiffRequest']> | undefined;
    try {
      request = pipeline.parseDiffRequest(req, definition, jobParams);
      run = await pipeline.runDiff(req, res, request);
    } catch (err) {
      if (!isDiffguardError(err) && !(err instanceof ClientDisconnectedError)) throw err;
      sendError(res, err, model);
      return;
    }
    const { versions, result, fetched } = run;
    const text = Buffer.from(result.json.buffer, result.json.byteOffset, result.json.byteLength).toString('utf8');
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const side = (name: 'a' | 'b'): SideSummary => {
      const version = versions[name];
      const encoding = result.encodings[name];
      return {
        url: request.urls?.[name] ?? version.url ?? '',
        ...(version.url === undefined ? {} : { finalUrl: version.url }),
        ...(fetched[name]?.status === undefined ? {} : { status: fetched[name].status }),
        contentType: { ...version.info, ...(encoding === undefined ? {} : { encoding }) },
        bytes: version.body.byteLength,
      };
    };
    const sides = { a: side('a'), b: side('b') };
    const rendered = renderResult(parsed, { diffType: definition.name, urls: { a: sides.a.finalUrl, b: sides.b.finalUrl }, params: jobParams });
    sendPage(
      res,
      200,
      { ...model, params: jobParams, sides, result: parsed, body: rendered.body, fill: rendered.fill === true, ...(rendered.changeCount === undefined ? {} : { changeCount: rendered.changeCount }) },
      [sides.a.url, sides.b.url, sides.a.finalUrl, sides.b.finalUrl],
    );
  });
  return router;
}
