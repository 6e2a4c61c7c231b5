// The JSON POST body {"a": {content_base64 | text, content_type, url}, "b": {...}}, read as it
// arrives: never `JSON.parse` of the whole body on the event loop (a 20 MB body nested 10⁷ deep
// stalled the main process for 8–10 s and took 1.4 GiB). stream-json's tokenizer turns each chunk
// into tokens, long strings arrive as pieces (stringChunk), and every token is checked against
// the nesting and value limits as it comes: a hostile body is refused at its first chunk beyond a
// limit, and reading stops there. The versions' content is decoded per piece (base64 in 4-character
// groups, text to UTF-8), so the main process holds the decoded bytes and a few KiB, not the body
// four times over (raw buffer, string, parsed strings, bytes).
import { StringDecoder } from 'node:string_decoder';
import { none, getManyValues, isMany } from 'stream-chain/defs.js';
import { jsonParser, type Token } from 'stream-json/core/parser.js';
import type { Body } from '../body.ts';
import { BadRequestError, TooLargeError } from '../errors.ts';
import type { BodyReservation } from '../ingest/index.ts';

/** Deepest nesting accepted anywhere in the body (the versions need 2). */
export const JSON_MAX_DEPTH = 32;
/** Most values (objects, arrays, strings, numbers, literals) in the body (the versions need about 10). */
export const JSON_MAX_VALUES = 10_000;
/** Longest object key, and longest `content_type` / `url`, in characters. */
export const JSON_MAX_KEY_CHARS = 256;
export const JSON_MAX_FIELD_CHARS = 8 * 1024;
/** Decoded text is gathered into pieces about this long before it becomes bytes. */
const PIECE_CHARS = 64 * 1024;

export type Side = 'a' | 'b';

export interface InlineVersion {
  /** The decoded content, in the pieces it was decoded in (see src/body.ts). */
  body: Body;
  contentType?: string;
  url?: string;
}

export interface JsonVersionLimits {
  /** Largest version, decoded (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Charged with the decoded bytes as they are made. */
  reservation?: BodyReservation | undefined;
  /** Called after each raw chunk has been parsed (and can be let go). */
  onChunkConsumed?: ((bytes: number) => void) | undefined;
}

type ContentField = 'content_base64' | 'text';
type TextField = 'content_type' | 'url';

/** Where a string value's pieces go. */
interface StringSink {
  write(piece: string): void;
  end(): void;
}

const IGNORED: StringSink = { write() {}, end() {} };

/** Decoded bytes of one content field, in pieces, charged as they are made. */
class ContentCollector implements StringSink {
  readonly parts: Buffer[] = [];
  byteLength = 0;
  #pending = '';
  readonly #field: ContentField;
  readonly #side: Side;
  readonly #limits: JsonVersionLimits;

  constructor(side: Side, field: ContentField, limits: JsonVersionLimits) {
    this.#side = side;
    this.#field = field;
    this.#limits = limits;
  }

  write(piece: string): void {
    this.#pending += piece;
    if (this.#pending.length >= PIECE_CHARS) this.#flush(false);
  }

  end(): void {
    this.#flush(true);
  }

  #flush(final: boolean): void {
    let text = this.#pending;
    if (this.#field === 'content_base64') {
      // Whole 4-character groups decode the same alone as inside the whole string; characters
      // outside the alphabets (whitespace, padding) are skipped, as Buffer.from(…, 'base64') does.
      text = text.replace(/[^A-Za-z0-9+/\-_]/g, '');
      const whole = final ? text.length : text.length - (text.length % 4);
      this.#pending = text.slice(whole);
      this.#add(Buffer.from(text.slice(0, whole), 'base64'));
      return;
    }
    // A surrogate pair may be split between two pieces (an escaped \ud83d\ude00 arrives as two).
    const last = text.charCodeAt(text.length - 1);
    const keep = !final && last >= 0xd800 && last <= 0xdbff ? 1 : 0;
    this.#pending = text.slice(text.length - keep);
    this.#add(Buffer.from(text.slice(0, text.length - keep), 'utf8'));
  }

  #add(bytes: Buffer): void {
    if (bytes.byteLength === 0) return;
    this.byteLength += bytes.byteLength;
    if (this.byteLength > this.#limits.maxBodyBytes) throw tooLargeSide(this.#side, this.#limits.maxBodyBytes);
    this.#limits.reservation?.charge(bytes.byteLength);
    this.parts.push(bytes);
  }
}

/** A short string field (content_type, url). */
class ShortString implements StringSink {
  value = '';
  readonly #name: string;
  constructor(name: string) {
    this.#name = name;
  }
  write(piece: string): void {
    this.value += piece;
    if (this.value.length > JSON_MAX_FIELD_CHARS) throw new BadRequestError(`\`${this.#name}\` is longer than ${JSON_MAX_FIELD_CHARS} characters`, { param: this.#name });
  }
  end(): void {}
}

interface SideFields {
  content_base64?: ContentCollector;
  text?: ContentCollector;
  content_type?: ShortString;
  url?: ShortString;
}

interface Frame {
  kind: 'object' | 'array';
  /** The key whose value comes next (objects). */
  key: string | undefined;
  /** Set on the object of version `a` or `b`. */
  side?: Side;
}

export function tooLargeSide(side: string, maxBodyBytes: number): TooLargeError {
  return new TooLargeError(`Version \`${side}\` is larger than ${maxBodyBytes} bytes (MAX_BODY_BYTES)`, { limit: 'body', side, max_size: maxBodyBytes });
}

function invalidJson(problem: string): BadRequestError {
  return new BadRequestError(`The request body is not valid JSON (${problem})`);
}

/** Reads the JSON versions from the body's chunks; throws BadRequestError (400) or TooLargeError (413) as soon as the body breaks a rule. */
export async function readJsonVersions(body: AsyncIterable<Buffer>, limits: JsonVersionLimits): Promise<Partial<Record<Side, InlineVersion>>> {
  const reader = new JsonVersionsReader(limits);
  for await (const chunk of body) {
    reader.write(chunk);
    limits.onChunkConsumed?.(chunk.byteLength);
  }
  return reader.end();
}

/** The token state machine, one chunk at a time (exported for tests). */
export class JsonVersionsReader {
  readonly #limits: JsonVersionLimits;
  readonly #decoder = new StringDecoder('utf8');
  readonly #parse = jsonParser({ packValues: false, streamValues: true });
  readonly #stack: Frame[] = [];
  readonly #fields: Partial<Record<Side, SideFields>> = {};
  #values = 0;
  #key: string | undefined;
  #sink: StringSink | undefined;
  #sawTop = false;

  constructor(limits: JsonVersionLimits) {
    this.#limits = limits;
  }

  write(chunk: Buffer): void {
    this.#consume(this.#tokens(() => this.#parse(this.#decoder.write(chunk))));
  }

  end(): Partial<Record<Side, InlineVersion>> {
    const rest = this.#decoder.end();
    if (rest !== '') this.#consume(this.#tokens(() => this.#parse(rest)));
    this.#consume(this.#tokens(() => this.#parse(none as unknown as string)));
    if (!this.#sawTop || this.#stack.length > 0) throw invalidJson('it ends before the object is complete');
    const versions: Partial<Record<Side, InlineVersion>> = {};
    for (const side of ['a', 'b'] as const) {
      const fields = this.#fields[side];
      if (fields === undefined) continue;
      const content = fields.content_base64 ?? fields.text;
      if (content === undefined) throw new BadRequestError(`\`${side}\` needs content_base64 or text`);
      versions[side] = {
        body: { chunks: content.parts, byteLength: content.byteLength },
        // Without a declared type the bytes decide (JSON `text` is UTF-8, which decoding detects).
        ...(fields.content_type === undefined ? {} : { contentType: fields.content_type.value }),
        ...(fields.url === undefined ? {} : { url: fields.url.value }),
      };
    }
    return versions;
  }

  #tokens(run: () => unknown): Token[] {
    let result: unknown;
    try {
      result = run();
    } catch (err) {
      throw invalidJson(err instanceof Error ? err.message.replace(/^Parser cannot parse input: /, '') : 'malformed');
    }
    if (result === none || result === undefined) return [];
    return isMany(result) ? (getManyValues(result) as Token[]) : [result as Token];
  }

  #consume(tokens: Token[]): void {
    for (const token of tokens) this.#token(token);
  }

  #token(token: Token): void {
    switch (token.name) {
      case 'startKey':
        this.#key = '';
        return;
      case 'endKey':
        this.#top()!.key = this.#key;
        this.#key = undefined;
        return;
      case 'stringChunk':
        if (this.#key !== undefined) {
          this.#key += token.value;
          if (this.#key.length > JSON_MAX_KEY_CHARS) throw new BadRequestError(`The JSON body has a key longer than ${JSON_MAX_KEY_CHARS} characters`);
        } else this.#sink?.write(token.value);
        return;
      case 'startString':
        this.#sink = this.#stringSink();
        return;
      case 'endString':
        this.#sink?.end();
        this.#sink = undefined;
        return;
      case 'startObject':
      case 'startArray':
        this.#startContainer(token.name === 'startObject' ? 'object' : 'array');
        return;
      case 'endObject':
      case 'endArray':
        this.#stack.pop();
        return;
      case 'startNumber':
      case 'nullValue':
      case 'trueValue':
      case 'falseValue':
        this.#scalar('a number or literal');
        return;
      default:
        // numberChunk, endNumber, whitespace: nothing to check or keep.
        return;
    }
  }

  #top(): Frame | undefined {
    return this.#stack[this.#stack.length - 1];
  }

  /** Counts one value and checks it may stand where it is; returns the side and field it is the value of, if any. */
  #countValue(): { side?: Side; field?: string; topKey?: string } {
    this.#values += 1;
    if (this.#values > JSON_MAX_VALUES) throw new BadRequestError(`The JSON body has more than ${JSON_MAX_VALUES} values; send only {"a": {...}, "b": {...}}`, { limit: 'json_values', max_values: JSON_MAX_VALUES });
    const top = this.#top();
    if (top === undefined) {
      if (this.#sawTop) throw invalidJson('more than one value');
      this.#sawTop = true;
      return {};
    }
    if (this.#stack.length === 1 && top.kind === 'object' && top.key !== undefined) return { topKey: top.key };
    if (top.side !== undefined && top.key !== undefined) return { side: top.side, field: top.key };
    return {};
  }

  #startContainer(kind: 'object' | 'array'): void {
    const place = this.#countValue();
    if (this.#stack.length === 0 && kind !== 'object') throw new BadRequestError('The JSON body must be an object {"a": {...}, "b": {...}}');
    let side: Side | undefined;
    if (place.topKey === 'a' || place.topKey === 'b') {
      if (kind !== 'object') throw sideNotObject(place.topKey);
      if (this.#fields[place.topKey] !== undefined) throw new BadRequestError(`\`${place.topKey}\` appears twice in the JSON body`);
      side = place.topKey;
      this.#fields[side] = {};
    } else if (place.side !== undefined) this.#refuseNonString(place.side, place.field!);
    if (this.#stack.length + 1 > JSON_MAX_DEPTH) {
      throw new BadRequestError(`The JSON body is nested deeper than ${JSON_MAX_DEPTH} levels`, { limit: 'json_depth', max_depth: JSON_MAX_DEPTH });
    }
    this.#stack.push({ kind, key: undefined, ...(side === undefined ? {} : { side }) });
  }

  #scalar(what: string): void {
    const place = this.#countValue();
    if (this.#stack.length === 0) throw new BadRequestError('The JSON body must be an object {"a": {...}, "b": {...}}');
    if (place.topKey === 'a' || place.topKey === 'b') throw sideNotObject(place.topKey);
    if (place.side !== undefined) this.#refuseNonString(place.side, place.field!);
    void what;
  }

  #refuseNonString(side: Side, field: string): void {
    if (field === 'content_base64' || field === 'text' || field === 'content_type' || field === 'url') {
      throw new BadRequestError(`\`${side}.${field}\` must be a string`, { param: `${side}.${field}` });
    }
  }

  #stringSink(): StringSink {
    const place = this.#countValue();
    if (this.#stack.length === 0) throw new BadRequestError('The JSON body must be an object {"a": {...}, "b": {...}}');
    if (place.topKey === 'a' || place.topKey === 'b') throw sideNotObject(place.topKey);
    if (place.side === undefined) return IGNORED;
    const fields = this.#fields[place.side]!;
    const field = place.field!;
    if (field !== 'content_base64' && field !== 'text' && field !== 'content_type' && field !== 'url') return IGNORED;
    if (fields[field] !== undefined) throw new BadRequestError(`\`${place.side}.${field}\` appears twice in the JSON body`);
    if (field === 'content_base64' || field === 'text') return (fields[field] = new ContentCollector(place.side, field, this.#limits));
    return (fields[field as TextField] = new ShortString(`${place.side}.${field}`));
  }
}

function sideNotObject(side: Side): BadRequestError {
  return new BadRequestError(`\`${side}\` must be an object with content_base64 or text`);
}
