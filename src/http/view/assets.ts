// The viewer's own stylesheet and script, served from memory by the router (so they work from
// src/ and dist/ alike) and pinned by hash: the page's CSP allows exactly this script, by its
// SHA-256 with a matching `integrity` attribute, and nothing else.
import { createHash } from 'node:crypto';

/**
 * Steps through the changes: "change 3 of 17", previous/next buttons, `n`/`p` keys. Changes are
 * elements marked `data-dg-change="k"` in the page (text diffs, links), or the `<ins>`/`<del>`
 * markers of an html_token diff inside the iframe. Reaching into the iframe needs its document to
 * be same-origin with this page, hence `allow-same-origin` on a sandbox that still has no
 * `allow-scripts` (see page.ts). The page works without this script: it only adds navigation.
 */
export const VIEWER_SCRIPT = `'use strict';
(function () {
  var nav = document.getElementById('dg-nav');
  if (!nav) return;
  var counter = document.getElementById('dg-counter');
  var prevButton = document.getElementById('dg-prev');
  var nextButton = document.getElementById('dg-next');
  var frame = document.getElementById('dg-frame');
  var expected = Number(nav.getAttribute('data-change-count'));
  var changes = [];
  var current = -1;

  // html_token: one change is a run of markers of one kind with nothing visible between them (no
  // text, no image): html_token closes a marker at every tag, so one change is often several.
  function sameChange(doc, left, right) {
    if (left.tagName !== right.tagName) return false;
    var range = doc.createRange();
    range.setStartAfter(left);
    range.setEndBefore(right);
    if (range.toString().trim() !== '') return false;
    return range.cloneContents().querySelector('img, svg, video, audio, iframe, object, embed, input, select, textarea, button, canvas') === null;
  }
  function frameChanges(doc) {
    var markers = doc.body ? doc.body.querySelectorAll('ins.wm-diff, del.wm-diff') : [];
    var groups = [];
    for (var i = 0; i < markers.length; i++) {
      var last = groups[groups.length - 1];
      if (last && sameChange(doc, last[last.length - 1], markers[i])) last.push(markers[i]);
      else groups.push([markers[i]]);
    }
    return groups;
  }
  function pageChanges() {
    var byIndex = {};
    var order = [];
    var marked = document.querySelectorAll('[data-dg-change]');
    for (var i = 0; i < marked.length; i++) {
      var key = marked[i].getAttribute('data-dg-change');
      if (!byIndex[key]) { byIndex[key] = []; order.push(key); }
      byIndex[key].push(marked[i]);
    }
    return order.map(function (key) { return byIndex[key]; });
  }
  function show(index) {
    if (changes.length === 0) return;
    if (current >= 0) changes[current].forEach(function (el) { el.classList.remove('dg-current'); });
    current = (index + changes.length) % changes.length;
    changes[current].forEach(function (el) { el.classList.add('dg-current'); });
    reveal(changes[current][0]);
    counter.textContent = 'change ' + (current + 1) + ' of ' + changes.length;
  }
  // In the frame, scroll the frame only: the header with the counter stays where it is.
  function reveal(el) {
    var win = el.ownerDocument.defaultView;
    if (win === window) { el.scrollIntoView({ block: 'center', behavior: 'instant' }); return; }
    var rect = el.getBoundingClientRect();
    win.scrollTo({ top: Math.max(0, rect.top + win.scrollY - win.innerHeight / 3), left: Math.max(0, rect.left + win.scrollX - win.innerWidth / 2), behavior: 'instant' });
  }
  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
    if (event.key === 'n') { show(current + 1); event.preventDefault(); }
    else if (event.key === 'p') { show(current < 0 ? -1 : current - 1); event.preventDefault(); }
  }
  function start(found) {
    changes = found;
    if (changes.length !== expected) nav.setAttribute('data-grouping-mismatch', String(changes.length));
    counter.textContent = changes.length === 0 ? 'no changes' : changes.length + (changes.length === 1 ? ' change' : ' changes') + ' (press n)';
    prevButton.hidden = nextButton.hidden = changes.length === 0;
    prevButton.addEventListener('click', function () { show(current < 0 ? -1 : current - 1); });
    nextButton.addEventListener('click', function () { show(current + 1); });
    document.addEventListener('keydown', onKey);
    nav.setAttribute('data-ready', 'true');
  }
  if (frame) {
    var ready = function () {
      var doc = frame.contentDocument;
      if (!doc) { counter.textContent = 'changes cannot be stepped through here'; return; }
      doc.addEventListener('keydown', onKey);
      start(frameChanges(doc));
    };
    if (frame.contentDocument && frame.contentDocument.readyState === 'complete' && frame.contentDocument.body && frame.contentDocument.body.childNodes.length > 0) ready();
    else frame.addEventListener('load', ready, { once: true });
  } else {
    start(pageChanges());
  }
})();
`;

export const VIEWER_CSS = `
:root { color-scheme: light; --ins-bg: #d7f5d3; --ins-fg: #0a3d0a; --del-bg: #fde0e0; --del-fg: #6b0b0b; --muted: #4a4f57; --line: #d0d4da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #16191d; background: #fff; }
a { color: #0b4fb3; }
header.dg-header { padding: 0.75rem 1rem; border-bottom: 1px solid var(--line); background: #f6f7f9; }
header.dg-header h1 { font-size: 1.1rem; margin: 0 0 0.5rem; }
header.dg-header h1 a { color: inherit; text-decoration: none; }
.dg-form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; margin: 0.25rem 0 0.75rem; }
.dg-form label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); }
.dg-form input[type=url] { width: 32rem; max-width: 80vw; font: inherit; padding: 0.25rem 0.4rem; }
.dg-form select, .dg-form button { font: inherit; padding: 0.25rem 0.6rem; }
table.dg-versions { border-collapse: collapse; font-size: 0.9rem; margin-bottom: 0.5rem; }
table.dg-versions th, table.dg-versions td { text-align: left; padding: 0.15rem 0.75rem 0.15rem 0; vertical-align: top; }
table.dg-versions td.dg-url { max-width: 40rem; overflow-wrap: anywhere; }
.dg-summary { display: flex; flex-wrap: wrap; gap: 1.25rem; align-items: center; font-size: 0.95rem; }
.dg-counts strong { font-variant-numeric: tabular-nums; }
.dg-counts span + span { margin-left: 0.75em; }
.dg-legend ins, .dg-legend del { padding: 0 0.3em; }
.dg-links { font-size: 0.85rem; }
ins, .dg-ins { background: var(--ins-bg); color: var(--ins-fg); text-decoration: underline; text-decoration-thickness: 1px; }
del, .dg-del { background: var(--del-bg); color: var(--del-fg); text-decoration: line-through; }
nav.dg-nav { display: flex; gap: 0.5rem; align-items: center; }
nav.dg-nav button { font: inherit; padding: 0.15rem 0.6rem; }
.dg-tabs { display: flex; gap: 0.25rem; margin: 0.75rem 0 0; }
.dg-tabs a { padding: 0.3rem 0.8rem; border: 1px solid var(--line); border-bottom: none; border-radius: 4px 4px 0 0; text-decoration: none; background: #eef0f3; color: #16191d; }
.dg-tabs a[aria-current=page] { background: #fff; font-weight: 600; }
main.dg-main { padding: 0 1rem 1rem; }
iframe.dg-frame { display: block; width: 100%; height: calc(100vh - 3rem); min-height: 30rem; border: 1px solid var(--line); background: #fff; }
/* A page with a frame fills the window: the header stays, the frame scrolls. */
body.dg-fill { height: 100vh; display: flex; flex-direction: column; }
body.dg-fill main.dg-main { flex: 1; display: flex; flex-direction: column; min-height: 0; }
body.dg-fill iframe.dg-frame { flex: 1; height: auto; min-height: 20rem; }
table.dg-text { border-collapse: collapse; width: 100%; font: 13px/1.5 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; margin-top: 0.75rem; }
table.dg-text td { vertical-align: top; padding: 0 0.5rem; white-space: pre-wrap; overflow-wrap: anywhere; }
table.dg-text td.dg-ln { width: 1%; min-width: 3.5em; text-align: right; color: var(--muted); user-select: none; border-right: 1px solid var(--line); white-space: nowrap; }
table.dg-text tr.dg-changed td.dg-ln { background: #f3f4f6; font-weight: 600; }
table.dg-text th { text-align: left; font: 600 0.9rem system-ui, sans-serif; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line); }
table.dg-links-table { border-collapse: collapse; width: 100%; margin-top: 0.75rem; font-size: 0.9rem; }
table.dg-links-table th, table.dg-links-table td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid #eceef1; vertical-align: top; overflow-wrap: anywhere; }
tr.dg-row-del td { background: var(--del-bg); color: var(--del-fg); text-decoration: line-through; }
tr.dg-row-ins td { background: var(--ins-bg); color: var(--ins-fg); }
tr.dg-row-same { color: var(--muted); }
.dg-current { outline: 3px solid #1d4ed8; outline-offset: 1px; }
.dg-error { border: 1px solid #b42318; background: #fff4f2; padding: 0.75rem 1rem; margin-top: 0.75rem; }
.dg-error code { font-size: 0.85rem; }
pre.dg-json { background: #f6f7f9; padding: 0.75rem; overflow: auto; }
.dg-note { color: var(--muted); font-size: 0.85rem; }
`;

/** Styles added inside the diffed page (html_token): deletions struck through, not only coloured. */
export const FRAME_CSS =
  'del.wm-diff{text-decoration:line-through !important;text-decoration-thickness:2px !important}' +
  'ins.wm-diff{text-decoration:underline !important}' +
  '.dg-current{outline:3px solid #1d4ed8 !important;outline-offset:2px}';

function sha256Base64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/** `sha256-…` of the script: its `integrity` attribute and its CSP source. */
export const VIEWER_SCRIPT_HASH = `sha256-${sha256Base64(VIEWER_SCRIPT)}`;
/** Changes whenever the assets do, so they may be cached for long. */
export const ASSET_VERSION = sha256Base64(VIEWER_SCRIPT + VIEWER_CSS).slice(0, 12).replace(/[+/]/g, '_');
