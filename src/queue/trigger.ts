/*
 * trigger.ts - wake up qmgr the way Postfix's mail_trigger() does
 * (unix_trigger / fifo_trigger), without ever making the daemon wait on it.
 *
 * The target (normally public/qmgr, relative to queue_directory) is stat()ed:
 *   - UNIX socket: connect (non-blocking: a full backlog fails at once, as
 *     C's timed connect fails on EAGAIN), write the request, then one NUL in
 *     a separate write, each within timeoutSec. The connection then lingers,
 *     unref'd, until the peer closes it or timeoutSec + 100 s pass (then a
 *     warning): closing first could lose the request on kernels that drop
 *     unread data. An FdStream (util/fd-stream.ts), not a net.Socket.
 *   - FIFO: open write-only non-blocking with the safe-open checks (no reader
 *     means ENXIO, silently), write exactly the request bytes, close.
 *   - missing, or anything else: a warning.
 * Connect, write and FIFO open failures are only reported with -v, as in
 * Postfix. The promise resolves once the writes are done or have failed; it
 * never rejects, and nothing it leaves behind keeps the process alive.
 *
 * TriggerBatch collects the triggers of a long run of work (the sends of a
 * refresh walk, one 'I' per flushed logfile in C) and sends each requested
 * byte once per batch, after the work that asked for it: qmgr treats a
 * trigger byte as "scan (or flush) now", so one 'I' sent after several
 * logfiles' files have moved to incoming makes it see all of them, as several
 * would. A trigger costs a connection (or FIFO open) per send; over 10,000
 * one-id logfiles that was the largest part of a refresh. The owner sends the
 * batch once its first request has waited BATCH_DELAY_MS (due) and at
 * the end of its run (flush), so qmgr hears of moved files as promptly as
 * before, within the delay.
 *
 * Exports: sendQueueTrigger(relPath, request, timeoutSec), TriggerBatch, BATCH_DELAY_MS
 */
import { closeSync, constants, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectSocket, errnoError } from '../native/posix.js';
import { monotonicMs } from '../util/clock.js';
import { errorCode, strerror } from '../util/errors.js';
import { FdStream } from '../util/fd-stream.js';
import { msg } from '../util/msg.js';
import { safeOpenExisting } from './safe-open.js';

/** Extra patience, beyond the trigger timeout, before giving up on the peer's close. */
const LINGER_EXTRA_SEC = 100;
const NUL_BYTE = Buffer.from([0]);

/** unix_trigger: connect (a full backlog fails at once, as in C), the request, a NUL, then linger. */
async function unixTrigger(path: string, request: Buffer, timeoutSec: number): Promise<void> {
  const fd = connectSocket(path);
  if (fd < 0) {
    if (msg.verbose) msg.warn(`unix_trigger: connect to ${path}: ${strerror(errnoError('connect', -fd))}`);
    return;
  }
  const connection = new FdStream(path, fd, timeoutSec);
  try {
    await connection.write(request);
    await connection.write(NUL_BYTE);
  } catch (error) {
    if (msg.verbose) msg.warn(`unix_trigger: write to ${path}: ${strerror(error)}`);
  }
  // unix_trigger_event: qmgr closes first (see above).
  void connection.awaitPeerClose(timeoutSec > 0 ? timeoutSec + LINGER_EXTRA_SEC : 0).then((closed) => {
    if (!closed) msg.warn(`unix_trigger_event: read timeout for service ${path}`);
    connection.close();
  });
}

/** Delay between write attempts while the FIFO is full. */
const FIFO_RETRY_MS = 20;

/**
 * write_buf on a non-blocking FIFO: all bytes, retrying while full, within
 * timeoutSec. The writes never block (O_NONBLOCK); a full FIFO is waited for
 * with a timer.
 */
async function writeFifo(fd: number, data: Buffer, timeoutSec: number): Promise<void> {
  const deadline = Date.now() + timeoutSec * 1000;
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset, data.length - offset);
    } catch (error) {
      if (errorCode(error) !== 'EAGAIN' || (timeoutSec > 0 && Date.now() >= deadline)) throw error;
      await sleep(FIFO_RETRY_MS);
    }
  }
}

async function fifoTrigger(path: string, request: Buffer, timeoutSec: number): Promise<void> {
  const opened = safeOpenExisting(path, constants.O_WRONLY | constants.O_NONBLOCK);
  if (!opened.ok) {
    if (msg.verbose) msg.info(`fifo_trigger: open ${path}: ${opened.why}`);
    return;
  }
  try {
    await writeFifo(opened.fd, request, timeoutSec);
  } catch (error) {
    if (msg.verbose) msg.warn(`fifo_trigger: write ${path}: ${strerror(error)}`);
  }
  try {
    closeSync(opened.fd);
  } catch (error) {
    if (msg.verbose) msg.warn(`fifo_trigger: close ${path}: ${strerror(error)}`);
  }
}

/**
 * Sends `request` (e.g. 'F' or 'I'; one byte per character) to the trigger
 * endpoint at relPath, e.g. 'public/qmgr'. Never rejects, except with the
 * FatalError of an fstat() failing on a just-opened FIFO (fatal in Postfix too).
 */
export async function sendQueueTrigger(relPath: string, request: string, timeoutSec: number): Promise<void> {
  let target;
  try {
    target = statSync(relPath);
  } catch (error) {
    msg.warn(`unable to look up ${relPath}: ${strerror(error)}`);
    return;
  }
  const data = Buffer.from(request, 'latin1');
  if (target.isFIFO()) {
    await fifoTrigger(relPath, data, timeoutSec);
  } else if (target.isSocket()) {
    await unixTrigger(relPath, data, timeoutSec);
  } else {
    msg.warn(`${relPath} is not a socket or a fifo`);
  }
}

/** Longest time a TriggerBatch holds a request before flushIfDue sends it. */
export const BATCH_DELAY_MS = 10;

/** Trigger requests of a run of work, each byte sent once per flush (see above). */
export class TriggerBatch {
  private pending = '';
  private firstRequestAt = 0;

  constructor(
    private readonly relPath: string,
    private readonly timeoutSec: number,
  ) {}

  /** Remembers the bytes of `request` not already pending, for the next flush. */
  request(request: string): void {
    if (this.pending === '') this.firstRequestAt = monotonicMs();
    for (const byte of request) if (!this.pending.includes(byte)) this.pending += byte;
  }

  /** True when a request has waited BATCH_DELAY_MS: time to flush(). */
  due(): boolean {
    return this.pending !== '' && monotonicMs() - this.firstRequestAt >= BATCH_DELAY_MS;
  }

  /** Sends the pending request, if any, as one trigger (sendQueueTrigger). */
  async flush(): Promise<void> {
    if (this.pending === '') return;
    const request = this.pending;
    this.pending = '';
    await sendQueueTrigger(this.relPath, request, this.timeoutSec);
  }
}
