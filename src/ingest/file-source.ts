// file:// sources (only when ALLOW_FILE_URLS is on): regular files only, under the same size cap.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BadRequestError, UpstreamError, UpstreamTooLargeError } from '../errors.ts';
import { readBody, type ReadBodyParams, type ReadBodyResult } from './read-body.ts';

export async function readFileSource(
  url: URL,
  rawUrl: string,
  params: Omit<ReadBodyParams, 'contentCodings' | 'url'>,
): Promise<ReadBodyResult> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch {
    throw new BadRequestError(`${rawUrl} is not a usable file:// URL`, { url: rawUrl });
  }
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not block a libuv thread forever (it is refused below).
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UpstreamError(`Cannot read ${rawUrl} (${code})`, { url: rawUrl, reason: code === 'ENOENT' ? 'file_not_found' : 'file_unreadable', upstream_code: code === 'ENOENT' ? 404 : 403 }, { cause: err });
  }
  try {
    const stat = await handle.stat();
    // Devices (/dev/zero), FIFOs and directories have no trustworthy size or never end.
    if (!stat.isFile()) throw new UpstreamError(`${rawUrl} is not a regular file`, { url: rawUrl, reason: 'not_a_file' });
    if (stat.size > params.maxBodyBytes) {
      throw new UpstreamTooLargeError(`${rawUrl} is larger than the limit of ${params.maxBodyBytes} bytes (MAX_BODY_BYTES)`, {
        url: rawUrl,
        max_size: params.maxBodyBytes,
        reason: 'content_length',
      });
    }
    // The file may grow while we read it: readBody enforces the cap on what is actually read.
    const stream = handle.createReadStream({ autoClose: false, highWaterMark: 64 * 1024 });
    return await readBody(stream, { ...params, url: rawUrl, contentCodings: [] });
  } finally {
    await handle.close();
  }
}
