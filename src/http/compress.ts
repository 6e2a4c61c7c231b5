// Compressed answers (gzip), as web-monitoring-diff gives them: an html_token answer of 25 KB is
// 4.6 KB gzipped. Compression runs on zlib's stream API, i.e. on libuv's thread pool, never on
// the event loop; the compressor is pulled a piece at a time by writePieces, so a client that stops
// reading stops the compression too, and is cut off by the same write timeout as any answer.
// gzip only: brotli (quality 4) and zstd cost as much CPU for a few percent fewer bytes on the
// corpus's answers (bench/README.md), and every client that sends Accept-Encoding takes gzip.
import type { Request } from 'express';
import type { ServerResponse } from 'node:http';
import { createGzip } from 'node:zlib';
import { piecesOf, writePieces, type AnswerLimits } from './answer.ts';

/**
 * Answers smaller than this are sent as they are. A zlib stream costs 0.1–0.4 ms of CPU whatever
 * its size (a quarter of the floor's whole cost for `length`), and an answer this small fits in one
 * TCP segment with its headers either way, so compressing it saves no packet.
 */
export const COMPRESS_MIN_BYTES = 1024;

/** gzip's default level: on the corpus's answers level 1 saves no CPU worth having and sends ~10 % more. */
const GZIP_LEVEL = 6;

export type AnswerCoding = 'gzip';

/** The coding to send an answer of `bytes` in, or undefined to send it as it is. */
export function answerCoding(req: Request, bytes: number): AnswerCoding | undefined {
  // No Accept-Encoding means any coding is acceptable (RFC 9110), but a client that did not ask may
  // not expect one: only compress when asked.
  if (bytes < COMPRESS_MIN_BYTES || req.headers['accept-encoding'] === undefined) return undefined;
  return req.acceptsEncodings('gzip', 'identity') === 'gzip' ? 'gzip' : undefined;
}

/**
 * Writes the parts gzipped as a 200 answer (headers already set), chunked (the compressed length is
 * not known in advance), under writeAnswer's back-pressure, write timeout and abort rules.
 */
export async function writeCompressedAnswer(res: ServerResponse, parts: readonly Uint8Array[], coding: AnswerCoding, limits: AnswerLimits, signal: AbortSignal): Promise<void> {
  res.statusCode = 200;
  res.removeHeader('Content-Length');
  res.setHeader('Content-Encoding', coding);
  const gzip = createGzip({ level: GZIP_LEVEL });
  const feed = async () => {
    // Fed as read: the compressor's input buffer waits while its output is not being written.
    for (const piece of piecesOf(parts)) {
      if (gzip.destroyed) return;
      if (!gzip.write(piece)) await new Promise((resolve) => gzip.once('drain', resolve).once('close', resolve));
    }
    if (!gzip.destroyed) gzip.end();
  };
  void feed();
  try {
    // Leaving the loop early (timeout, disconnect) destroys the compressor.
    await writePieces(res, gzip, limits, signal);
  } finally {
    gzip.destroy();
  }
}
