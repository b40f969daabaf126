/*
 * status.ts - the child's side of master(8)'s status channel (fd 5).
 *
 * The child tells master when it is busy (TAKEN) and free again (AVAIL) with
 * 12-byte records (availability.ts decides which) in host byte order: int pid, unsigned generation, int
 * status. master never writes to the channel, so anything readable on it
 * (normally EOF, when master exits or reloads and closes its end) means
 * "master is gone".
 *
 * Records are sent with one send(2) of our own; when master has let the
 * socket buffer fill up, the rest waits in order (later records queue behind
 * it) and goes out as the socket becomes writable. A libuv poll handle (the
 * addon's FdWatcher) watches for master going away: no net.Socket, so the
 * daemon does not load Node's net module at all.
 *
 * Exports: MASTER_STATUS_FD, MASTER_STAT_TAKEN, MASTER_STAT_AVAIL,
 * encodeStatus, MasterStatusChannel.
 */
import { fstatSync } from 'node:fs';
import { endianness } from 'node:os';
import { EAGAIN, FdWatcher, READABLE, WRITABLE, writeSocket } from '../native/posix.js';

export const MASTER_STATUS_FD = 5;
export const MASTER_STAT_TAKEN = 0;
export const MASTER_STAT_AVAIL = 1;

const LITTLE_ENDIAN = endianness() === 'LE';

export function encodeStatus(pid: number, generation: number, status: number): Buffer {
  const record = Buffer.alloc(12);
  if (LITTLE_ENDIAN) {
    record.writeInt32LE(pid, 0);
    record.writeUInt32LE(generation >>> 0, 4);
    record.writeInt32LE(status, 8);
  } else {
    record.writeInt32BE(pid, 0);
    record.writeUInt32BE(generation >>> 0, 4);
    record.writeInt32BE(status, 8);
  }
  return record;
}

export class MasterStatusChannel {
  private readonly watcher: FdWatcher;
  private gone = false;
  private goneHandler: (() => void) | undefined;
  /** Record bytes master has not taken yet, in order. */
  private unsent = Buffer.alloc(0);
  /** Callers waiting for `unsent` to go out (true) or for the channel to fail (false). */
  private waiting: Array<(sent: boolean) => void> = [];

  /**
   * Throws when fd is not a socket: started without master, the number may
   * belong to one of Node's own descriptors (libuv opens its epoll and wakeup
   * descriptors at start-up), which must not be touched.
   */
  constructor(
    private readonly pid: number,
    private readonly generation: number,
    private readonly fd = MASTER_STATUS_FD,
  ) {
    if (!fstatSync(fd).isSocket()) throw new Error(`fd ${fd} is not a socket`);
    this.watcher = new FdWatcher(fd, (events, errno) => {
      if (errno !== 0 || (events & READABLE) !== 0) this.lose();
      else this.sendUnsent();
    });
    this.watcher.start(READABLE);
  }

  /**
   * `handler` runs once, when master goes away or a status write fails; at
   * once if that already happened.
   */
  onGone(handler: () => void): void {
    this.goneHandler = handler;
    if (this.gone) handler();
  }

  /**
   * Writes the records in one write (master reads them one at a time).
   * Resolves false when they could not be written (master is gone).
   */
  notify(statuses: readonly number[]): Promise<boolean> {
    if (this.gone) return Promise.resolve(false);
    const data = Buffer.concat(statuses.map((status) => encodeStatus(this.pid, this.generation, status)));
    if (this.unsent.length === 0) {
      const sent = writeSocket(this.fd, data, 0);
      if (sent === data.length) return Promise.resolve(true);
      if (sent < 0 && -sent !== EAGAIN) {
        this.lose();
        return Promise.resolve(false);
      }
      this.unsent = data.subarray(Math.max(sent, 0));
      this.watcher.start(READABLE | WRITABLE);
    } else {
      this.unsent = Buffer.concat([this.unsent, data]);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The socket has room again: send what is left, and tell the waiters once all of it went. */
  private sendUnsent(): void {
    const sent = writeSocket(this.fd, this.unsent, 0);
    if (sent < 0) {
      if (-sent !== EAGAIN) this.lose();
      return;
    }
    this.unsent = this.unsent.subarray(sent);
    if (this.unsent.length > 0) return;
    this.watcher.start(READABLE);
    this.settle(true);
  }

  private settle(sent: boolean): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(sent);
  }

  private lose(): void {
    if (this.gone) return;
    this.gone = true;
    this.watcher.stop();
    this.unsent = Buffer.alloc(0);
    this.settle(false);
    this.goneHandler?.();
  }
}
