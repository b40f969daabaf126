/*
 * status.ts - the child's side of master(8)'s status channel (fd 5).
 *
 * The child tells master when it is busy (TAKEN) and free again (AVAIL) with
 * 12-byte records (availability.ts decides which) in host byte order: int pid, unsigned generation, int
 * status. master never writes to the channel, so anything readable on it
 * (normally EOF, when master exits or reloads and closes its end) means
 * "master is gone".
 *
 * Records are sent with one send(2) of our own, which costs a fraction of a
 * stream write; the Node socket on the descriptor watches for master going
 * away, and takes the rest of a record only when master has let the socket
 * buffer fill up (later records then queue behind it, so the order holds).
 *
 * Exports: MASTER_STATUS_FD, MASTER_STAT_TAKEN, MASTER_STAT_AVAIL,
 * encodeStatus, MasterStatusChannel.
 */
import { fstatSync } from 'node:fs';
import net from 'node:net';
import { endianness } from 'node:os';
import { EAGAIN, writeSocket } from '../native/posix.js';

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
  private readonly socket: net.Socket;
  private gone = false;
  private goneHandler: (() => void) | undefined;

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
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    const lost = (): void => this.lose();
    this.socket.on('data', lost);
    this.socket.on('end', lost);
    this.socket.on('error', lost);
    this.socket.on('close', lost);
  }

  /**
   * `handler` runs once, when master goes away or a status write fails; at
   * once if that already happened.
   */
  onGone(handler: () => void): void {
    this.goneHandler = handler;
    if (this.gone) handler();
  }

  private lose(): void {
    if (this.gone) return;
    this.gone = true;
    this.goneHandler?.();
  }

  /**
   * Writes the records in one write (master reads them one at a time).
   * Resolves false when they could not be written (master is gone).
   */
  notify(statuses: readonly number[]): Promise<boolean> {
    if (this.gone) return Promise.resolve(false);
    let data = Buffer.concat(statuses.map((status) => encodeStatus(this.pid, this.generation, status)));
    if (this.socket.writableLength === 0) {
      const sent = writeSocket(this.fd, data, 0);
      if (sent === data.length) return Promise.resolve(true);
      if (sent < 0 && -sent !== EAGAIN) {
        this.lose();
        return Promise.resolve(false);
      }
      data = data.subarray(Math.max(sent, 0));
    }
    return new Promise((resolve) => {
      this.socket.write(data, (error) => {
        if (error) this.lose();
        resolve(!error);
      });
    });
  }
}
