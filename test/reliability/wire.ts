/*
 * wire.ts - the campaign's flush client: one request per connection over a unix socket, as
 * Postfix's flush_clnt does (read the 31-byte announcement, write the attr0 list, read the
 * status), with the outcome and when it started and ended on this process's monotonic clock
 * (the race's ledger compares those times). Also master's wakeup trigger ("W" NUL, written
 * as two one-byte writes, reply not read).
 *
 * Nothing here depends on which flush program answers: the campaign runs unchanged against
 * Postfix's C daemon and fastflush.
 *
 * Exports: CallResult, flushCall, wakeup, parseStatus, FLUSH_ANNOUNCEMENT_LENGTH.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export const FLUSH_ANNOUNCEMENT_LENGTH = 31;

export interface CallResult {
  /** The status the server answered; null when no complete status arrived. */
  status: number | null;
  /** Why no status arrived: 'closed', 'timeout', or a socket error code. */
  error?: string;
  /** performance.now() when the connection was opened and when the call ended. */
  start: number;
  end: number;
}

const STATUS_PREFIX = Buffer.from('status\0', 'latin1');

/**
 * The status code of a complete reply list "status" NUL digits NUL NUL (FAIL travels as
 * 4294967295 and is returned as -1); null while incomplete or when it is not one.
 */
export function parseStatus(reply: Buffer): number | null {
  if (reply.length < STATUS_PREFIX.length + 3 || !reply.subarray(0, STATUS_PREFIX.length).equals(STATUS_PREFIX)) {
    return null;
  }
  const end = reply.indexOf(0, STATUS_PREFIX.length);
  if (end < 0 || reply[end + 1] !== 0) return null;
  const digits = reply.toString('latin1', STATUS_PREFIX.length, end);
  if (!/^\d{1,10}$/.test(digits)) return null;
  return Number(digits) | 0;
}

/** One request on a fresh connection to `socketPath`. Never rejects. */
export function flushCall(socketPath: string, request: Buffer, timeoutMs = 30_000): Promise<CallResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect(socketPath);
    let received: Buffer = Buffer.alloc(0);
    let sent = false;
    let done = false;
    const finish = (status: number | null, error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(error === undefined ? { status, start, end: performance.now() } : { status, error, start, end: performance.now() });
    };
    const timer = setTimeout(() => finish(null, 'timeout'), timeoutMs);
    sock.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (!sent && received.length >= FLUSH_ANNOUNCEMENT_LENGTH) {
        sent = true;
        sock.write(request);
      }
      if (sent) {
        const status = parseStatus(received.subarray(FLUSH_ANNOUNCEMENT_LENGTH));
        if (status !== null) finish(status);
      }
    });
    sock.on('end', () => finish(null, 'closed'));
    sock.on('close', () => finish(null, 'closed'));
    sock.on('error', (error: NodeJS.ErrnoException) => finish(null, error.code ?? String(error)));
  });
}

/** master(8)'s wakeup: "W" then NUL, then close without reading. Never rejects. */
export function wakeup(socketPath: string): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(socketPath, () => {
      sock.write('W');
      sock.end('\0');
    });
    const timer = setTimeout(() => sock.destroy(), 5000);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.resume();
  });
}
