// Diff results as JSON text made in the worker. A big result (html_source_dmp of a 3.3 MiB page
// answers 12 MB) otherwise blocks the main event loop for 0.5–1 s: structured-clone
// deserialisation, JSON.stringify, and express's `json escape` pass (a regex replace with a
// callback per `<`, `>`, `&`). Made in the worker, it reaches the main process as one buffer.

const LESS_THAN = 0x3c;
const GREATER_THAN = 0x3e;
const AMPERSAND = 0x26;

function isEscaped(byte: number): boolean {
  return byte === LESS_THAN || byte === GREATER_THAN || byte === AMPERSAND;
}

/**
 * `JSON.stringify(value)` as UTF-8 with `<`, `>` and `&` written as `\u003c`, `\u003e`, `\u0026`:
 * byte for byte what express sends with `app.set('json escape', true)`, so markup inside the JSON
 * stays inert. Plain data (what diff types return) is written straight to bytes in one pass
 * (`writePlainJson`); anything else goes through JSON.stringify.
 */
export function escapedJsonBytes(value: unknown): Buffer {
  return plainJsonBytes(value) ?? escapedJsonText(JSON.stringify(value) ?? 'null');
}

/**
 * JSON text as UTF-8 with `<`, `>`, `&` escaped, for what is not plain data. Works on bytes: those
 * three are ASCII and never part of a multi-byte UTF-8 sequence, and a byte loop is ~4× faster than
 * the string replace.
 */
function escapedJsonText(text: string): Buffer {
  const raw = Buffer.from(text, 'utf8');
  let count = 0;
  for (let i = 0; i < raw.length; i += 1) if (isEscaped(raw[i]!)) count += 1;
  if (count === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + 5 * count);
  let o = 0;
  for (let i = 0; i < raw.length; i += 1) {
    const byte = raw[i]!;
    if (!isEscaped(byte)) {
      out[o++] = byte;
      continue;
    }
    // \u003c, \u003e, \u0026
    out[o++] = 0x5c;
    out[o++] = 0x75;
    out[o++] = 0x30;
    out[o++] = 0x30;
    out[o++] = byte === AMPERSAND ? 0x32 : 0x33;
    out[o++] = byte === LESS_THAN ? 0x63 : byte === GREATER_THAN ? 0x65 : 0x36;
  }
  return out;
}

// The one-pass writer. On an html_source_dmp result JSON.stringify, Buffer.from and the escape loop
// above cost ~3× its CPU: V8 holds a page with any character beyond Latin-1 as a two-byte string,
// which JSON.stringify escapes slowly, and each stage walks the whole text again.

/** Per ASCII code unit: 0 when written as itself, else the length of its escape in ESCAPE_BYTES. */
const ESCAPE_LENGTH = new Uint8Array(128);
/** Per ASCII code unit, 6 bytes from `code * 6`: its escape, padded. */
const ESCAPE_BYTES = new Uint8Array(128 * 6);
{
  const HEX = '0123456789abcdef';
  const set = (code: number, escape: string) => {
    ESCAPE_LENGTH[code] = escape.length;
    for (let k = 0; k < escape.length; k += 1) ESCAPE_BYTES[code * 6 + k] = escape.charCodeAt(k);
  };
  // JSON.stringify's: the short forms, else \u00xx (lower-case hex); then express's three.
  for (let code = 0; code < 0x20; code += 1) set(code, `\\u00${HEX[code >> 4]}${HEX[code & 15]}`);
  for (const [char, escape] of [['\b', '\\b'], ['\t', '\\t'], ['\n', '\\n'], ['\f', '\\f'], ['\r', '\\r'], ['"', '\\"'], ['\\', '\\\\'], ['<', '\\u003c'], ['>', '\\u003e'], ['&', '\\u0026']] as const) {
    set(char.charCodeAt(0), escape);
  }
}
const HEX_DIGITS = new Uint8Array([...'0123456789abcdef'].map((digit) => digit.charCodeAt(0)));

/** Code units encoded per capacity check: the output needs at most 6 bytes per code unit. */
const BLOCK_UNITS = 4096;
const MAX_BYTES_PER_UNIT = 6;
/** A block's code units (one more for a surrogate pair at its end; a longer run of high surrogates gets its own array). */
const blockUnits = new Uint16Array(BLOCK_UNITS + 1);
const blockUnitBytes = Buffer.from(blockUnits.buffer);
/** utf16le is little-endian; a Uint16Array reads in the machine's order. */
const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
/** Deeper nesting than diff results have goes to JSON.stringify (which also reports cycles). */
const MAX_PLAIN_DEPTH = 64;
/** The reused output buffer; one that grew past KEPT_SCRATCH_BYTES for a big result is let go after it. */
const INITIAL_SCRATCH_BYTES = 64 * 1024;
const KEPT_SCRATCH_BYTES = 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(INITIAL_SCRATCH_BYTES);
let scratchInUse = false;

class JsonWriter {
  bytes = scratch;
  length = 0;

  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  byte(code: number): void {
    this.reserve(1);
    this.bytes[this.length++] = code;
  }

  ascii(text: string): void {
    this.reserve(text.length);
    this.length += this.bytes.write(text, this.length, 'latin1');
  }

  string(text: string): void {
    const length = text.length;
    this.byte(0x22);
    for (let start = 0; start < length; ) {
      let end = Math.min(length, start + BLOCK_UNITS);
      // A surrogate pair is never split between blocks.
      while (end < length && isHighSurrogate(text.charCodeAt(end - 1))) end += 1;
      const count = end - start;
      this.reserve(count * MAX_BYTES_PER_UNIT + 1);
      // The code units, copied natively: reading a typed array is ~3× faster than charCodeAt here.
      const units = count <= blockUnits.length ? blockUnits : new Uint16Array(count);
      const unitBytes = units === blockUnits ? blockUnitBytes : Buffer.from(units.buffer);
      unitBytes.write(start === 0 && end === length ? text : text.slice(start, end), 0, count * 2, 'utf16le');
      if (BIG_ENDIAN) unitBytes.subarray(0, count * 2).swap16();
      this.length = encodeJsonUnits(units, count, this.bytes, this.length);
      start = end;
    }
    this.byte(0x22);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Writes UTF-16 code units as the inside of a JSON string, UTF-8, into `out` at `at` (with room for
 * 6 bytes per code unit); returns the end. As JSON.stringify: short escapes, \u00xx for other
 * control characters, a lone surrogate as \udxxx; and `<`, `>`, `&` as express escapes them.
 */
function encodeJsonUnits(units: Uint16Array, count: number, out: Uint8Array, at: number): number {
  let o = at;
  for (let i = 0; i < count; i += 1) {
    const code = units[i]!;
    if (code < 0x80) {
      const escapeLength = ESCAPE_LENGTH[code]!;
      if (escapeLength === 0) {
        out[o++] = code;
      } else {
        const e = code * 6;
        out[o] = ESCAPE_BYTES[e]!;
        out[o + 1] = ESCAPE_BYTES[e + 1]!;
        out[o + 2] = ESCAPE_BYTES[e + 2]!;
        out[o + 3] = ESCAPE_BYTES[e + 3]!;
        out[o + 4] = ESCAPE_BYTES[e + 4]!;
        out[o + 5] = ESCAPE_BYTES[e + 5]!;
        o += escapeLength;
      }
    } else if (code < 0x800) {
      out[o++] = 0xc0 | (code >> 6);
      out[o++] = 0x80 | (code & 0x3f);
    } else if (code < 0xd800 || code > 0xdfff) {
      out[o++] = 0xe0 | (code >> 12);
      out[o++] = 0x80 | ((code >> 6) & 0x3f);
      out[o++] = 0x80 | (code & 0x3f);
    } else {
      const next = i + 1 < count ? units[i + 1]! : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        out[o++] = 0xf0 | (point >> 18);
        out[o++] = 0x80 | ((point >> 12) & 0x3f);
        out[o++] = 0x80 | ((point >> 6) & 0x3f);
        out[o++] = 0x80 | (point & 0x3f);
        i += 1;
      } else {
        out[o++] = 0x5c;
        out[o++] = 0x75;
        out[o++] = HEX_DIGITS[code >> 12]!;
        out[o++] = HEX_DIGITS[(code >> 8) & 15]!;
        out[o++] = HEX_DIGITS[(code >> 4) & 15]!;
        out[o++] = HEX_DIGITS[code & 15]!;
      }
    }
  }
  return o;
}

/** JSON.rawJSON's objects (null prototype) are written as their text. */
const isRawJson: (value: object) => boolean = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON ?? (() => false);

/** Whether JSON.stringify leaves out this object property (and writes null for it in an array). */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * Writes plain data as JSON.stringify would: strings, numbers, booleans, null, arrays and objects
 * whose prototype is Array.prototype, Object.prototype or null, without toJSON. Returns false at
 * anything else (a Date, a boxed string, a raw JSON text, a BigInt, deep nesting or a cycle), for
 * JSON.stringify to handle.
 */
function writePlainJson(writer: JsonWriter, value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      writer.string(value);
      return true;
    case 'number':
      writer.ascii(Number.isFinite(value) ? String(value) : 'null');
      return true;
    case 'boolean':
      writer.ascii(value ? 'true' : 'false');
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) {
    writer.ascii('null');
    return true;
  }
  if (depth >= MAX_PLAIN_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const prototype = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return false;
    writer.byte(0x5b);
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) writer.byte(0x2c);
      const item: unknown = value[index];
      if (isOmitted(item)) writer.ascii('null');
      else if (!writePlainJson(writer, item, depth + 1)) return false;
    }
    writer.byte(0x5d);
    return true;
  }
  if (prototype !== Object.prototype && (prototype !== null || isRawJson(value))) return false;
  writer.byte(0x7b);
  let first = true;
  for (const key of Object.keys(value)) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (isOmitted(item)) continue;
    if (!first) writer.byte(0x2c);
    first = false;
    writer.string(key);
    writer.byte(0x3a);
    if (!writePlainJson(writer, item, depth + 1)) return false;
  }
  writer.byte(0x7d);
  return true;
}

/** `escapedJsonBytes` of plain data, in one pass; undefined when `value` is not plain data. */
function plainJsonBytes(value: unknown): Buffer | undefined {
  // A getter that serialises again (re-entry) would write over the scratch buffer in use.
  if (value === null || typeof value !== 'object' || scratchInUse) return undefined;
  scratchInUse = true;
  const writer = new JsonWriter();
  try {
    if (!writePlainJson(writer, value, 0)) return undefined;
    const json = Buffer.allocUnsafe(writer.length);
    writer.bytes.copy(json, 0, 0, writer.length);
    return json;
  } finally {
    scratch = writer.bytes.length <= KEPT_SCRATCH_BYTES ? writer.bytes : Buffer.allocUnsafeSlow(INITIAL_SCRATCH_BYTES);
    scratchInUse = false;
  }
}

/**
 * The JSON text of `{...head, ...result, ...tail}`, where `result` is already escaped JSON object
 * text (from `escapedJsonBytes` in the worker). A key of `result` repeated in `tail` appears twice
 * and, as with the spread, the last one wins when parsed.
 */
export function spliceJsonObject(head: Record<string, unknown>, resultJson: Uint8Array, tail: Record<string, unknown>): Buffer {
  const result = Buffer.from(resultJson.buffer, resultJson.byteOffset, resultJson.byteLength);
  if (result[0] !== 0x7b || result[result.length - 1] !== 0x7d) throw new TypeError('the diff result is not a JSON object');
  const parts: Buffer[] = [];
  const add = (object: Buffer) => {
    const inner = object.subarray(1, object.length - 1);
    if (inner.length === 0) return;
    parts.push(Buffer.from(parts.length === 0 ? '{' : ','), inner);
  };
  add(escapedJsonBytes(head));
  add(result);
  add(escapedJsonBytes(tail));
  parts.push(Buffer.from(parts.length === 0 ? '{}' : '}'));
  return Buffer.concat(parts);
}

/**
 * `spliceJsonObject` without the copy: the chunks to write, in order, for `{...head, ...result, ...tail}`,
 * where `resultChunks` are the result's escaped JSON object text as it came from the worker
 * (JsonJobResult.chunks). Write them to the socket one by one (with back-pressure); nothing is
 * concatenated, so a 12 MB answer costs the main thread no copy.
 */
export function spliceJsonChunks(head: Record<string, unknown>, resultChunks: readonly Buffer[], tail: Record<string, unknown>): Buffer[] {
  const result = resultChunks.filter((chunk) => chunk.length > 0);
  const first = result[0];
  const last = result.at(-1);
  if (first === undefined || last === undefined || first[0] !== 0x7b || last[last.length - 1] !== 0x7d) throw new TypeError('the diff result is not a JSON object');
  const headInner = escapedJsonBytes(head).subarray(1, -1);
  const tailInner = escapedJsonBytes(tail).subarray(1, -1);
  // The result without its braces, as views of its chunks.
  const inner = result.map((chunk, index) => chunk.subarray(index === 0 ? 1 : 0, index === result.length - 1 ? chunk.length - 1 : chunk.length)).filter((chunk) => chunk.length > 0);
  const parts: Buffer[] = [];
  const add = (chunks: Buffer[]) => {
    if (chunks.every((chunk) => chunk.length === 0)) return;
    parts.push(Buffer.from(parts.length === 0 ? '{' : ','), ...chunks);
  };
  add([headInner]);
  add(inner);
  add([tailInner]);
  parts.push(Buffer.from(parts.length === 0 ? '{}' : '}'));
  return parts;
}
