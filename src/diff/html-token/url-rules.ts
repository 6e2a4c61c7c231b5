// URL comparison rules for links and images (`url_rules`). Instead of a pairwise comparator
// (the anchor's approach), each rule *normalises* a URL, and tokens are compared by their
// normalised form. That lets the diff hash tokens into ids; it also means URLs equal only by a
// rule can seed a match, so such tokens match more often than in the anchor (documented).

export type UrlRuleName = 'jsessionid' | 'wayback' | 'wayback_uk';

export const URL_RULE_NAMES: readonly UrlRuleName[] = ['jsessionid', 'wayback', 'wayback_uk'];

export function isUrlRuleName(value: string): value is UrlRuleName {
  return (URL_RULE_NAMES as readonly string[]).includes(value);
}

// Java servlet session ids in the path (`/page;jsessionid=ABC123`): the first one is removed.
const JSESSIONID = /;jsessionid=[^;]*/;
// Wayback Machine memento URLs: compare only the archived URL, minus scheme and `www.`.
const WAYBACK = /web\/\d{14}(?:im_|js_|cs_)?\/(?:https?:\/\/)?(?:www.)?(.*)$/;
const WAYBACK_UK = /https:\/\/www\.webarchive\.org\.uk\/wayback\/en\/archive\/\d{14}(?:mp_|im_)?\/(?:https?:\/\/)?(?:www.)?(.*)$/;

function applyRule(url: string, rule: UrlRuleName): string {
  switch (rule) {
    case 'jsessionid':
      return url.replace(JSESSIONID, '');
    case 'wayback': {
      const match = WAYBACK.exec(url);
      // The prefix keeps an archived URL from ever equalling a live URL with the same text.
      return match === null ? url : `\u0000wayback:${match[1] ?? ''}`;
    }
    case 'wayback_uk': {
      const match = WAYBACK_UK.exec(url);
      return match === null ? url : `\u0000wayback:${match[1] ?? ''}`;
    }
  }
}

/** Normalises a URL under all listed rules (in order). No rules: the URL as written. */
export function normalizeUrl(url: string, rules: readonly UrlRuleName[]): string {
  let normalized = url;
  for (const rule of rules) normalized = applyRule(normalized, rule);
  return normalized;
}

const ASCII_WHITESPACE = /[\t\n\f\r ]/;

/**
 * URLs of a `srcset` attribute value, following the WHATWG candidate-parsing steps (a URL is a
 * run of non-whitespace, so `data:` URLs with commas survive; descriptors are skipped).
 * Hand-written: no installed library parses srcset.
 */
export function parseSrcset(value: string): string[] {
  const urls: string[] = [];
  let position = 0;
  const length = value.length;
  while (position < length) {
    // Skip whitespace and separating commas.
    while (position < length && (value[position] === ',' || ASCII_WHITESPACE.test(value[position]!))) position += 1;
    if (position >= length) break;
    const start = position;
    while (position < length && !ASCII_WHITESPACE.test(value[position]!)) position += 1;
    let url = value.slice(start, position);
    if (url.endsWith(',')) {
      // A URL ending in commas has no descriptors.
      url = url.replace(/,+$/, '');
    } else {
      // Skip descriptors up to the next comma outside parentheses.
      let inParens = false;
      while (position < length) {
        const char = value[position]!;
        if (char === '(') inParens = true;
        else if (char === ')') inParens = false;
        else if (char === ',' && !inParens) break;
        position += 1;
      }
    }
    if (url !== '') urls.push(url);
  }
  return urls;
}
