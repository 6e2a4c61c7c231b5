// The viewer's page: a header with both versions, the counts, a legend and the form; the
// rendered diff below. Plain HTML and CSS that work without JavaScript; the viewer script only
// adds stepping through changes.
import type { ContentTypeInfo } from '../../sniff/types.ts';
import { ASSET_VERSION, VIEWER_SCRIPT_HASH } from './assets.ts';
import { html, raw, type RawHtml } from './escape.ts';

export const VIEW_PATH = '/view';
export const ASSET_PATH = `${VIEW_PATH}/assets`;

export interface SideSummary {
  /** The URL asked for. */
  url: string;
  /** Where it ended up after redirects, when different. */
  finalUrl?: string;
  /** HTTP status of the upstream answer. */
  status?: number;
  contentType?: ContentTypeInfo & { encoding?: string };
  bytes?: number;
}

export interface PageModel {
  diffType?: string;
  diffTypes: readonly string[];
  params: Record<string, string>;
  sides?: { a: SideSummary; b: SideSummary };
  result?: Record<string, unknown>;
  /** The error the diff ended with (status and the API's JSON body). */
  error?: { status: number; body: Record<string, unknown> };
  body?: RawHtml;
  /** The body is a frame that should fill the window. */
  fill?: boolean;
  changeCount?: number;
}

export function renderPage(model: PageModel): string {
  const title = model.diffType === undefined ? 'diffguard viewer' : `${model.diffType} · diffguard viewer`;
  return `<!DOCTYPE html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${title}</title><link rel="stylesheet" href="${ASSET_PATH}/viewer.css?v=${ASSET_VERSION}">${
    model.changeCount === undefined ? '' : html`<script src="${ASSET_PATH}/viewer.js?v=${ASSET_VERSION}" integrity="${VIEWER_SCRIPT_HASH}" defer></script>`
  }</head><body${raw(model.fill === true ? ' class="dg-fill"' : '')}><header class="dg-header"><h1><a href="${VIEW_PATH}">diffguard viewer</a></h1>${form(model)}${model.sides === undefined ? '' : versions(model.sides)}${summary(model)}</header><main class="dg-main">${
    model.error === undefined ? '' : errorBox(model.error)
  }${model.body ?? ''}</main></body></html>`}`;
}

function form(model: PageModel): RawHtml {
  const { params } = model;
  const selected = model.diffType ?? 'html_token';
  const options = model.diffTypes.map((name) => html`<option${raw(name === selected ? ' selected' : '')}>${name}</option>`);
  // action=/view with `type`: the diff type is part of the path, which a plain form cannot set; /view redirects.
  return html`<form class="dg-form" method="get" action="${VIEW_PATH}"><label>a (old version) <input type="url" name="a" required value="${params.a ?? ''}" placeholder="https://example.com/before"></label><label>b (new version) <input type="url" name="b" required value="${params.b ?? ''}" placeholder="https://example.com/after"></label><label>diff type <select name="type">${options}</select></label><button type="submit">Compare</button></form>`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

function contentTypeText(info: SideSummary['contentType']): string {
  if (info === undefined) return '';
  const encoding = info.encoding ?? info.charset;
  return `${info.media_type}${encoding === undefined ? '' : `; ${encoding}`} (${info.source === 'both' ? 'header and bytes' : info.source === 'none' ? 'unknown' : `from ${info.source}`})`;
}

function versions(sides: { a: SideSummary; b: SideSummary }): RawHtml {
  const row = (label: string, side: SideSummary) =>
    html`<tr><th scope="row">${label}</th><td class="dg-url"><a href="${side.finalUrl ?? side.url}" rel="noreferrer noopener" target="_blank">${side.finalUrl ?? side.url}</a>${
      side.finalUrl !== undefined && side.finalUrl !== side.url ? html` <span class="dg-note">(redirected from ${side.url})</span>` : ''
    }</td><td>${side.status === undefined ? '' : `HTTP ${side.status}`}</td><td>${contentTypeText(side.contentType)}</td><td>${side.bytes === undefined ? '' : formatBytes(side.bytes)}</td></tr>`;
  return html`<table class="dg-versions"><thead><tr><th scope="col">version</th><th scope="col">URL</th><th scope="col">fetched</th><th scope="col">content type</th><th scope="col">size</th></tr></thead><tbody>${row('a (old)', sides.a)}${row('b (new)', sides.b)}</tbody></table>`;
}

function summary(model: PageModel): RawHtml {
  const result = model.result;
  if (result === undefined || model.diffType === undefined) return html``;
  const counts: RawHtml[] = [];
  if (typeof result.change_count === 'number') counts.push(html`<span><strong>${result.change_count}</strong> changes</span>`);
  if (typeof result.insertions_count === 'number') counts.push(html`<span><strong>${result.insertions_count}</strong> insertions</span>`);
  if (typeof result.deletions_count === 'number') counts.push(html`<span><strong>${result.deletions_count}</strong> deletions</span>`);
  if (typeof result.diff === 'number') counts.push(html`<span>b is <strong>${result.diff}</strong> bytes ${result.diff < 0 ? 'shorter' : 'longer'} than a</span>`);
  if (typeof result.diff === 'boolean') counts.push(html`<span>the bodies are <strong>${result.diff ? 'identical' : 'different'}</strong></span>`);
  const query = new URLSearchParams(model.params).toString();
  const nav =
    model.changeCount === undefined
      ? ''
      : html`<nav class="dg-nav" id="dg-nav" aria-label="Changes" data-change-count="${model.changeCount}"><button type="button" id="dg-prev" hidden title="previous change (p)">◀ previous</button><span id="dg-counter" aria-live="polite">${model.changeCount} ${model.changeCount === 1 ? 'change' : 'changes'}</span><button type="button" id="dg-next" hidden title="next change (n)">next ▶</button></nav>`;
  return html`<div class="dg-summary"><span class="dg-counts">${counts}</span><span class="dg-legend">legend: <ins>inserted</ins> <del>deleted</del></span>${nav}<span class="dg-links"><a href="/${model.diffType}?${query}">this diff as JSON</a> · <a href="/openapi.json">API (OpenAPI)</a></span></div>`;
}

function errorBox(error: { status: number; body: Record<string, unknown> }): RawHtml {
  const { type, error: message, ...details } = error.body;
  delete details.code;
  const detailText = Object.keys(details).length === 0 ? '' : JSON.stringify(details, null, 2);
  return html`<section class="dg-error" role="alert"><h2>${error.status} ${String(type ?? '')}</h2><p>${String(message ?? '')}</p>${detailText === '' ? '' : html`<pre><code>${detailText}</code></pre>`}</section>`;
}
