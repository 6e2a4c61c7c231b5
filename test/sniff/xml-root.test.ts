import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyXmlRoot } from '../../src/sniff/xml-root.ts';

const CASES: Array<[string, string, ReturnType<typeof classifyXmlRoot>]> = [
  ['XHTML root', '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head/></html>', 'xhtml'],
  ['XHTML namespace on a prefixed root', '<?xml version="1.0"?><x:html xmlns:x="http://www.w3.org/1999/xhtml">', 'xhtml'],
  ['default XHTML namespace on another root', '<?xml version="1.0"?><page xmlns="http://www.w3.org/1999/xhtml">', 'xhtml'],
  ['SVG after comment and DOCTYPE', '<?xml version="1.0"?>\n<!-- drawn by hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n<svg width="1">', 'svg'],
  ['DOCTYPE with an internal subset holding ">"', '<?xml version="1.0"?><!DOCTYPE note [<!ENTITY a "b">]><note>', 'other'],
  ['RSS', '<?xml version="1.0"?><rss version="2.0">', 'rss'],
  ['RSS 1.0 (RDF)', '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', 'rss'],
  ['Atom declaring an xhtml prefix is still Atom', '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:xhtml="http://www.w3.org/1999/xhtml">', 'atom'],
  ['plain XML', '<?xml version="1.0"?><catalog>', 'other'],
  ['root tag cut off by the window', '<?xml version="1.0"?><svg width="1"', null],
  ['comment cut off by the window', '<?xml version="1.0"?><!-- never ends', null],
  ['text before any element', 'hello <svg>', null],
];

describe('classifyXmlRoot', () => {
  for (const [name, text, expected] of CASES) {
    it(name, () => assert.equal(classifyXmlRoot(text), expected));
  }
});
