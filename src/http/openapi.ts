// The OpenAPI 3.1 description of the service, served at GET /openapi.json. It is data, kept
// beside the routes; test/http/openapi.test.ts validates real answers against it (every diff type,
// every route, each error it can provoke), so it cannot drift from what the service does.
//
// Adding a diff type: add one entry to DIFF_TYPE_DOCS below (its result schema, its parameters and
// an example). The test fails, naming the diff type, until every registered type has one.
import { ERROR_TYPES, type ErrorType } from '../errors.ts';
import { VERSION } from '../version.ts';
import { statusByErrorType } from './error-map.ts';

type Schema = Record<string, unknown>;
type Parameter = Record<string, unknown>;

interface DiffTypeDoc {
  summary: string;
  /** Which content the diff type accepts (others are refused with 422 UNDIFFABLE_CONTENT). */
  accepts: 'anything' | 'HTML' | 'any text' | 'HTML or PDF' | 'HTML, text or PDF';
  /** The diff type's own fields of the answer (type, version, a_content_type, b_content_type are added). */
  result: Schema;
  parameters?: Parameter[];
  example: Record<string, unknown>;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string, description: string, schema: Schema, extra: Record<string, unknown> = {}): Parameter => ({ name, in: 'query', description, schema, ...extra });

const segments = { type: 'array', items: ref('Segment') };

const dmpParameters: Parameter[] = [
  param('granularity', 'Unit of comparison (an extension; the default reproduces web-monitoring-diff).', { type: 'string', enum: ['char', 'word', 'line'], default: 'char' }),
  param('context', 'Return only the changed regions with N units of context around them.', { type: 'integer', minimum: 1 }),
  param('timeout_ms', "diff-match-patch's time budget, after which it returns a coarser diff (at most JOB_CPU_LIMIT_MS).", { type: 'integer', minimum: 1 }),
];

const dmpResult: Schema = {
  type: 'object',
  required: ['change_count', 'diff'],
  properties: {
    change_count: { type: 'integer', minimum: 0 },
    diff: segments,
    granularity: { type: 'string', enum: ['char', 'word', 'line'] },
    context: { type: 'integer', minimum: 1 },
  },
};

/** What text_dmp and side_by_side_text add for PDF sides. */
const pdfFields: Record<string, Schema> = {
  pages: { type: 'object', description: 'Pages of each PDF side.', additionalProperties: false, properties: { a: { type: 'integer', minimum: 0 }, b: { type: 'integer', minimum: 0 } } },
  warnings: { type: 'array', items: { type: 'string' }, description: 'For example "no extractable text on side a" (a scanned PDF).' },
};

/** One entry per diff type (the registry is src/diff/index.ts). */
export const DIFF_TYPE_DOCS: Record<string, DiffTypeDoc> = {
  length: {
    summary: 'Difference in body length, in bytes (b − a).',
    accepts: 'anything',
    result: { type: 'object', required: ['diff'], properties: { diff: { type: 'integer' } } },
    example: { diff: 42 },
  },
  identical_bytes: {
    summary: 'Whether both bodies are byte for byte the same.',
    accepts: 'anything',
    result: { type: 'object', required: ['diff'], properties: { diff: { type: 'boolean' } } },
    example: { diff: false },
  },
  side_by_side_text: {
    summary: 'The visible text of each page (the extracted text of a PDF).',
    accepts: 'HTML or PDF',
    result: {
      type: 'object',
      required: ['diff'],
      properties: { diff: { type: 'object', required: ['a_text', 'b_text'], additionalProperties: false, properties: { a_text: { type: 'string' }, b_text: { type: 'string' } } }, ...pdfFields },
    },
    example: { diff: { a_text: 'Hello world', b_text: 'Hello there' } },
  },
  links: {
    summary: 'Links added, removed or changed, as an HTML table document.',
    accepts: 'HTML',
    result: { type: 'object', required: ['change_count', 'diff'], properties: { change_count: { type: 'integer', minimum: 0 }, diff: { type: 'string', description: 'A complete HTML document.' } } },
    example: { change_count: 1, diff: '<!DOCTYPE html><html>…</html>' },
  },
  links_json: {
    summary: 'Links added (1), removed (−1), changed (100) or kept (0).',
    accepts: 'HTML',
    result: { type: 'object', required: ['change_count', 'diff'], properties: { change_count: { type: 'integer', minimum: 0 }, diff: { type: 'array', items: ref('LinkDiffEntry') } } },
    example: { change_count: 1, diff: [[0, { text: 'Home', href: '/', resolved_href: 'https://example.com/' }], [1, { text: 'News', href: '/news', resolved_href: 'https://example.com/news' }]] },
  },
  html_text_dmp: {
    summary: 'diff-match-patch over the visible text; op −1 deleted, 0 same, 1 inserted.',
    accepts: 'HTML',
    result: dmpResult,
    parameters: dmpParameters,
    example: { change_count: 2, diff: [[0, 'Hello '], [-1, 'world'], [1, 'there']] },
  },
  text_dmp: {
    summary: 'diff-match-patch over the text of two documents of any kind: HTML (visible text), text/*, PDF (extracted text).',
    accepts: 'HTML, text or PDF',
    result: {
      ...dmpResult,
      properties: {
        ...(dmpResult.properties as Record<string, Schema>),
        ...pdfFields,
      },
    },
    parameters: dmpParameters,
    example: { change_count: 2, diff: [[0, 'Annual report '], [-1, '2025'], [1, '2026']], pages: { a: 12, b: 12 } },
  },
  html_source_dmp: {
    summary: 'diff-match-patch over the decoded source.',
    accepts: 'any text',
    result: dmpResult,
    parameters: dmpParameters,
    example: { change_count: 2, diff: [[0, '<p>Hello '], [-1, 'world'], [1, 'there'], [0, '</p>']] },
  },
  html_token: {
    summary: 'The new page rendered with <ins class="wm-diff">/<del class="wm-diff"> around changes.',
    accepts: 'HTML',
    result: {
      type: 'object',
      required: ['change_count', 'insertions_count', 'deletions_count'],
      properties: {
        change_count: { type: 'integer', minimum: 0 },
        insertions_count: { type: 'integer', minimum: 0 },
        deletions_count: { type: 'integer', minimum: 0 },
        combined: { type: 'string', description: 'The new page with insertions and deletions marked (include=combined or all).' },
        insertions: { type: 'string', description: 'The new page with insertions marked (include=insertions or all).' },
        deletions: { type: 'string', description: 'The old page with deletions marked (include=deletions or all).' },
      },
    },
    parameters: [
      param('include', 'Which rendered documents to return.', { type: 'string', enum: ['combined', 'insertions', 'deletions', 'all'], default: 'combined' }),
      param('url_rules', 'URL comparison rules, comma-combined; empty for exact comparison.', { type: 'string', default: 'jsessionid' }, { example: 'jsessionid,wayback' }),
    ],
    example: { change_count: 2, insertions_count: 1, deletions_count: 1, combined: '<!DOCTYPE html><html><head>…</head><body><p>Hello <del class="wm-diff">world</del><ins class="wm-diff">there</ins></p></body></html>' },
  },
};

const commonDiffParameters: Parameter[] = [
  param('a_hash', 'Hex SHA-256 the fetched body of `a` must have (502 HASH_MISMATCH otherwise).', { type: 'string', pattern: '^[0-9a-fA-F]{64}$' }),
  param('b_hash', 'Hex SHA-256 the fetched body of `b` must have.', { type: 'string', pattern: '^[0-9a-fA-F]{64}$' }),
  param('pass_headers', 'Request headers to copy to both upstream requests, comma-separated (e.g. Cookie,Authorization).', { type: 'string' }),
  param('content_type_options', 'How strictly each side\'s content type is checked.', { type: 'string', enum: ['normal', 'nocheck', 'nosniff', 'ignore'], default: 'normal' }),
  param('ignore_decoding_errors', 'Diff text even when more than 25 % of it is undecodable.', { type: 'string', enum: ['true', 'false', '1', '0', 'yes', 'no'] }),
];

const sourceParameters: Parameter[] = [
  param('a', 'URL of the old version (http, https; file only with ALLOW_FILE_URLS).', { type: 'string', format: 'uri' }, { required: true, example: 'https://example.com/before' }),
  param('b', 'URL of the new version.', { type: 'string', format: 'uri' }, { required: true, example: 'https://example.com/after' }),
];

/** The error types each status can carry (from the one table in error-map.ts). */
function errorTypesFor(status: number): ErrorType[] {
  return ERROR_TYPES.filter((type) => statusByErrorType[type] === status);
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: a missing or invalid parameter, a bad URL or body.',
  403: 'The source may not be fetched (scheme disabled, or the SSRF guard refused its address).',
  404: 'Unknown diff type or path; GET / lists the diff types.',
  405: 'The path does not serve this method; `Allow` lists those it does.',
  413: 'An input is over a size limit.',
  422: 'The diff type cannot handle the content, the text is undecodable, or the job went over a limit.',
  500: 'Internal error.',
  502: 'The upstream answered an error, could not be reached, sent too much, or a hash did not match.',
  503: 'Overloaded or shutting down; retry after `Retry-After` seconds.',
  504: 'An upstream or the job took too long.',
};

function errorResponse(status: number): Schema {
  const types = errorTypesFor(status);
  return {
    description: ERROR_DESCRIPTIONS[status] ?? 'Error',
    ...(status === 503 ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' } } } : {}),
    ...(status === 405 ? { headers: { Allow: { schema: { type: 'string' } } } } : {}),
    content: {
      'application/json': {
        schema: { allOf: [ref('Error'), { properties: { code: { const: status }, type: { enum: types } } }] },
        example: { code: status, error: 'An explanation in words', type: types[0] },
      },
    },
  };
}

const DIFF_ERROR_STATUSES = [400, 403, 404, 413, 422, 500, 502, 503, 504];

function diffResponses(name: string, doc: DiffTypeDoc): Record<string, unknown> {
  return {
    200: {
      description: `The diff. ${doc.summary}`,
      headers: { ETag: { schema: { type: 'string' }, description: 'Weak validator; send it back in If-None-Match.' } },
      content: {
        'application/json': {
          schema: { allOf: [ref('DiffAnswer'), { properties: { type: { const: name } } }, doc.result] },
          example: { type: name, version: VERSION, ...doc.example, a_content_type: { media_type: 'text/html', source: 'both', charset: 'utf-8', is_text: true, encoding: 'utf-8' }, b_content_type: { media_type: 'text/html', source: 'both', charset: 'utf-8', is_text: true, encoding: 'utf-8' } },
        },
      },
    },
    304: { description: 'Not modified (If-None-Match matched the ETag).' },
    ...Object.fromEntries(DIFF_ERROR_STATUSES.map((status) => [status, errorResponse(status)])),
  };
}

function diffPath(name: string, doc: DiffTypeDoc): Record<string, unknown> {
  const own = doc.parameters ?? [];
  return {
    get: {
      operationId: `get_${name}`,
      tags: ['diff'],
      summary: doc.summary,
      description: `Fetches both versions and diffs them. Accepts ${doc.accepts}; other content is refused with 422 UNDIFFABLE_CONTENT.`,
      parameters: [...sourceParameters, ...commonDiffParameters, ...own],
      responses: diffResponses(name, doc),
    },
    post: {
      operationId: `post_${name}`,
      tags: ['diff'],
      summary: `${doc.summary} Both versions in the request body.`,
      parameters: [...commonDiffParameters, ...own],
      requestBody: {
        required: true,
        content: {
          'multipart/form-data': { schema: { type: 'object', required: ['a', 'b'], properties: { a: { type: 'string', contentMediaType: 'application/octet-stream' }, b: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
          'application/json': { schema: ref('InlineVersions'), example: { a: { text: '<p>Hello world</p>', content_type: 'text/html' }, b: { text: '<p>Hello there</p>', content_type: 'text/html' } } },
        },
      },
      responses: diffResponses(name, doc),
    },
  };
}

const htmlPage = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });

function buildDocument(): Record<string, unknown> {
  const diffTypeNames = Object.keys(DIFF_TYPE_DOCS);
  return {
    openapi: '3.1.0',
    info: {
      title: 'diffguard',
      version: VERSION,
      summary: 'Compares two versions of a web page, compatible with web-monitoring-diff.',
      description:
        'Every diff runs in a resource-limited worker process; inputs are sniffed and refused when a diff type cannot handle them. Errors are JSON `{code, error, type, ...details}`. Diff answers carry `Content-Security-Policy: sandbox`. The viewer (`/view`) shows any diff as an HTML page.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [{ name: 'diff', description: 'Diff types (JSON)' }, { name: 'viewer', description: 'HTML pages for people' }, { name: 'operations' }],
    paths: {
      '/': {
        get: {
          operationId: 'index',
          tags: ['operations'],
          summary: 'The diff types and the version. A browser (Accept: text/html first) is redirected to the viewer.',
          responses: {
            200: { description: 'The index', content: { 'application/json': { schema: ref('Index'), example: { diff_types: diffTypeNames, version: VERSION } } } },
            303: { description: 'To the viewer, for a request that prefers text/html.', headers: { Location: { schema: { type: 'string' } } } },
          },
        },
      },
      ...Object.fromEntries(Object.entries(DIFF_TYPE_DOCS).map(([name, doc]) => [`/${name}`, diffPath(name, doc)])),
      '/view': {
        get: {
          operationId: 'view_form',
          tags: ['viewer'],
          summary: 'The viewer form. With `type`, `a` and `b` it redirects to /view/{diff_type}.',
          parameters: [param('type', 'Diff type to show.', { type: 'string', enum: diffTypeNames }), param('a', 'URL of the old version.', { type: 'string' }), param('b', 'URL of the new version.', { type: 'string' })],
          responses: { 200: htmlPage('The form.'), 303: { description: 'To /view/{diff_type}?a=…&b=…', headers: { Location: { schema: { type: 'string' } } } } },
        },
      },
      '/view/{diff_type}': {
        get: {
          operationId: 'view_diff',
          tags: ['viewer'],
          summary: 'The diff as an HTML page: both versions, counts, a legend, and the diff (html_token: the page itself, in a sandboxed frame).',
          description: 'Takes the same parameters as GET /{diff_type}; without `a` and `b` it shows the form. Errors are HTML pages with the status of the API error.',
          parameters: [
            { name: 'diff_type', in: 'path', required: true, schema: { type: 'string', enum: diffTypeNames } },
            { ...sourceParameters[0], required: false },
            { ...sourceParameters[1], required: false },
            ...commonDiffParameters,
          ],
          responses: {
            200: htmlPage('The viewer page.'),
            ...Object.fromEntries(DIFF_ERROR_STATUSES.map((status) => [status, htmlPage(`${ERROR_DESCRIPTIONS[status]} (as a page)`)])),
          },
        },
      },
      '/view/assets/{asset}': {
        get: {
          operationId: 'view_asset',
          tags: ['viewer'],
          summary: "The viewer's own script and stylesheet.",
          parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string', enum: ['viewer.js', 'viewer.css'] } }],
          responses: { 200: { description: 'The asset', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } }, 404: errorResponse(404) },
        },
      },
      '/openapi.json': {
        get: { operationId: 'openapi', tags: ['operations'], summary: 'This document.', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'paths'] } } } } } },
      },
      '/healthz': {
        get: { operationId: 'healthz', tags: ['operations'], summary: 'Liveness: answers while the event loop does.', responses: { 200: { description: 'Alive', content: { 'application/json': { schema: { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { const: 'ok' } } }, example: { status: 'ok' } } } } } },
      },
      '/healthcheck': {
        get: { operationId: 'healthcheck', tags: ['operations'], summary: 'Liveness as web-monitoring-diff answers it.', responses: { 200: { description: 'Alive', content: { 'application/json': { schema: { type: 'object', maxProperties: 0 }, example: {} } } } } },
      },
      '/readyz': {
        get: {
          operationId: 'readyz',
          tags: ['operations'],
          summary: 'Readiness: 200 when the pool can take work.',
          responses: {
            200: { description: 'Ready', content: { 'application/json': { schema: { allOf: [ref('PoolState'), { required: ['status'], properties: { status: { const: 'ready' } } }] }, example: { status: 'ready', workers: 2, active_jobs: 0, queued_jobs: 0, max_queued_jobs: 4 } } } },
            503: { description: 'Not ready (queue full, pool broken, shutting down).', headers: { 'Retry-After': { schema: { type: 'integer' } } }, content: { 'application/json': { schema: { allOf: [ref('Error'), ref('PoolState'), { properties: { code: { const: 503 }, type: { const: 'OVERLOADED' } } }] } } } },
          },
        },
      },
      '/metrics': {
        get: { operationId: 'metrics', tags: ['operations'], summary: 'Prometheus metrics (text format).', responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } },
      },
    },
    components: {
      schemas: {
        Index: { type: 'object', required: ['diff_types', 'version'], additionalProperties: false, properties: { diff_types: { type: 'array', items: { type: 'string' } }, version: { type: 'string' } } },
        ContentTypeInfo: {
          type: 'object',
          description: 'What a version turned out to be.',
          required: ['media_type', 'source', 'is_text'],
          additionalProperties: false,
          properties: {
            media_type: { type: 'string', examples: ['text/html', 'application/pdf', 'unknown'] },
            source: { type: 'string', enum: ['header', 'sniffed', 'both', 'none'] },
            charset: { type: 'string' },
            encoding: { type: 'string' },
            is_text: { type: 'boolean' },
          },
        },
        DiffAnswer: {
          type: 'object',
          required: ['type', 'version', 'a_content_type', 'b_content_type'],
          properties: { type: { type: 'string' }, version: { type: 'string' }, a_content_type: ref('ContentTypeInfo'), b_content_type: ref('ContentTypeInfo') },
        },
        Segment: { type: 'array', prefixItems: [{ enum: [-1, 0, 1] }, { type: 'string' }], minItems: 2, maxItems: 2, examples: [[1, 'inserted text']] },
        Link: { type: 'object', required: ['text', 'href', 'resolved_href'], additionalProperties: false, properties: { text: { type: 'string' }, href: { type: 'string' }, resolved_href: { type: 'string' } } },
        ChangedLink: {
          type: 'object',
          required: ['text', 'href', 'hrefs', 'resolved_hrefs'],
          additionalProperties: false,
          properties: { text: segments, href: segments, hrefs: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 }, resolved_hrefs: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 } },
        },
        LinkDiffEntry: {
          oneOf: [
            { type: 'array', prefixItems: [{ enum: [-1, 0, 1] }, ref('Link')], minItems: 2, maxItems: 2 },
            { type: 'array', prefixItems: [{ const: 100 }, ref('ChangedLink')], minItems: 2, maxItems: 2 },
          ],
        },
        InlineVersion: {
          type: 'object',
          properties: { content_base64: { type: 'string', contentEncoding: 'base64' }, text: { type: 'string' }, content_type: { type: 'string' }, url: { type: 'string' } },
        },
        InlineVersions: { type: 'object', required: ['a', 'b'], properties: { a: ref('InlineVersion'), b: ref('InlineVersion') } },
        PoolState: {
          type: 'object',
          required: ['workers', 'active_jobs', 'queued_jobs', 'max_queued_jobs'],
          properties: { workers: { type: 'integer' }, active_jobs: { type: 'integer' }, queued_jobs: { type: 'integer' }, max_queued_jobs: { type: 'integer' } },
        },
        Error: {
          type: 'object',
          description: 'Every error. Details vary by type (e.g. `param` for a bad parameter, `upstream_code`, `expected_hash`/`actual_hash`, `a_content_type`/`b_content_type` for a refusal, `retry_after_seconds`).',
          required: ['code', 'error', 'type'],
          properties: {
            code: { type: 'integer', minimum: 400, maximum: 599 },
            error: { type: 'string', description: 'What went wrong, in words.' },
            type: { type: 'string', enum: [...ERROR_TYPES] },
            a_content_type: { oneOf: [ref('ContentTypeInfo'), { type: 'null' }] },
            b_content_type: { oneOf: [ref('ContentTypeInfo'), { type: 'null' }] },
            upstream_code: { type: 'integer' },
            retry_after_seconds: { type: 'number' },
          },
        },
      },
    },
  };
}

/** The document (built once; it depends only on the code and the version). */
export const OPENAPI_DOCUMENT: Readonly<Record<string, unknown>> = buildDocument();
