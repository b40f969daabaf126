/*
 * socket-client.ts - client connections on master's listen sockets, served
 * with plain system calls: accept4, read and send through the posix addon,
 * and a libuv poll handle only while a call has to wait. A Node net.Socket
 * per connection (a stream object with its buffers, events and close
 * sequence) costs more CPU than a whole flush request: a server that only
 * answers `add` used 0.26 ms of CPU per connection with net.Socket and 0.11 ms
 * this way (bench/node-floor.ts, same client).
 *
 * ListenSocket accepts while started, one connection at a time, so the
 * skeleton sees each connection before the next is accepted and can stop at
 * once (max_use, retiring, asking for a successor): nothing is accepted that
 * it has not decided to take. Master's descriptor is never closed here.
 *
 * SocketClient is the ClientStream of one accepted connection, with the same
 * contract as StreamClient (client-stream.ts): a read takes what has arrived
 * (at most READ_CHUNK bytes, only when the service asks, so a flood costs
 * bounded memory), a write resolves once the kernel has every byte, each wait
 * is limited by ipc_timeout, and after an error or a timeout every later call
 * fails with that error (a VSTREAM keeps its error flag). close() is close(2),
 * as C's vstream_fclose: nothing is ever left unwritten at that point.
 *
 * Exports: ListenSocket, SocketClient.
 */
import { closeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import {
  acceptSocket, EAGAIN, errnoError, FdWatcher, READABLE, readSocket, setNonBlocking, WRITABLE, writeSocket,
} from '../native/posix.js';
import { timeoutError, timerMs, type ClientStream } from './client-stream.js';

/** What one read takes at most (Node's own stream reads are this size). */
const READ_CHUNK = 64 * 1024;

/**
 * accept(2) errors that concern only the client that went away before it was
 * accepted (Postfix's sane_accept treats them as "try again").
 */
const CLIENT_GONE = new Set(['ECONNABORTED', 'ECONNRESET', 'ECONNREFUSED', 'EPROTO', 'EHOSTDOWN',
  'EHOSTUNREACH', 'ENETDOWN', 'ENETUNREACH', 'ENOTCONN']
  .map((name) => (osConstants.errno as Record<string, number>)[name])
  .filter((errno): errno is number => errno !== undefined));

/** One buffer for every read: each chunk handed out is a copy of what arrived. */
const readBuffer = Buffer.allocUnsafe(READ_CHUNK);

export class ListenSocket {
  private readonly watcher: FdWatcher;
  private accepting = false;

  /**
   * @param onConnection gets each accepted connection's descriptor (now the caller's to close)
   * @param onError an accept(2) failure that is not the client's (EMFILE...); accepting has stopped
   */
  constructor(
    private readonly fd: number,
    private readonly onConnection: (fd: number) => void,
    private readonly onError: (error: NodeJS.ErrnoException) => void,
  ) {
    // An event may be stale by the time accept runs (another process took the
    // client): accept must then fail with EAGAIN, not block.
    setNonBlocking(fd);
    this.watcher = new FdWatcher(fd, () => this.acceptPending());
  }

  start(): void {
    this.accepting = true;
    this.watcher.start(READABLE);
  }

  stop(): void {
    this.accepting = false;
    this.watcher.stop();
  }

  /** Stops for good; master's descriptor stays open. */
  close(): void {
    this.stop();
    this.watcher.close();
  }

  private acceptPending(): void {
    while (this.accepting) {
      const result = acceptSocket(this.fd);
      if (result >= 0) {
        this.onConnection(result);
        continue;
      }
      if (-result === EAGAIN) return;
      if (CLIENT_GONE.has(-result)) continue;
      this.stop();
      this.onError(errnoError('accept', -result));
      return;
    }
  }
}

export class SocketClient implements ClientStream {
  private failure: Error | undefined;
  /** Made at the first wait; most connections never wait. */
  private watcher: FdWatcher | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly timeoutMs: number;

  constructor(readonly name: string, private readonly fd: number, timeoutSeconds: number) {
    this.timeoutMs = timerMs(timeoutSeconds);
  }

  async readChunk(): Promise<Buffer | null> {
    for (;;) {
      if (this.failure) throw this.failure;
      const count = readSocket(this.fd, readBuffer);
      if (count > 0) return Buffer.from(readBuffer.subarray(0, count));
      if (count === 0) return null;
      if (-count !== EAGAIN) throw this.fail(errnoError('read', -count));
      await this.waitUntil(READABLE, 'read');
    }
  }

  async write(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    let offset = 0;
    while (offset < data.length) {
      const count = writeSocket(this.fd, data, offset);
      if (count >= 0) offset += count;
      else if (-count !== EAGAIN) throw this.fail(errnoError('write', -count));
      else await this.waitUntil(WRITABLE, 'write');
    }
  }

  /** close(2), once the service is done with the connection (so nothing waits any more). */
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

  /** Resolves when the socket is ready for `events` (or has an error to tell); rejects after ipc_timeout. */
  private waitUntil(events: number, operation: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        this.watcher?.stop();
        reject(this.fail(timeoutError(operation, this.name)));
      }, this.timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.watcher?.stop();
        resolve();
      };
      this.watcher ??= new FdWatcher(this.fd, () => this.wake?.());
      this.watcher.start(events);
    });
  }
}
