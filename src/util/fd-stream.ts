/*
 * fd-stream.ts - a connected, non-blocking socket read and written with plain
 * system calls (read and send through the posix addon), and a libuv poll
 * handle only while a call has to wait: what the daemon uses for its clients
 * (lifecycle), for qmgr triggers (queue) and for proxymap (match). A Node
 * net.Socket (a stream object with its buffers, events and close sequence)
 * costs more CPU than a whole flush request: a server that only answers `add`
 * used 0.26 ms of CPU per connection with net.Socket and 0.11 ms this way
 * (bench/node-floor.ts, same client), and loading Node's net module is a few
 * milliseconds of every process start.
 *
 * The contract is lifecycle's ClientStream (client-stream.ts): a read takes
 * what has arrived (at most READ_CHUNK bytes, only when asked, so a flood
 * costs bounded memory), a write resolves once the kernel has every byte,
 * each wait is limited by the stream's timeout (ipc_timeout; <= 0: none), and
 * after an error or a timeout every later call fails with that error (a
 * VSTREAM keeps its error flag). close() is close(2), as C's vstream_fclose.
 * awaitPeerClose() is unix_trigger_event's wait: until the peer closes (or
 * sends anything), without keeping the process alive.
 *
 * Exports: FdStream, timerMs, timeoutError.
 */
import { closeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { EAGAIN, errnoError, FdWatcher, READABLE, readSocket, WRITABLE, writeSocket } from '../native/posix.js';

/** What one read takes at most (Node's own stream reads are this size). */
const READ_CHUNK = 64 * 1024;

/** One buffer for every read: each chunk handed out is a copy of what arrived. */
const readBuffer = Buffer.allocUnsafe(READ_CHUNK);

/** Node's setTimeout fires at once for delays past 2^31-1 ms; longer limits are clamped. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A limit in seconds (ipc_timeout, max_idle) as a setTimeout delay. */
export function timerMs(seconds: number): number {
  return Math.min(seconds * 1000, MAX_TIMER_MS);
}

/** The error of a read or write that waited its limit in vain ("read flush socket: Connection timed out"). */
export function timeoutError(operation: string, name: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${operation} ${name}: Connection timed out`);
  error.code = 'ETIMEDOUT';
  error.errno = osConstants.errno.ETIMEDOUT;
  error.syscall = operation;
  return error;
}

export class FdStream {
  private failure: Error | undefined;
  /** Made at the first wait; most connections never wait. */
  private watcher: FdWatcher | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  /**
   * @param name for messages: "flush socket", "private/proxymap socket"
   * @param fd a connected, non-blocking socket; the stream owns it from now on
   * @param timeoutSeconds the limit of each wait (ipc_timeout); <= 0 waits without limit
   */
  constructor(readonly name: string, private readonly fd: number, private readonly timeoutSeconds: number) {}

  async readChunk(): Promise<Buffer | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      const count = readSocket(this.fd, readBuffer);
      if (count > 0) return Buffer.from(readBuffer.subarray(0, count));
      if (count === 0) return null;
      if (-count !== EAGAIN) throw this.fail(errnoError('read', -count));
      if (!(await this.waitUntil(READABLE, this.timeoutSeconds))) throw this.fail(timeoutError('read', this.name));
    }
  }

  async write(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    let offset = 0;
    while (offset < data.length) {
      const count = writeSocket(this.fd, data, offset);
      if (count >= 0) offset += count;
      else if (-count !== EAGAIN) throw this.fail(errnoError('write', -count));
      else if (!(await this.waitUntil(WRITABLE, this.timeoutSeconds))) throw this.fail(timeoutError('write', this.name));
    }
  }

  /**
   * Resolves true once the peer has closed the connection, sent something or
   * failed, false after limitSeconds (<= 0: no limit). Neither the wait nor
   * its timer keeps the process alive. The caller closes the stream after.
   */
  awaitPeerClose(limitSeconds: number): Promise<boolean> {
    return this.waitUntil(READABLE, limitSeconds, true);
  }

  /** close(2), once nothing uses the stream any more (nothing waits then). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    closeSync(this.fd);
  }

  private fail(error: Error): Error {
    this.failure ??= error;
    return this.failure;
  }

  /** True when the socket is ready for `events` (or has an error to tell), false after the limit. */
  private waitUntil(events: number, limitSeconds: number, unref = false): Promise<boolean> {
    return new Promise((resolve) => {
      const settle = (ready: boolean): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.watcher?.stop();
        resolve(ready);
      };
      const timer = limitSeconds > 0 ? setTimeout(() => settle(false), timerMs(limitSeconds)) : undefined;
      if (unref) timer?.unref();
      this.wake = () => settle(true);
      this.watcher ??= new FdWatcher(this.fd, () => this.wake?.());
      if (unref) this.watcher.unref();
      this.watcher.start(events);
    });
  }
}
