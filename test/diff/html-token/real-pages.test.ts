import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { getAttribute, isElement, walk, type Element } from '../../../src/diff/html-parse.ts';
import { INERT_SCRIPT_TYPE } from '../../../src/diff/html-token/safe-html.ts';
import { diff, elements, markerTexts, PAGES_DIR, parseOutput, REAL_VERSIONS_DIR } from './helpers.ts';

const BLOCKS = new Set(['p', 'div', 'li', 'ul', 'ol', 'table', 'tr', 'td', 'th', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'blockquote', 'pre', 'dl', 'dd', 'dt', 'header', 'footer', 'nav', 'main', 'form']);

/** Invariants every output view keeps: no marker contains a block, no marker is empty, scripts are inert. */
function assertViewInvariants(view: string): void {
  const { document } = parseOutput(view);
  for (const event of walk(document)) {
    if (event.kind !== 'enter' || !isElement(event.node)) continue;
    const element = event.node;
    if (element.tagName === 'script') assert.equal(getAttribute(element, 'type'), INERT_SCRIPT_TYPE);
    if ((element.tagName === 'ins' || element.tagName === 'del') && getAttribute(element, 'class')?.startsWith('wm-diff')) {
      assert.ok(element.childNodes.length > 0, 'empty marker');
      const blocks = elements(element, (inner: Element) => inner !== element && BLOCKS.has(inner.tagName) && inner.namespaceURI === 'http://www.w3.org/1999/xhtml');
      assert.deepEqual(blocks.map((block) => block.tagName), [], 'marker crosses a block');
    }
  }
}

describe('html_token on real pages', () => {
  const realPairs = [
    ['f2d5d701-707a-42e0-8881-653346d01e0a', 'fc74d750-c651-46b7-bf74-434ad8c62e04'],
    ['9d4de183-a186-456c-bffb-55d82989877d', '775a8b04-9bac-4d0d-8db0-a8e133c4a964'],
  ] as const;
  for (const [a, b] of realPairs) {
    it(`real versions ${a.slice(0, 8)} → ${b.slice(0, 8)}`, () => {
      const before = readFileSync(new URL(a, REAL_VERSIONS_DIR), 'utf8');
      const after = readFileSync(new URL(b, REAL_VERSIONS_DIR), 'utf8');
      const result = diff(before, after);
      assert.ok(result.change_count > 0);
      assert.equal(result.change_count, result.insertions_count + result.deletions_count);
      for (const view of [result.combined!, result.insertions!, result.deletions!]) assertViewInvariants(view);
      // Same document: nothing changes.
      const same = diff(after, after);
      assert.equal(same.change_count, 0);
      assert.deepEqual(markerTexts(same.combined!, 'ins'), []);
    });
  }

  interface ManifestEntry {
    id: string;
    words_changed: [string, string][];
    deleted_paragraph_chars: number;
  }
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', PAGES_DIR), 'utf8')) as ManifestEntry[];
  // A small, a medium and the largest pair (~750 KB together).
  for (const id of ['00-tutorial_whatnow', '05-library_getopt', '12-library_mmap', '19-library_unittest']) {
    it(`pages pair ${id}: finds the manifest's changed words, the deleted paragraph and the new link`, () => {
      const entry = manifest.find((candidate) => candidate.id === id)!;
      const before = readFileSync(new URL(`${id}.a.html`, PAGES_DIR), 'utf8');
      const after = readFileSync(new URL(`${id}.b.html`, PAGES_DIR), 'utf8');
      const result = diff(before, after);
      const deleted = markerTexts(result.combined!, 'del').join(' ');
      const inserted = markerTexts(result.combined!, 'ins').join(' ');
      for (const [oldWord, newWord] of entry.words_changed) {
        assert.ok(deleted.includes(oldWord), `deleted text lacks ${oldWord}`);
        // A replacement word that fell inside the deleted paragraph is not in `after` at all.
        if (after.includes(newWord)) assert.ok(inserted.includes(newWord), `inserted text lacks ${newWord}`);
      }
      // deleted_paragraph_chars counts source characters (markup too), so only a share of it is text.
      assert.ok(deleted.replace(/\s+/g, '').length >= entry.deleted_paragraph_chars * 0.4, 'deleted paragraph not found');
      assert.ok(result.deletions_count >= 5 && result.insertions_count >= 5);
      // The added paragraph's link: some inserted marker sits inside an <a>.
      const { document } = parseOutput(result.combined!);
      const insertedInLinks = elements(document, (e) => e.tagName === 'ins' && e.parentNode !== null && 'tagName' in e.parentNode && e.parentNode.tagName === 'a');
      assert.ok(insertedInLinks.length >= 1);
      assert.deepEqual(markerTexts(result.insertions!, 'ins').join(' '), inserted);
      for (const view of [result.combined!, result.insertions!, result.deletions!]) assertViewInvariants(view);
    });
  }
});
