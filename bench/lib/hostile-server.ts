// The hostile upstreams of `npm run hostile`: one loopback node:http server whose routes replay
// the incident (PDF vs HTML, huge and endless bodies, gzip bomb, lying headers, slow drip,
// redirects, deep nesting...). Every route counts the body bytes it handed to the socket, per
// `c` (case id) query parameter, so each case reports what the service actually read.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip } from 'node:zlib';
import { buildScaledPair, corpusWords, wordSalad, type PagePair } from './corpus.ts';

const MiB = 1024 * 1024;

export interface HostilePayloads {
  pdf: Buffer;
  randomBlobs: [Buffer, Buffer];
  gzipBomb: Buffer;
  /** The same, of spaces: text, so it is not refused as binary before the size and ratio limits act. */
  gzipTextBomb: Buffer;
  gzipBombInflatedBytes: number;
  deep: [Buffer, Buffer];
  longLine: [Buffer, Buffer];
  unrelatedTexts: [Buffer, Buffer];
  /** Two unrelated texts just under MAX_CHANGED_CHARS: diff-match-patch's worst case that is still diffed. */
  unrelatedSmallTexts: [Buffer, Buffer];
  pages: readonly PagePair[];
  oneMiBPages: { a: Buffer; b: Buffer };
  /** One element with 1 000 000 distinct attributes (≈7 MB): parse cost that element counts miss. */
  manyAttributes: [Buffer, Buffer];
  /** 60 000 short paragraphs (≈3.3 MB): a page of ordinary size whose parse tree is large. */
  manyParagraphs: [Buffer, Buffer];
  /** A 4 MB text and the same with one word changed: a cheap diff with a large (≈4 MB) answer. */
  bigText: [Buffer, Buffer];
}

/** A small but well-formed one-page PDF with a binary (random) stream, as real PDFs have. */
export function buildPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null, // content stream, below
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    null, // binary stream
  ];
  const text = 'BT /F1 24 Tf 72 700 Td (Report on environmental regulation) Tj ET';
  const binary = randomBytes(24 * 1024);
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let length = parts[0]!.byteLength;
  const push = (chunk: Buffer) => {
    parts.push(chunk);
    length += chunk.byteLength;
  };
  objects.forEach((body, index) => {
    offsets.push(length);
    const n = index + 1;
    if (n === 4) push(Buffer.from(`${n} 0 obj\n<< /Length ${text.length} >>\nstream\n${text}\nendstream\nendobj\n`, 'latin1'));
    else if (n === 6) {
      push(Buffer.from(`${n} 0 obj\n<< /Length ${binary.byteLength} /Filter /FlateDecode >>\nstream\n`, 'latin1'));
      push(binary);
      push(Buffer.from('\nendstream\nendobj\n', 'latin1'));
    } else push(Buffer.from(`${n} 0 obj\n${body}\nendobj\n`, 'latin1'));
  });
  const xref = length;
  const table = offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  push(Buffer.from(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${table}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

/** 1 GiB of `fill` bytes gzipped (≈1 MiB), made once, streaming so the GiB never exists in memory. */
export async function buildGzipBomb(inflatedBytes = 1024 * MiB, fill = 0): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  const zeros = Buffer.alloc(MiB, fill);
  for (let written = 0; written < inflatedBytes; written += zeros.byteLength) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await done;
  return Buffer.concat(out);
}

/** Under MAX_TEXT_CHARS and with one change, so html_source_dmp answers it cheaply and in full. */
function bigTextPair(words: readonly string[]): [Buffer, Buffer] {
  const a = wordSalad(words, 4_000_000, 505, 12);
  const middle = a.indexOf(0x20, a.length >> 1);
  return [a, Buffer.concat([a.subarray(0, middle), Buffer.from(' CHANGED'), a.subarray(middle)])];
}

/**
 * Malformed upstream answers, written raw to the socket (node:http would refuse to send them):
 * each must become 502 UPSTREAM_ERROR, never 500.
 */
export const MALFORMED_RESPONSES: Readonly<Record<string, string>> = {
  // A chunk size beyond any integer type.
  'chunk-overflow': 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n<p>never</p>\r\n0\r\n\r\n',
  'negative-length': 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: -1\r\n\r\n<p>body</p>',
  'garbage-status': 'SSH-2.0-OpenSSH_9.6\r\n\r\n<p>not http</p>',
};

export async function buildHostilePayloads(pages: readonly PagePair[]): Promise<HostilePayloads> {
  const words = corpusWords(pages);
  const html = (inner: string) => `<!DOCTYPE html><html><head><title>t</title></head><body>${inner}</body></html>`;
  const deep = (label: string) => Buffer.from(html(`${'<div>'.repeat(100_000)}<p>deepest text, version ${label}</p>`));
  // The same 10 MB line on both sides, `b` with one word inserted in the middle.
  const line = wordSalad(words, 10_000_000 - 200, 7).toString('latin1');
  const longLine = (change: boolean) => {
    const middle = line.indexOf(' ', line.length >> 1);
    return Buffer.from(html(`<p>${change ? `${line.slice(0, middle)} CHANGED${line.slice(middle)}` : line}</p>`), 'latin1');
  };
  const gzipBombInflatedBytes = 1024 * MiB;
  const manyAttributes = (label: string) => {
    const attributes = Array.from({ length: 1_000_000 }, (_, i) => `${i.toString(36)}=1`).join(' ');
    return Buffer.from(html(`<p ${attributes}>version ${label}</p>`));
  };
  const manyParagraphs = (label: string) =>
    Buffer.from(html(Array.from({ length: 60_000 }, (_, i) => `<p>${i === 30_000 ? label : words[i % words.length]} ${i}</p>`).join('\n')));
  return {
    pdf: buildPdf(),
    randomBlobs: [randomBytes(8 * MiB), randomBytes(8 * MiB)],
    gzipBomb: await buildGzipBomb(gzipBombInflatedBytes),
    gzipTextBomb: await buildGzipBomb(gzipBombInflatedBytes, 0x20),
    gzipBombInflatedBytes,
    deep: [deep('a'), deep('b')],
    longLine: [longLine(false), longLine(true)],
    unrelatedTexts: [wordSalad(words, 5_000_000, 101, 12), wordSalad(words, 5_000_000, 202, 12)],
    unrelatedSmallTexts: [wordSalad(words, 500_000, 303, 12), wordSalad(words, 500_000, 404, 12)],
    pages,
    oneMiBPages: buildScaledPair(pages, MiB),
    manyAttributes: [manyAttributes('a'), manyAttributes('b')],
    manyParagraphs: [manyParagraphs('before'), manyParagraphs('after')],
    bigText: bigTextPair(words),
  };
}

export interface HostileServer {
  baseUrl: string;
  /** Body bytes handed to the socket for case `caseId` (all its requests). */
  bytesFor(caseId: string): number;
  /** Requests received for case `caseId`. */
  requestsFor(caseId: string): number;
  close(): Promise<void>;
}

const BIG_PDF_BYTES = 50 * MiB;
const SLOW_DRIP_MAX_BYTES = 120; // 1 byte/s: two minutes at most, far beyond any upstream timeout

export async function startHostileServer(payloads: HostilePayloads): Promise<HostileServer> {
  const bytes = new Map<string, number>();
  const requests = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const count = (caseId: string, n: number) => bytes.set(caseId, (bytes.get(caseId) ?? 0) + n);

  /** Writes one chunk, waiting for the socket to drain; false once the client has gone. */
  const write = (res: ServerResponse, caseId: string, chunk: Buffer): Promise<boolean> =>
    new Promise((resolve) => {
      if (res.destroyed || res.writableEnded) {
        resolve(false);
        return;
      }
      const onClose = () => resolve(false);
      res.once('close', onClose);
      const flushed = res.write(chunk, (err) => {
        if (!err) count(caseId, chunk.byteLength);
      });
      if (flushed) {
        res.off('close', onClose);
        resolve(true);
      } else {
        res.once('drain', () => {
          res.off('close', onClose);
          resolve(true);
        });
      }
    });

  /** A whole body with its Content-Length, in 64 KiB chunks so an early hang-up is counted exactly. */
  const sendWhole = async (res: ServerResponse, caseId: string, body: Buffer, headers: Record<string, string | number>) => {
    res.writeHead(200, { 'content-length': body.byteLength, ...headers });
    for (let offset = 0; offset < body.byteLength; offset += 64 * 1024) {
      if (!(await write(res, caseId, body.subarray(offset, offset + 64 * 1024)))) return;
    }
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const caseId = url.searchParams.get('c') ?? 'unattributed';
    requests.set(caseId, (requests.get(caseId) ?? 0) + 1);
    const ct = url.searchParams.get('ct');
    const route = url.pathname;

    const page = /^\/page\/(\d+)\.(a|b)\.html$/.exec(route);
    if (page !== null) {
      const pair = payloads.pages[Number(page[1]) % payloads.pages.length]!;
      await sendWhole(res, caseId, page[2] === 'a' ? pair.a : pair.b, { 'content-type': 'text/html; charset=utf-8' });
      return;
    }
    switch (route) {
      case '/pdf':
        await sendWhole(res, caseId, payloads.pdf, { 'content-type': ct ?? 'application/pdf' });
        return;
      case '/random/1':
      case '/random/2':
        await sendWhole(res, caseId, payloads.randomBlobs[route.endsWith('1') ? 0 : 1], { 'content-type': 'text/html' });
        return;
      case '/deep/a':
      case '/deep/b':
        await sendWhole(res, caseId, payloads.deep[route.endsWith('a') ? 0 : 1], { 'content-type': 'text/html; charset=utf-8' });
        return;
      case '/long-line/a':
      case '/long-line/b':
        await sendWhole(res, caseId, payloads.longLine[route.endsWith('a') ? 0 : 1], { 'content-type': 'text/html; charset=utf-8' });
        return;
      case '/text/1':
      case '/text/2':
        await sendWhole(res, caseId, payloads.unrelatedTexts[route.endsWith('1') ? 0 : 1], { 'content-type': 'text/plain; charset=utf-8' });
        return;
      case '/small-text/1':
      case '/small-text/2':
        await sendWhole(res, caseId, payloads.unrelatedSmallTexts[route.endsWith('1') ? 0 : 1], { 'content-type': 'text/plain; charset=utf-8' });
        return;
      case '/scaled/a':
      case '/scaled/b':
        await sendWhole(res, caseId, route.endsWith('a') ? payloads.oneMiBPages.a : payloads.oneMiBPages.b, { 'content-type': 'text/html; charset=utf-8' });
        return;
      case '/gzip-bomb':
        await sendWhole(res, caseId, payloads.gzipBomb, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        return;
      case '/gzip-bomb/text':
        await sendWhole(res, caseId, payloads.gzipTextBomb, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        return;
      case '/big-pdf': {
        // 50 MiB, chunked (no Content-Length), streamed with backpressure until the client hangs up.
        res.writeHead(200, { 'content-type': ct ?? 'application/pdf' });
        const filler = randomBytes(64 * 1024);
        let sent = 0;
        if (!(await write(res, caseId, Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 52428800 >>\nstream\n', 'latin1')))) return;
        while (sent < BIG_PDF_BYTES) {
          if (!(await write(res, caseId, filler))) return;
          sent += filler.byteLength;
        }
        res.end();
        return;
      }
      case '/big-text/a':
      case '/big-text/b':
        await sendWhole(res, caseId, payloads.bigText[route.endsWith('a') ? 0 : 1], { 'content-type': 'text/plain; charset=utf-8' });
        return;
      case '/many-attributes/a':
      case '/many-attributes/b':
        await sendWhole(res, caseId, payloads.manyAttributes[route.endsWith('a') ? 0 : 1], { 'content-type': 'text/html; charset=utf-8' });
        return;
      case '/many-paragraphs/a':
      case '/many-paragraphs/b':
        await sendWhole(res, caseId, payloads.manyParagraphs[route.endsWith('a') ? 0 : 1], { 'content-type': 'text/html; charset=utf-8' });
        return;
      case '/big-pdf-preamble': {
        // A server-side warning printed before a 50 MiB PDF, all served as text/html (chunked): the
        // body starts like HTML, but `%PDF-` is within its first 1024 bytes.
        res.writeHead(200, { 'content-type': 'text/html' });
        const preamble = '<br />\n<b>Warning</b>:  Cannot modify header information - headers already sent in <b>/var/www/report.php</b> on line <b>12</b><br />\n';
        if (!(await write(res, caseId, Buffer.from(`${preamble}%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 52428800 >>\nstream\n`, 'latin1')))) return;
        const filler = randomBytes(64 * 1024);
        for (let sent = 0; sent < BIG_PDF_BYTES; sent += filler.byteLength) {
          if (!(await write(res, caseId, filler))) return;
        }
        res.end();
        return;
      }
      case '/lying-length/short': {
        // Declares 1 MiB, sends 10 KiB of HTML, then drops the connection.
        const body = payloads.pages[0]!.a.subarray(0, 10 * 1024);
        res.socket?.write(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${MiB}\r\n\r\n`);
        res.socket?.write(body, () => {
          count(caseId, body.byteLength);
          res.socket?.destroy();
        });
        return;
      }
      case '/lying-length/long': {
        // Declares 100 bytes, sends a whole page.
        const body = payloads.pages[0]!.b;
        res.socket?.write(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\nConnection: close\r\n\r\n`);
        res.socket?.end(body, () => count(caseId, body.byteLength));
        return;
      }
      case '/slow': {
        // One byte per second, bounded, stopped when the client goes.
        res.writeHead(200, { 'content-type': 'text/html' });
        let sent = 0;
        const timer = setInterval(() => {
          if (res.destroyed || sent >= SLOW_DRIP_MAX_BYTES) {
            clearInterval(timer);
            timers.delete(timer);
            if (!res.destroyed) res.end();
            return;
          }
          sent += 1;
          res.write(sent === 1 ? '<' : 'p', (err) => {
            if (!err) count(caseId, 1);
          });
        }, 1000);
        timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          timers.delete(timer);
        });
        return;
      }
      case '/malformed/chunk-overflow':
      case '/malformed/negative-length':
      case '/malformed/garbage-status': {
        const raw = MALFORMED_RESPONSES[route.slice('/malformed/'.length)]!;
        res.socket?.end(raw, () => count(caseId, Buffer.byteLength(raw)));
        return;
      }
      case '/loop/a':
      case '/loop/b': {
        const next = route.endsWith('a') ? '/loop/b' : '/loop/a';
        res.writeHead(302, { location: `${next}?c=${encodeURIComponent(caseId)}`, 'content-length': 0 }).end();
        return;
      }
      case '/redirect': {
        // Only ever sent to the guarded service instance: the target is refused, never fetched.
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/', 'content-length': 0 }).end();
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    bytesFor: (caseId) => bytes.get(caseId) ?? 0,
    requestsFor: (caseId) => requests.get(caseId) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
