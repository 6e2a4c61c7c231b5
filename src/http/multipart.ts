// Versions POSTed as multipart/form-data (parts `a` and `b`). Each part keeps its raw bytes and its
// whole Content-Type header, charset included, so an inline version is sniffed and decoded exactly
// like a GET upstream's body. busboy 1.x cannot give either: its `info.mimeType` drops the
// parameters, and it decodes a part without a filename with the charset itself. So the parts are
// split by Dicer (the multipart splitter @fastify/busboy maintains and exports: raw headers, raw
// byte streams, preamble and epilogue handled) and each part's Content-Disposition is read with
// `content-disposition` (the HTML form-data escapes included).
import type { Readable } from 'node:stream';
import { Dicer } from '@fastify/busboy';
import { parse as parseContentDisposition } from 'content-disposition';
import { MIMEType } from 'whatwg-mimetype';
import { BodyCollector, type Body } from '../body.ts';
import { BadRequestError, TooLargeError } from '../errors.ts';

export interface MultipartVersion {
  /** The part's bytes, in chunks (see src/body.ts). */
  body: Body;
  /** The part's Content-Type header as sent (absent when the part has none: the bytes decide). */
  contentType?: string;
}

/** More parts than this is not a diff request; a part costs little, but nothing needs more. */
const MAX_PARTS = 16;
/** Header lines per part (a part needs two: Content-Disposition and Content-Type). */
const MAX_HEADER_PAIRS = 16;

const malformed = () => new BadRequestError('Malformed multipart/form-data request');

/**
 * Reads parts `a` and `b` from a multipart body; other parts are read and dropped. A part over
 * `maxBodyBytes` fails with 413 at its first byte beyond (a part of exactly that size passes).
 * The body stream's own errors (the POST cap, a client gone) are passed on unchanged.
 */
export function readMultipartVersions(body: Readable, requestContentType: string | undefined, maxBodyBytes: number): Promise<Partial<Record<'a' | 'b', MultipartVersion>>> {
  return new Promise((resolve, reject) => {
    const boundary = MIMEType.parse(requestContentType ?? '')?.parameters.get('boundary');
    // RFC 2046 §5.1.1: 1 to 70 characters.
    if (boundary === undefined || boundary.length === 0 || boundary.length > 70) {
      reject(new BadRequestError('A multipart/form-data request needs a `boundary` parameter of 1 to 70 characters in its Content-Type'));
      return;
    }
    const versions: Partial<Record<'a' | 'b', MultipartVersion>> = {};
    let parts = 0;
    /** Parts `a`/`b` whose bytes are still arriving: the answer waits for them and for the end of the body. */
    let reading = 0;
    let finished = false;
    let failed = false;
    const settleIfDone = () => {
      if (finished && reading === 0 && !failed) resolve(versions);
    };
    const splitter = new Dicer({ boundary, maxHeaderPairs: MAX_HEADER_PAIRS });
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      body.unpipe(splitter);
      body.destroy();
      splitter.destroy();
      reject(err);
    };
    splitter.on('part', (part) => {
      part.on('error', () => fail(malformed()));
      parts += 1;
      if (parts > MAX_PARTS) {
        fail(new BadRequestError(`A diff request has at most ${MAX_PARTS} multipart parts (\`a\` and \`b\` are used)`));
        return;
      }
      part.once('header', (header) => {
        const headers = header as Record<string, string[] | undefined>;
        let name: string | undefined;
        try {
          name = partName(headers['content-disposition']?.[0]);
        } catch {
          return fail(malformed());
        }
        if (name !== 'a' && name !== 'b') {
          part.resume(); // not a version: read past it
          return;
        }
        const contentType = headers['content-type']?.[0];
        const collected = new BodyCollector();
        reading += 1;
        part.on('data', (chunk: Buffer) => {
          if (collected.byteLength + chunk.byteLength > maxBodyBytes) return fail(new TooLargeError(`Version \`${name}\` is larger than ${maxBodyBytes} bytes (MAX_BODY_BYTES)`, { limit: 'body', side: name, max_size: maxBodyBytes }));
          collected.add(chunk);
        });
        // The last part of a name wins, as for repeated query parameters.
        part.on('end', () => {
          reading -= 1;
          if (failed) return;
          versions[name] = { body: collected.take(), ...(contentType ? { contentType } : {}) };
          settleIfDone();
        });
      });
    });
    splitter.on('error', () => fail(malformed()));
    // Dicer emits 'error' (not only 'finish') for a body that ends before its closing boundary.
    splitter.on('finish', () => {
      finished = true;
      setImmediate(settleIfDone);
    });
    // Over the POST cap, or the client went away: the counted stream fails with the reason.
    body.on('error', fail);
    body.pipe(splitter);
  });
}

/** The `name` of a `form-data` part; undefined for anything else (such parts are skipped, as browsers never send them). */
function partName(disposition: string | undefined): string | undefined {
  if (disposition === undefined) return undefined;
  const parsed = parseContentDisposition(disposition, { multipart: true });
  return parsed.type === 'form-data' ? parsed.parameters.name : undefined;
}
