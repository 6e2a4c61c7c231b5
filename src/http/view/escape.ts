// HTML building for the viewer's own markup: a tagged template whose interpolations go through the
// project's one HTML escaper (src/diff/html-escape.ts), and the fast escaper for a whole page in `srcdoc`.
import { escapeAttribute } from '../../diff/html-escape.ts';

/** Escapes text for an HTML text node or a double-quoted attribute value (the viewer writes no other kind). */
export function escapeHtml(value: string): string {
  return escapeAttribute(value);
}

/**
 * For a large value inside a double-quoted attribute (a whole page in `srcdoc`): there only `"`
 * ends the value and `&` starts a reference, so escaping those two is enough, and it is several
 * times faster than escapeHtml on a page-sized string, with a smaller result.
 */
export function escapeQuotedAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;');
}

/** A tagged template whose interpolations are escaped, except those wrapped in `raw()`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): RawHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += toHtml(value) + strings[i + 1]!;
  });
  return new RawHtml(out);
}

/** Markup that is already safe (built by `html` or by this module's callers from escaped parts). */
export class RawHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

export function raw(value: string): RawHtml {
  return new RawHtml(value);
}

function toHtml(value: unknown): string {
  if (value instanceof RawHtml) return value.value;
  if (Array.isArray(value)) return value.map(toHtml).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}
