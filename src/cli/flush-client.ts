/*
 * flush-client.ts - one request to a flush(8) server, the way Postfix's
 * mail_command_client() does it (spec-protocol-master.md §6).
 *
 *   1. connect to the UNIX socket (failure: warning "connect to NAME: ERR", -1);
 *   2. read the announcement strictly, protocol = queue_flush_protocol
 *      (failure: warning "read NAME socket: ERR", -1; a server that closes
 *      or times out before its first byte passes this step, because an empty
 *      list is no error to attr_scan, and fails at step 4, as in Postfix);
 *   3. send the whole request list in one write;
 *   4. read the `status` list strictly (failure: "write/read NAME socket: ERR", -1);
 *   5. close, and return the status.
 * Every read, write and the connect wait at most `timeoutSec`. Connection and
 * protocol failures all come back as -1 (FLUSH_STAT_FAIL), with the warnings
 * logged through msg.warn; the function never throws for I/O problems.
 *
 * Exports: FlushClientOptions, FlushClientRequest, callFlush, flushSocketName.
 */
import { createConnection, type Socket } from 'node:net';
import { AttrReader } from '../protocol/reader.js';
import { ATTR_FLAG, type ChunkSource } from '../protocol/types.js';
import { FLUSH_STATUS, MAIL_ATTR, flushRequest, type FlushRequestName } from '../protocol/flush-messages.js';
import { strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';

export interface FlushClientOptions {
  /** Absolute (or cwd-relative) path of the server's socket. */
  socketPath: string;
  /** How the socket is named in warnings; Postfix says "public/flush". */
  name: string;
  /** Limit for the connect and for each read and write, in seconds. */
  timeoutSec: number;
}

export interface FlushClientRequest {
  request: FlushRequestName;
  site?: string;
  queueId?: string;
}

/** Replies are tiny; anything this long is consumed but cut. */
const MAX_REPLY_STRING = 1024;

/** The relative name Postfix's clients use in their warnings. */
export function flushSocketName(flushServiceName: string): string {
  return `public/${flushServiceName}`;
}

function timeoutError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('timeout');
  err.code = 'ETIMEDOUT';
  return err;
}

/** Pulls chunks from a paused socket, each pull limited by the I/O timeout. */
class SocketSource implements ChunkSource {
  private ended = false;
  private failure: Error | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', (err) => {
      this.failure = err;
    });
  }

  read(): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const chunk = this.socket.read() as Buffer | null;
        if (chunk !== null) resolve(chunk);
        else if (this.failure) reject(this.failure);
        else if (this.ended || this.socket.destroyed) resolve(null);
        else return false;
        return true;
      };
      if (attempt()) return;
      const retry = (): void => {
        if (attempt()) cleanup();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(timeoutError());
      }, this.timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.socket.off('readable', retry);
        this.socket.off('end', retry);
        this.socket.off('close', retry);
      };
      this.socket.on('readable', retry);
      this.socket.on('end', retry);
      this.socket.on('close', retry);
    });
  }
}

function connect(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(timeoutError());
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.pause();
      resolve(socket);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

function write(socket: Socket, data: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError()), timeoutMs);
    socket.write(data, (err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** What %m would say after a failed scan: the I/O error if there was one, else errno 0. */
function scanError(reader: AttrReader): string {
  const err = reader.lastError();
  return err ? strerror(err) : 'Success';
}

export async function callFlush(req: FlushClientRequest, opts: FlushClientOptions): Promise<number> {
  const timeoutMs = opts.timeoutSec * 1000;
  const payload = flushRequest(req.request, { site: req.site, queueId: req.queueId });
  let socket: Socket;
  try {
    socket = await connect(opts.socketPath, timeoutMs);
  } catch (err) {
    msg.warn(`connect to ${opts.name}: ${strerror(err)}`);
    return FLUSH_STATUS.FAIL;
  }
  const streamName = `${opts.name} socket`;
  try {
    const reader = new AttrReader('attr0', new SocketSource(socket, timeoutMs), {
      streamName,
      maxStringLength: MAX_REPLY_STRING,
    });
    const announcement = await reader.scan(ATTR_FLAG.STRICT, [
      { kind: 'streq', name: MAIL_ATTR.PROTO, expected: MAIL_ATTR.PROTO_FLUSH },
    ]);
    if (announcement.count !== 0) {
      msg.warn(`read ${streamName}: ${scanError(reader)}`);
      return FLUSH_STATUS.FAIL;
    }
    try {
      await write(socket, payload, timeoutMs);
    } catch (err) {
      // Postfix buffers the request and flushes it when it reads the reply, so it reports this there.
      msg.warn(`write/read ${streamName}: ${strerror(err)}`);
      return FLUSH_STATUS.FAIL;
    }
    const reply = await reader.scan(ATTR_FLAG.STRICT, [{ kind: 'int', name: MAIL_ATTR.STATUS }]);
    if (reply.count !== 1) {
      msg.warn(`write/read ${streamName}: ${scanError(reader)}`);
      return FLUSH_STATUS.FAIL;
    }
    return reply.values.get(MAIL_ATTR.STATUS) as number;
  } finally {
    socket.destroy();
  }
}
