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
 * stays inert. Works on bytes: those three are ASCII and never part of a multi-byte UTF-8 sequence,
 * and a byte loop is ~4× faster than the string replace.
 */
export function escapedJsonBytes(value: unknown): Buffer {
  const raw = Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
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
