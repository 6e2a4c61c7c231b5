// The body of a viewer page, per shape of diff result. Renderers are chosen by the result's shape,
// not by the diff type's name, so a new diff type with a known shape (dmp segments, say) gets a
// proper view without a change here; an unknown shape is shown as JSON.
import { FRAME_CSS } from './assets.ts';
import { escapeQuotedAttribute, html, raw, type RawHtml } from './escape.ts';

type Segment = [number, string];

export interface RenderContext {
  diffType: string;
  /** The final URL of each version (after redirects), when fetched. */
  urls: { a?: string; b?: string };
  /** The request's parameters, for the tab links. */
  params: Record<string, string>;
}

export interface RenderedBody {
  /** Markup under the header. */
  body: RawHtml;
  /** Changes the navigation steps through; undefined: no navigation. */
  changeCount?: number;
  /** The body is a frame that fills the window. */
  fill?: boolean;
}

export function renderResult(result: Record<string, unknown>, context: RenderContext): RenderedBody {
  if (typeof result.change_count === 'number' && ('combined' in result || 'insertions' in result || 'deletions' in result)) {
    return renderHtmlToken(result, context);
  }
  if (isSegments(result.diff)) return renderSegments(result.diff, Number(result.change_count ?? countChanges(result.diff)));
  if (isSideBySide(result.diff)) return { body: renderSideBySide(result.diff.a_text, result.diff.b_text) };
  if (isLinkEntries(result.diff)) return renderLinkEntries(result.diff);
  if (typeof result.diff === 'string' && typeof result.change_count === 'number') return renderLinksDocument(result.diff);
  if (typeof result.diff === 'number' || typeof result.diff === 'boolean') return { body: html`` };
  return { body: html`<pre class="dg-json">${JSON.stringify(result, null, 2)}</pre>` };
}

// ---- html_token: the page itself, in a sandboxed frame ----

const TABS = [
  ['combined', 'Combined'],
  ['insertions', 'Insertions'],
  ['deletions', 'Deletions'],
] as const;

export type HtmlTokenTab = (typeof TABS)[number][0];

export function htmlTokenTab(include: string | undefined): HtmlTokenTab {
  return include === 'insertions' || include === 'deletions' ? include : 'combined';
}

function renderHtmlToken(result: Record<string, unknown>, context: RenderContext): RenderedBody {
  const tab = htmlTokenTab(context.params.include);
  const documentHtml = String(result[tab] ?? '');
  // Deletions are the old page; combined and insertions the new one: resolve against that version.
  const base = tab === 'deletions' ? context.urls.a : context.urls.b;
  const changeCount = Number(tab === 'combined' ? result.change_count : tab === 'insertions' ? result.insertions_count : result.deletions_count);
  const tabs = TABS.map(([name, label]) => {
    const query = new URLSearchParams({ ...context.params, include: name }).toString();
    return html`<a href="?${query}"${raw(name === tab ? ' aria-current="page"' : '')}>${label}</a>`;
  });
  // sandbox without allow-scripts: nothing of the page runs (its scripts are also removed by
  // html_token, and the page's CSP, which a srcdoc document inherits, allows no script of it).
  // allow-same-origin lets this page's own script reach into the frame to scroll to each change;
  // it is safe only because allow-scripts is absent, so no code in the frame can use that access:
  // never add both. credentialless: the frame's requests carry no cookies (Chromium; elsewhere the
  // opaque-origin-free sandbox still sends no SameSite=Lax cookies, and the CSP limits hosts).
  const frame = html`<iframe id="dg-frame" class="dg-frame" title="${tab} view of the diffed page" sandbox="allow-same-origin" credentialless referrerpolicy="no-referrer" loading="eager" srcdoc="${raw(escapeQuotedAttribute(prepareFrameDocument(documentHtml, base)))}"></iframe>`;
  return { body: html`<nav class="dg-tabs" aria-label="Views">${tabs}</nav>${frame}`, changeCount, fill: true };
}

/**
 * Puts, first in the diffed page's <head>: a <base> for its own stylesheets and images, a
 * no-referrer policy, a CSP meta of its own (defence in depth on top of the inherited one) and our
 * marker styles. First, because the first <base href> wins and a CSP <meta> governs what follows.
 */
export function prepareFrameDocument(documentHtml: string, baseUrl: string | undefined): string {
  const additions =
    `<meta http-equiv="Content-Security-Policy" content="script-src 'none'; object-src 'none'; frame-src 'none'; form-action 'none'">` +
    '<meta name="referrer" content="no-referrer">' +
    (baseUrl === undefined ? '' : `<base href="${escapeForAttribute(baseUrl)}">`) +
    `<style id="dg-frame-style">${FRAME_CSS}</style>`;
  // html_token always writes a <head> start tag (the page's own, attributes escaped, or a bare one).
  const head = /<head(?:\s[^>]*)?>/i.exec(documentHtml);
  if (head === null) return additions + documentHtml;
  const at = head.index + head[0].length;
  return documentHtml.slice(0, at) + additions + documentHtml.slice(at);
}

function escapeForAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---- dmp segments: a unified view with both line numbers ----

function isSegments(value: unknown): value is Segment[] {
  return Array.isArray(value) && value.every((s) => Array.isArray(s) && s.length === 2 && typeof s[0] === 'number' && [-1, 0, 1].includes(s[0]) && typeof s[1] === 'string');
}

function countChanges(segments: Segment[]): number {
  return segments.filter(([op]) => op !== 0).length;
}

interface Row {
  oldLine: number | undefined;
  newLine: number | undefined;
  parts: RawHtml[];
  changed: boolean;
}

/**
 * Rows end at every newline of the combined text. A row shows the old line number when it holds
 * old text (equal or deleted) and the new one when it holds new text (equal or inserted).
 */
function renderSegments(segments: Segment[], changeCount: number): RenderedBody {
  const rows: Row[] = [];
  let oldLine = 1;
  let newLine = 1;
  let row: Row = { oldLine: undefined, newLine: undefined, parts: [], changed: false };
  let change = -1;
  const flush = () => {
    rows.push(row);
    row = { oldLine: undefined, newLine: undefined, parts: [], changed: false };
  };
  for (const [op, text] of segments) {
    if (op !== 0) change += 1;
    const pieces = text.split('\n');
    pieces.forEach((piece, i) => {
      if (op <= 0) row.oldLine ??= oldLine;
      if (op >= 0) row.newLine ??= newLine;
      if (piece !== '') {
        if (op === 0) row.parts.push(html`${piece}`);
        else {
          const tag = op === 1 ? 'ins' : 'del';
          row.parts.push(html`<${raw(tag)} data-dg-change="${change}">${piece}</${raw(tag)}>`);
        }
      } else if (op !== 0 && i < pieces.length - 1) {
        // A changed line break alone: a visible mark, so the change can be seen and stepped to.
        row.parts.push(html`<${raw(op === 1 ? 'ins' : 'del')} data-dg-change="${change}" title="line break">⏎</${raw(op === 1 ? 'ins' : 'del')}>`);
      }
      if (op !== 0) row.changed = true;
      if (i < pieces.length - 1) {
        if (op <= 0) oldLine += 1;
        if (op >= 0) newLine += 1;
        flush();
      }
    });
  }
  if (row.parts.length > 0) flush();
  const body = html`<table class="dg-text"><thead><tr><th scope="col">old</th><th scope="col">new</th><th scope="col">text</th></tr></thead><tbody>${rows.map(
    (r) => html`<tr${raw(r.changed ? ' class="dg-changed"' : '')}><td class="dg-ln">${r.oldLine ?? ''}</td><td class="dg-ln">${r.newLine ?? ''}</td><td>${r.parts}</td></tr>`,
  )}</tbody></table>`;
  return { body, changeCount };
}

// ---- side_by_side_text: two columns, line numbers ----

function isSideBySide(value: unknown): value is { a_text: string; b_text: string } {
  return typeof value === 'object' && value !== null && typeof (value as { a_text?: unknown }).a_text === 'string' && typeof (value as { b_text?: unknown }).b_text === 'string';
}

function renderSideBySide(aText: string, bText: string): RawHtml {
  const a = aText.split('\n');
  const b = bText.split('\n');
  const rows = Array.from({ length: Math.max(a.length, b.length) }, (_, i) => {
    const left = a[i];
    const right = b[i];
    return html`<tr><td class="dg-ln">${left === undefined ? '' : i + 1}</td><td>${left ?? ''}</td><td class="dg-ln">${right === undefined ? '' : i + 1}</td><td>${right ?? ''}</td></tr>`;
  });
  return html`<table class="dg-text"><thead><tr><th colspan="2" scope="colgroup">a (old)</th><th colspan="2" scope="colgroup">b (new)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// ---- links_json: the table ----

type LinkEntry = [number, Record<string, unknown>];

function isLinkEntries(value: unknown): value is LinkEntry[] {
  return Array.isArray(value) && value.every((e) => Array.isArray(e) && e.length === 2 && [-1, 0, 1, 100].includes(e[0] as number) && typeof e[1] === 'object' && e[1] !== null);
}

const LINK_CHANGE = {
  [-1]: { symbol: '−', label: 'removed', row: 'dg-row-del' },
  0: { symbol: '·', label: 'unchanged', row: 'dg-row-same' },
  1: { symbol: '+', label: 'added', row: 'dg-row-ins' },
  100: { symbol: '±', label: 'changed', row: 'dg-row-changed' },
} as Record<number, { symbol: string; label: string; row: string }>;

function segmentsHtml(value: unknown): RawHtml {
  if (!isSegments(value)) return html`${String(value ?? '')}`;
  return html`${value.map(([op, text]) => (op === 0 ? html`${text}` : op === 1 ? html`<ins>${text}</ins>` : html`<del>${text}</del>`))}`;
}

function renderLinkEntries(entries: LinkEntry[]): RenderedBody {
  let change = -1;
  const rows = entries.map(([code, link]) => {
    const kind = LINK_CHANGE[code]!;
    const attr = code === 0 ? '' : ` data-dg-change="${(change += 1)}"`;
    const text = code === 100 ? segmentsHtml(link.text) : html`${String(link.text ?? '')}`;
    const href = code === 100 ? segmentsHtml(link.href) : html`${String(link.href ?? '')}`;
    return html`<tr class="${kind.row}"${raw(attr)}><td title="${kind.label}"><span aria-hidden="true">${kind.symbol}</span> ${kind.label}</td><td>${text}</td><td>${href}</td></tr>`;
  });
  return {
    body: html`<table class="dg-links-table"><thead><tr><th scope="col">change</th><th scope="col">text</th><th scope="col">href</th></tr></thead><tbody>${rows}</tbody></table>`,
    changeCount: change + 1,
  };
}

// ---- links: the service's own table document, in a sandboxed frame ----

function renderLinksDocument(documentHtml: string): RenderedBody {
  const style = '<style>[wm-deleted] td,del.wm-diff{text-decoration:line-through !important}</style>';
  const withStyle = /<\/head>/i.test(documentHtml) ? documentHtml.replace(/<\/head>/i, `${style}</head>`) : style + documentHtml;
  return { body: html`<iframe class="dg-frame" title="links table" sandbox="" referrerpolicy="no-referrer" srcdoc="${raw(escapeQuotedAttribute(withStyle))}"></iframe>`, fill: true };
}
