import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'parse5';
import { getAttribute } from '../../../src/diff/html-parse.ts';
import { diff, elements, parseOutput } from './helpers.ts';

describe('html_token output documents', () => {
  const views = (a: string, b: string): string[] => {
    const result = diff(a, b);
    return [result.combined!, result.insertions!, result.deletions!];
  };

  it('keep the doctype with its public and system identifiers, so the rendering mode stays the same', () => {
    const doctypes = [
      '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">',
      '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">',
      "<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0 Strict//EN' 'http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd'>",
      '<!DOCTYPE html SYSTEM "about:legacy-compat">',
      '<!doctype html>',
      '<!DOCTYPE>',
      '<!DOCTYPE <script>>',
      '',
    ];
    for (const doctype of doctypes) {
      const page = (word: string) => `${doctype}<html><body><p>Hello ${word}</p></body></html>`;
      const mode = parse(page('one')).mode;
      for (const view of views(page('one'), page('two'))) assert.equal(parse(view).mode, mode, `${doctype} → ${view.slice(0, 140)}`);
    }
    const [combined] = views('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><p>a</p>', '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><p>b</p>');
    assert.match(combined!, /^<!DOCTYPE html PUBLIC "-\/\/W3C\/\/DTD HTML 4\.01 Transitional\/\/EN">/);
  });

  it('a doctype identifier holding a quote is quoted with the other kind', () => {
    const page = `<!DOCTYPE html PUBLIC "it's" 'say "x"'><p>a</p>`;
    const [combined] = views(page, page);
    assert.match(combined!, /^<!DOCTYPE html PUBLIC "it's" 'say "x"'>/);
  });

  it('carry a restrictive Content-Security-Policy as the first element of <head>', () => {
    for (const view of views('<html><head><script>1</script><title>t</title></head><body><p>a</p></body></html>', '<p>b</p>')) {
      const { document } = parseOutput(view);
      const [head] = elements(document, (e) => e.tagName === 'head');
      const first = head!.childNodes[0]!;
      assert.ok('tagName' in first && first.tagName === 'meta', view);
      assert.equal(getAttribute(first, 'http-equiv'), 'Content-Security-Policy');
      assert.equal(getAttribute(first, 'content'), "script-src 'none'; object-src 'none'");
    }
  });

  it("the page's own Content-Security-Policy <meta> is defused (it names the page's origin and would block our style)", () => {
    const page = (word: string) => `<html><head><meta http-equiv="Content-Security-Policy" content="style-src 'none'"></head><body><p>${word}</p></body></html>`;
    for (const view of views(page('a'), page('b'))) {
      const policies = elements(parseOutput(view).document, (e) => e.tagName === 'meta' && getAttribute(e, 'http-equiv')?.toLowerCase() === 'content-security-policy');
      assert.deepEqual(policies.map((meta) => getAttribute(meta, 'content')), ["script-src 'none'; object-src 'none'"], view);
    }
  });
});
