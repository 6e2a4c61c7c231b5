import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TooLargeError } from '../../../src/errors.ts';
import { counts, diff, markerTexts } from './helpers.ts';

describe('html_token limits', () => {
  // 200 words and no separatable blocks: exactly 200 tokens per side.
  const words = (last: string) => `<div>${Array.from({ length: 199 }, (_, i) => `w${i}`).join(' ')} ${last}</div>`;

  it('the token cap: a side at the cap passes, one token over is a 413 naming the side', () => {
    assert.deepEqual(counts(diff(words('end'), words('fin'), { maxTokens: 200 })), [2, 1, 1]);
    assert.throws(
      () => diff(words('end'), words('fin'), { maxTokens: 199 }),
      (error: unknown) => {
        assert.ok(error instanceof TooLargeError);
        assert.deepEqual(error.details, { limit: 'tokens', max_tokens: 199, side: 'a' });
        return true;
      },
    );
    assert.throws(
      () => diff('<p>short</p>', words('fin'), { maxTokens: 199 }),
      (error: unknown) => error instanceof TooLargeError && error.details.side === 'b',
    );
  });

  it('spacers count as tokens', () => {
    // One <p> = 3 spacers + 1 word.
    assert.doesNotThrow(() => diff('<p>a</p>', '<p>b</p>', { maxTokens: 4 }));
    assert.throws(() => diff('<p>a</p>', '<p>b</p>', { maxTokens: 3 }), TooLargeError);
  });

  it('the node cap applies to each parse', () => {
    assert.throws(
      () => diff('<div><b>x</b></div>'.repeat(100), '<p>y</p>', { maxNodes: 150 }),
      (error: unknown) => error instanceof TooLargeError && error.details.limit === 'html_nodes',
    );
  });

  it('the character cap (MAX_HTML_CHARS) refuses a longer side before parsing it', () => {
    const page = `<p>${'x'.repeat(93)}</p>`; // 100 characters
    assert.doesNotThrow(() => diff(page, page, { maxChars: 100 }));
    assert.throws(
      () => diff(page, `${page} `, { maxChars: 100 }),
      (error: unknown) => error instanceof TooLargeError && error.details.limit === 'html_chars' && error.details.side === 'b',
    );
  });

  it('100 000 nested divs do not overflow the stack', () => {
    const depth = 100_000;
    const nested = (word: string) => `${'<div>'.repeat(depth)}deep ${word}${'</div>'.repeat(depth)}`;
    const result = diff(nested('old'), nested('new'), { include: 'combined' });
    assert.deepEqual(counts(result), [2, 1, 1]);
    assert.equal((result.combined!.match(/<div>/g) ?? []).length, depth);
    assert.match(result.combined!, /deep <del class="wm-diff">old<\/del><ins class="wm-diff">new<\/ins><\/div>/);
  });

  it('two unrelated documents diff as one replacement', () => {
    const a = `<div>${Array.from({ length: 3000 }, (_, i) => `a${i}`).join(' ')}</div>`;
    const b = `<div>${Array.from({ length: 3000 }, (_, i) => `b${i}`).join(' ')}</div>`;
    const result = diff(a, b);
    assert.deepEqual(counts(result), [2, 1, 1]);
    assert.equal(markerTexts(result.combined!, 'del').length, 1);
  });
});
