// The page structure html_token keeps: which elements are blocks (a change never crosses their
// boundaries), which get alignment spacers, and where a marker or a deleted block may be written
// without a browser's parser moving it. The tokenizer, the block aligner (block-align.ts) and the
// renderer all read these rules from here, so they cannot disagree.

/**
 * Blocks whose openings get alignment spacers (the anchor's "separatable" names, matched as
 * whole names). Kept as the anchor has it because spacers are tokens: more of them would change
 * the counts, which agree with web-monitoring-diff.
 */
export const SPACER_BLOCKS: ReadonlySet<string> = new Set(['blockquote', 'section', 'article', 'header', 'footer', 'pre', 'ul', 'ol', 'li', 'table', 'p']);

/**
 * Block elements (HTML namespace): a change region never spans one of their boundaries, each
 * changed part of a page is marked inside its own block, and blocks are what old and new content
 * is paired by. The anchor's block list (minus `a`, an inline element) plus the remaining
 * sectioning, table and list elements.
 */
export const BLOCK_ELEMENTS: ReadonlySet<string> = new Set([
  'address', 'article', 'aside', 'blockquote', 'body', 'caption', 'center', 'dd', 'details', 'dialog', 'dir', 'div', 'dl', 'dt',
  'fieldset', 'figcaption', 'figure', 'footer', 'form', 'frameset', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hgroup',
  'legend', 'li', 'main', 'menu', 'nav', 'ol', 'p', 'pre', 'listing', 'search', 'section', 'summary', 'table', 'ul', 'colgroup',
  'tbody', 'thead', 'tfoot', 'tr', 'td', 'th', 'noscript', 'optgroup',
]);

/** Void elements that are block boundaries without content of their own. */
export const BOUNDARY_VOIDS: ReadonlySet<string> = new Set(['hr']);

/**
 * Containers whose content model has no room for text, so no `<ins>`/`<del>` may be their child
 * (a browser would move a marker out of a table, a select drops it): changes in them are marked
 * inside their cells or items.
 */
export const MARKER_FREE_CONTAINERS: ReadonlySet<string> = new Set([
  'table', 'thead', 'tbody', 'tfoot', 'tr', 'colgroup', 'ul', 'ol', 'menu', 'dir', 'dl', 'select', 'optgroup', 'datalist', 'hgroup',
]);

export function isBlock(tagName: string): boolean {
  return BLOCK_ELEMENTS.has(tagName);
}

/** Whether a marker may be written as a child of this block. */
export function acceptsMarkers(tagName: string): boolean {
  return !MARKER_FREE_CONTAINERS.has(tagName);
}

/**
 * Whether a whole deleted block, a child of `oldParentTag` in the old page, can be written as a
 * child of the new page's `newParentTag` and re-parse in place: the parent must be of the same
 * kind (a row into a table section, a cell into a row, an item into a list), and a paragraph
 * (or heading) never gets a block child, which would close it.
 */
export function canHoldDeletedBlock(newParentTag: string, oldParentTag: string): boolean {
  return newParentTag === oldParentTag && newParentTag !== 'p' && !/^h[1-6]$/.test(newParentTag);
}

/** The marker attribute a deleted block carries in `combined` (it is not part of the new page). */
export const DELETED_BLOCK_ATTRIBUTE = 'data-wm-diff-deleted';
