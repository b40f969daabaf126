/*
 * socket-client.ts - master's listen sockets, accepted with plain system
 * calls (accept4 through the posix addon, a libuv poll handle for
 * readiness) instead of a net.Server; each accepted connection is served as
 * an FdStream (util/fd-stream.ts), which says why.
 *
 * ListenSocket accepts while started, one connection at a time, so the
 * skeleton sees each connection before the next is accepted and can stop at
 * once (max_use, retiring, asking for a successor): nothing is accepted that
 * it has not decided to take. Master's descriptor is never closed here.
 *
 * Exports: ListenSocket.
 */
import { constants as osConstants } from 'node:os';
import { acceptSocket, EAGAIN, errnoError, FdWatcher, READABLE, setNonBlocking } from '../native/posix.js';

/**
 * accept(2) errors that concern only the client that went away before it was
 * accepted (Postfix's sane_accept treats them as "try again").
 */
const CLIENT_GONE = new Set(['ECONNABORTED', 'ECONNRESET', 'ECONNREFUSED', 'EPROTO', 'EHOSTDOWN',
  'EHOSTUNREACH', 'ENETDOWN', 'ENETUNREACH', 'ENOTCONN']
  .map((name) => (osConstants.errno as Record<string, number>)[name])
  .filter((errno): errno is number => errno !== undefined));

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
