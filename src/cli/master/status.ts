/*
 * status.ts - the 12-byte child status messages of master(8)
 * (spec-protocol-master.md §5.5, master_proto.h).
 *
 * Layout in host byte order: int pid, unsigned generation, int status, where
 * status is MASTER_STAT_TAKEN (0, right after accept) or MASTER_STAT_AVAIL (1,
 * after the connection is closed). Master reads the status socket as a byte
 * stream here, so the framer cuts it into messages and keeps an incomplete
 * tail until more bytes (or the end) arrive.
 *
 * Exports: MASTER_STAT_TAKEN, MASTER_STAT_AVAIL, STATUS_MESSAGE_SIZE,
 * StatusMessage, StatusFramer.
 */
import { endianness } from 'node:os';

export const MASTER_STAT_TAKEN = 0;
export const MASTER_STAT_AVAIL = 1;
export const STATUS_MESSAGE_SIZE = 12;

const LITTLE = endianness() === 'LE';

export interface StatusMessage {
  pid: number;
  generation: number;
  status: number;
}

function decodeAt(buf: Buffer, offset: number): StatusMessage {
  if (LITTLE) {
    return { pid: buf.readInt32LE(offset), generation: buf.readUInt32LE(offset + 4), status: buf.readInt32LE(offset + 8) };
  }
  return { pid: buf.readInt32BE(offset), generation: buf.readUInt32BE(offset + 4), status: buf.readInt32BE(offset + 8) };
}

export class StatusFramer {
  private tail: Buffer = Buffer.alloc(0);

  /** The complete messages the stream holds so far. */
  push(chunk: Buffer): StatusMessage[] {
    const data = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const messages: StatusMessage[] = [];
    let offset = 0;
    for (; offset + STATUS_MESSAGE_SIZE <= data.length; offset += STATUS_MESSAGE_SIZE) {
      messages.push(decodeAt(data, offset));
    }
    this.tail = Buffer.from(data.subarray(offset));
    return messages;
  }

  /** Bytes of an incomplete message. */
  pending(): number {
    return this.tail.length;
  }

  /** pid field of the incomplete message, when it got that far (for the warning). */
  pendingPid(): number | null {
    if (this.tail.length < 4) return null;
    return LITTLE ? this.tail.readInt32LE(0) : this.tail.readInt32BE(0);
  }
}
