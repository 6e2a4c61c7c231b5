// Known mutation-XSS payloads and a check of what a browser would find in our output, shared by
// the pure-function test (safety.test.ts) and the one through the service (service-safety.test.ts).
import { parse, serialize } from 'parse5';
import { getAttribute, isElement, walk, type Element, type Node } from '../../../src/diff/html-parse.ts';
import { INERT_SCRIPT_TYPE } from '../../../src/diff/html-token/safe-html.ts';

/** Known mutation-XSS and script-smuggling payloads (namespace confusion, raw-text elements, URL tricks). */
export const PAYLOADS = [
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>',
  '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror=alert(1)&gt;">',
  '<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title="</style><img src onerror=alert(1)>"></style></h1>',
  '<math><mi><mglyph><svg><mtext><style><path id="</style><img onerror=alert(1) src>">',
  '<math><annotation-xml encoding="text/html"><style><img src=x onerror=alert(1)></style></annotation-xml></math>',
  '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
  '<svg><p><style><img src=x onerror=alert(1)></style></p></svg>',
  '<svg><foreignObject><math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  ...['xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext', 'script', 'style'].map(
    (name) => `<math><mtext><table><mglyph><${name}><img src=x onerror=alert(1)></${name}>`,
  ),
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
  '<noscript><img src=x onerror=alert(1)></noscript>',
  '<noscript><a title="&lt;/noscript&gt;&lt;img src=x onerror=alert(1)&gt;">x</a></noscript>',
  '<noscript><noscript></noscript><img src=x onerror=alert(1)><style></noscript><img src=y onerror=alert(2)></style></noscript>',
  '<noscript><iframe src="data:text/html,<script>alert(1)</script>"></iframe><a href="javascript:alert(2)">x</a></noscript>',
  '<select><template><style><img src=x onerror=alert(1)></style></template></select>',
  '<select><iframe><img src=x onerror=alert(1)></iframe></select>',
  '<table><style><img src=x onerror=alert(1)></style></table>',
  '<svg><![CDATA[</svg><img src=x onerror=alert(1)>]]></svg>',
  '<!--><img src=x onerror=alert(1)>-->',
  '<title><img src=x onerror=alert(1)></title><textarea><img src=x onerror=alert(1)></textarea>',
  '<svg><a><animate attributeName="href" values="https://a/;javascript:alert(1)"/><text y="20">x</text></a></svg>',
  '<svg><a><set attributeName="xlink:href" to="javascript:alert(1)"/><text y="20">x</text></a></svg>',
  '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>',
  '<iframe src=" DATA:text/html,<script>alert(1)</script>" sandbox="allow-scripts allow-same-origin"></iframe>',
  '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
  '<embed src="data:image/svg+xml,<svg onload=alert(1)>">',
  '<noscript><meta http-equiv="refresh" content="0;url=https://example.com/"><link rel=stylesheet href="/x.css"></noscript>',
  '<a href="&#x6A;avascript:alert(1)">a</a><a href="java&#x09;script:alert(2)">b</a><a href="javascript&colon;alert(3)">c</a>',
  '<a href="jav&#x09;ascript:alert(1)">g</a><iframe src="da&#x0A;ta:text/html,<script>alert(1)</script>"></iframe><constructor href="data:x" onclick="alert(1)"></constructor>',
  '<a href=" &#x20;&#x0A;javascript:alert(1)">d</a><a href="vbscript:x">e</a><a href="data:text/html,<script>alert(1)</script>">f</a>',
  '<form action="javascript:alert(1)"><button formaction="JaVaScRiPt:alert(2)">b</button><input type=image formaction="data:text/html,x"></form>',
  '<math href="javascript:alert(1)">x</math><svg><a xlink:href="javascript:alert(2)"><text>t</text></a></svg>',
  '<svg><script href="data:,alert(1)"/></svg><svg><use href="data:image/svg+xml,<svg id=\'x\'><image href=\'1\' onerror=\'alert(1)\'/></svg>#x"/></svg>',
  '<svg><use xlink:href="data:image/svg+xml;base64,PHN2ZyBpZD0neCc+PC9zdmc+#x"/><script xlink:href="DATA:,alert(1)"></script></svg>',
  '<svg><image href="data:text/html,<script>alert(1)</script>"/><filter><feImage xlink:href=" data:image/svg+xml,<svg onload=alert(1)>"/></filter></svg>',
  '<svg><animate attributeName="xlink:href" from="data:,a" to="data:image/svg+xml,<svg onload=alert(1)>"/><set attributeName="href" to="javascript:alert(2)"/></svg>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe><meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<script>alert(1)</script><script type="text/javascript">alert(2)</script><script type="module">alert(3)</script>',
  '<img src=x ONERROR=alert(1)><svg onload=alert(2)><circle onClick="alert(3)"/></svg><body onload=alert(4)>',
];

const JS_URL = /^(?:javascript|vbscript):/i;
const SVG_ANIMATIONS = new Set(['animate', 'set', 'animatemotion', 'animatetransform', 'animatecolor']);
const DOCUMENT_URL_ATTRIBUTES = new Map([['iframe', 'src'], ['frame', 'src'], ['object', 'data'], ['embed', 'src'], ['use', 'href'], ['script', 'href']]);
/** Elements whose `href`/`src` loads an image: a `data:` URL there must at least be an image. */
const IMAGE_URL_ATTRIBUTES = new Map([['img', 'src'], ['image', 'href'], ['feImage', 'href']]);

function problemsIn(root: Node): string[] {
  const problems: string[] = [];
  for (const event of walk(root)) {
    if (event.kind !== 'enter' || !isElement(event.node)) continue;
    const element: Element = event.node;
    const name = element.tagName;
    if (name === 'script' && getAttribute(element, 'type') !== INERT_SCRIPT_TYPE) problems.push(`executable <script type=${getAttribute(element, 'type')}>`);
    if (element.namespaceURI === 'http://www.w3.org/2000/svg' && SVG_ANIMATIONS.has(name.toLowerCase())) problems.push(`SVG <${name}>`);
    if (name === 'iframe' && getAttribute(element, 'sandbox') !== '') problems.push('iframe without sandox=""');
    for (const attr of element.attrs) {
      const value = attr.value.replace(/[\u0000-\u0020]/g, '');
      if (/^on/i.test(attr.name)) problems.push(`<${name} ${attr.name}>`);
      if (attr.name === 'srcdoc') problems.push(`<${name} srcdoc>`);
      if (JS_URL.test(value)) problems.push(`<${name} ${attr.name}="${attr.value}">`);
      if (DOCUMENT_URL_ATTRIBUTES.get(name) === attr.name && /^data:/i.test(value)) problems.push(`<${name} ${attr.name}="data:…">`);
      if (IMAGE_URL_ATTRIBUTES.get(name) === attr.name && /^data:/i.test(value) && !/^data:image\//i.test(value)) problems.push(`<${name} ${attr.name}="${value.slice(0, 20)}…">`);
      if (attr.name === 'http-equiv' && attr.value.trim().toLowerCase() === 'refresh') problems.push('meta refresh');
    }
  }
  return problems;
}

/** Problems a browser would find reading `html`: parsed with scripting on and off, and after a serialise/parse round trip. */
export function problemsReading(html: string): string[] {
  const problems: string[] = [];
  for (const scriptingEnabled of [true, false]) {
    const document = parse(html, { scriptingEnabled });
    problems.push(...problemsIn(document).map((p) => `scripting ${scriptingEnabled ? 'on' : 'off'}: ${p}`));
    const roundTrip = parse(serialize(document, { scriptingEnabled }), { scriptingEnabled });
    problems.push(...problemsIn(roundTrip).map((p) => `scripting ${scriptingEnabled ? 'on' : 'off'}, round trip: ${p}`));
  }
  return problems;
}

/** The page a payload is tested in: unchanged, inserted or deleted, in head (moved or kept by the parser) and body. */
export function payloadPairs(payload: string): [string, string][] {
  const page = (word: string, withPayload: boolean) =>
    `<!DOCTYPE html><html><head><title>t</title>${withPayload ? payload : ''}</head><body><p>Hello ${word}</p>${withPayload ? payload : ''}<p>End</p></body></html>`;
  return [
    [page('one', true), page('two', true)],
    [page('one', false), page('two', true)],
    [page('one', true), page('two', false)],
  ];
}

/** Pieces random payloads are made of: namespace switches, raw-text and integration-point elements, end tags, quotes, comments. */
export const FUZZ_PIECES = [
  '<math>', '<mtext>', '<mi>', '<mglyph>', '<malignmark>', '<table>', '<tr>', '<td>', '<style>', '<svg>', '<foreignObject>',
  '<desc>', '<title>', '<form>', '</form>', '<noscript>', '</noscript>', '<select>', '</select>', '<template>', '</template>',
  '<p>', '</p>', '<br>', '</br>', '<annotation-xml encoding="text/html">', '<xmp>', '<iframe>', '<noembed>', '<noframes>',
  '<textarea>', '<script>', '</script>', '</style>', '</math>', '</svg>', '<img src=x onerror=alert(1)>',
  '<a title="</style><img src=x onerror=alert(2)>">', '<!--', '-->', '<![CDATA[', ']]>', '"', "'", '<h1>', '<a>', '<h6>',
  '</a>', '</h6>', '<object>', '<embed src=data:x>', '<frameset>', '<plaintext>', '<option>', '<optgroup>', '<button>',
  '<div>', '</div>', '<li>', '<dd>', '&lt;img src=x onerror=alert(3)&gt;', '<font color=1>', '<b>', '</b>', '<nobr>',
  '<image>', '<body onload=alert(4)>', '<html>', '<head>', '<base href="javascript:alert(5)">',
  '<svg><a xlink:href="javascript:alert(6)">', '<set attributeName="href" to="javascript:alert(7)">',
];
