// The benchmark corpus: the 20 real page pairs in fixtures/pages, and synthetic pages
// built by repeating their real body content (for the size-scaling runs and hostile cases).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
// Deterministic (mulberry32): same seed, same hostile payloads on every run.
import { seededRandom } from '../../test/helpers/random.ts';

export interface PagePair {
  id: string;
  a: Buffer;
  b: Buffer;
}

/** The project's own copy of the pages (`<repo>/fixtures/pages`), so a fresh clone can run the benchmarks. */
export function corpusDir(repoRoot: string): string {
  return path.resolve(repoRoot, 'fixtures', 'pages');
}

export function loadPagePairs(dir: string): PagePair[] {
  const ids = readdirSync(dir)
    .filter((name) => name.endsWith('.a.html'))
    .map((name) => name.slice(0, -'.a.html'.length))
    .sort();
  if (ids.length === 0) throw new Error(`no page pairs (NN-name.a.html/.b.html) in ${dir}`);
  return ids.map((id) => ({ id, a: readFileSync(path.join(dir, `${id}.a.html`)), b: readFileSync(path.join(dir, `${id}.b.html`)) }));
}

function bodyInner(html: string): string {
  const open = /<body[^>]*>/i.exec(html);
  const close = html.toLowerCase().lastIndexOf('</body>');
  if (open === null) return html;
  return html.slice(open.index + open[0].length, close > open.index ? close : undefined);
}

/**
 * A page of about `targetBytes`: the head of the first page, then the bodies of all pages
 * repeated (cut at a tag boundary), and `b` the same with one word changed near the middle.
 */
export function buildScaledPair(pairs: readonly PagePair[], targetBytes: number): { a: Buffer; b: Buffer } {
  const first = pairs[0]!.a.toString('utf8');
  const bodyOpen = /<body[^>]*>/i.exec(first);
  const head = bodyOpen === null ? '<!DOCTYPE html><html><body>' : first.slice(0, bodyOpen.index + bodyOpen[0].length);
  const tail = '\n</body>\n</html>\n';
  const bodies = pairs.map((pair) => bodyInner(pair.a.toString('utf8')));
  const room = Math.max(0, targetBytes - Buffer.byteLength(head) - Buffer.byteLength(tail));
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < room; i++) {
    const body = bodies[i % bodies.length]!;
    parts.push(body);
    length += Buffer.byteLength(body);
  }
  let content = parts.join('');
  // Cut to size at a tag end; the corpus is ASCII-heavy, so characters ≈ bytes here.
  if (content.length > room) {
    const cut = content.lastIndexOf('>', room);
    content = content.slice(0, cut > 0 ? cut + 1 : room);
  }
  const a = head + content + tail;
  const middle = Math.floor(a.length / 2);
  // Replace the first lower-case word after the middle (outside markup with high probability).
  const hit = / [a-z]{3,} /.exec(a.slice(middle));
  const at = hit === null ? middle : middle + hit.index;
  const b = hit === null ? `${a.slice(0, at)} changed ${a.slice(at)}` : `${a.slice(0, at)} changed ${a.slice(at + hit[0].length)}`;
  return { a: Buffer.from(a, 'utf8'), b: Buffer.from(b, 'utf8') };
}


/** The distinct words of the corpus's visible text, for building word salads. */
export function corpusWords(pairs: readonly PagePair[]): string[] {
  const words = new Set<string>();
  for (const pair of pairs) {
    const text = bodyInner(pair.a.toString('utf8')).replace(/<[^>]*>/g, ' ');
    for (const word of text.match(/[A-Za-z]{2,20}/g) ?? []) words.add(word);
  }
  return [...words];
}

/** `bytes` of words from `words` in a random order (no newline unless `lineEvery` is set). */
export function wordSalad(words: readonly string[], bytes: number, seed: number, lineEvery = 0): Buffer {
  const random = seededRandom(seed);
  const parts: string[] = [];
  let length = 0;
  let count = 0;
  while (length < bytes) {
    const word = words[Math.floor(random() * words.length)]!;
    count += 1;
    const sep = lineEvery > 0 && count % lineEvery === 0 ? '\n' : ' ';
    parts.push(word, sep);
    length += word.length + 1;
  }
  return Buffer.from(parts.join('').slice(0, bytes), 'latin1');
}
