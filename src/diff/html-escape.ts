// The one HTML escaper of the project: every piece of page or user text that diff output writes
// into HTML goes through these two functions. The rule they keep, on which the html_token
// mutation-XSS defence rests (html-token/safe-html.ts): no text and no attribute value we write
// contains `<` or `>`, so every `<` in our output starts a tag we wrote, whatever tokenizer state
// a browser re-parses it in. Hand-written because `entities` (parse5's escaper) leaves `<`/`>` in
// attribute values, and its `escapeUTF8` also escapes `'`, which would change every word we emit.

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\u00a0': '&nbsp;', '"': '&quot;' };
const TEXT_SPECIALS = /[&<>\u00a0]/g;
const ATTRIBUTE_SPECIALS = /[&"<>\u00a0]/g;
const escapeChar = (char: string): string => ESCAPES[char]!;

/** Text content (not inside a raw-text element such as `<script>` or `<style>`). */
export function escapeText(text: string): string {
  return text.replace(TEXT_SPECIALS, escapeChar);
}

/** A double-quoted attribute value. */
export function escapeAttribute(value: string): string {
  return value.replace(ATTRIBUTE_SPECIALS, escapeChar);
}
