// A request answered before its body was read (413 over MAX_POST_BODY_BYTES, a 400 at the first
// bad chunk, a 503, a 408) must still reach a client that is busy sending: closing the socket
// while the client's bytes keep arriving makes the kernel send a reset, and the client sees
// ECONNRESET instead of the answer. So, as nginx's lingering close does, the rest of the body is
// read and thrown away for a bounded time after the answer, and the connection is then closed
// cleanly. The answer says `Connection: close` (a keep-alive client must not send its next request
// on a connection about to close: undici did, and got "other side closed"), but Node's own close
// path for it destroys the socket as soon as the answer is flushed, which is exactly the reset: for
// this socket it only half-closes, and this module closes the rest.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Longest time to keep discarding after the answer was sent. */
  totalMs: number;
  /** Give up sooner when the client sends nothing for this long. */
  idleMs: number;
}

export const DEFAULT_LINGER: LingerLimits = { totalMs: 10_000, idleMs: 2_000 };

/**
 * Call before sending an early answer to a request whose body is not complete. Once the answer is
 * written, the rest of the body is discarded (nothing is kept), and the connection is ended when
 * the body is complete, or destroyed when the client keeps sending too long or goes quiet.
 */
export function lingerAfterEarlyAnswer(req: IncomingMessage, res: ServerResponse, limits: LingerLimits = DEFAULT_LINGER): void {
  if (req.complete || !hasBody(req)) return;
  const socket = req.socket;
  res.setHeader('Connection', 'close');
  // Node calls destroySoon once a `Connection: close` answer is written: send our FIN only.
  socket.destroySoon = () => {
    socket.end();
  };
  let total: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  const stop = (how: 'end' | 'destroy') => {
    clearTimeout(total);
    clearTimeout(idle);
    req.removeListener('data', onData);
    if (how === 'end') socket.end();
    else socket.destroy();
  };
  const onData = () => {
    idle?.refresh();
  };
  res.once('finish', () => {
    if (req.complete) {
      socket.end();
      return;
    }
    total = setTimeout(() => stop('destroy'), limits.totalMs);
    idle = setTimeout(() => stop('destroy'), limits.idleMs);
    total.unref();
    idle.unref();
    socket.once('close', () => {
      clearTimeout(total);
      clearTimeout(idle);
    });
    req.once('end', () => stop('end'));
    req.once('error', () => stop('destroy'));
    req.on('data', onData);
    req.resume();
  });
}

/** Whether the request announced a body (a GET has none: its answer needs no lingering). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0');
}

/**
 * Stops reading from a connection at once, for a client whose bytes are not worth parsing (a body in
 * 1-byte chunks). `socket.pause()` is not enough: Node's HTTP parser reads the socket's handle
 * directly, and pausing the request only buffers what it goes on parsing. Stopping the handle's
 * reads leaves the rest in the kernel.
 */
export function stopSocketReads(socket: Socket): void {
  (socket as Socket & { _handle?: { readStop?: () => number } })._handle?.readStop?.();
}

/**
 * Call before sending an early answer on a connection whose reads were stopped (stopSocketReads):
 * the answer says `Connection: close`, and once it is written only our side is closed; the socket is
 * destroyed `graceMs` later. Destroying it at once, its unread bytes make the kernel send a reset,
 * and a client still writing meets EPIPE before it reads the answer (seen in the hostile replay);
 * meanwhile nothing it sends is read, so the wait costs no CPU.
 */
export function closeWithoutReading(req: IncomingMessage, res: ServerResponse, graceMs: number = DEFAULT_LINGER.idleMs): void {
  const socket = req.socket;
  res.setHeader('Connection', 'close');
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), graceMs).unref();
  };
}
