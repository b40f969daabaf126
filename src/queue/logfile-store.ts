/*
 * logfile-store.ts - the I/O flush(8) does on its per-destination logfiles
 * (flush/[hash/]name, one queue ID per line), with Postfix's locking, file
 * modes and log texts.
 *
 *   appendQueueId(relPath, id)      the "add" side: create if needed, lock,
 *                                   append "id\n", unlock, close. Resolves
 *                                   true once the id is in the file, false
 *                                   when the write failed (nothing was left
 *                                   behind).
 *   openLogfileForSend(relPath)     the "send" side: open and lock an existing
 *                                   logfile (null when there is none); the
 *                                   handle reads lines, truncates, touches,
 *                                   and closes (which unlocks).
 *
 * All file work is synchronous system calls (microseconds each); only a lock
 * that someone else holds is waited for asynchronously (logfile-lock.ts).
 *
 * Group commit: adds to one logfile join one batch, which does a single
 * open + lock + write + unlock + close for all of them, in arrival order. A
 * batch starts its commit at the end of the event-loop turn that opened it
 * (setImmediate), so the requests of clients whose sockets became readable
 * together share one commit, and it keeps taking ids while it waits for the
 * lock (a send in progress, another process's lock). Each add resolves only
 * once the batch's file is closed. From the moment the lock is held to the
 * close nothing awaits, so no id can join a batch that is already being
 * written.
 *
 * A failed or short write (ENOSPC, EDQUOT, EIO, EFBIG) is undone with
 * ftruncate() back to the size before the write, so no partial line is left
 * for a later send to misread; the batch's adds then resolve false. (C
 * answers OK and may leave a torn line.)
 *
 * PATH in log texts is the bare logfile name (the last component of relPath),
 * as in Postfix. Memory stays bounded however large the file or its lines: it
 * is read in chunks and only the first MAX_KEPT_LINE bytes of a line are kept.
 *
 * Exports: appendQueueId, openLogfileForSend, LogfileHandle, MAX_KEPT_LINE
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  futimesSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorCode, strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';
import { lockExclusive, type HeldLock } from './logfile-lock.js';
import { MAX_QUEUE_ID_LENGTH } from './queue-id.js';

/**
 * Longest line prefix kept. One byte more than the longest valid queue ID, so
 * anything cut short is still recognisably invalid, and still far more than
 * the 30 characters a "bad queue id" warning shows.
 */
export const MAX_KEPT_LINE = MAX_QUEUE_ID_LENGTH + 1;

const LOGFILE_MODE = 0o600;
const HASH_DIR_MODE = 0o700;
const READ_CHUNK = 64 * 1024;

/**
 * The read buffer of a send that is not reading at the moment, kept for the
 * next one: a refresh over thousands of small logfiles would otherwise
 * allocate (and page-fault, and collect) READ_CHUNK bytes per logfile.
 * Sends reading at the same time (they interleave at their awaits) each
 * take their own; at most one spare is kept.
 */
let spareReadChunk: Buffer | null = null;

function takeReadChunk(): Buffer {
  const chunk = spareReadChunk ?? Buffer.allocUnsafe(READ_CHUNK);
  spareReadChunk = null;
  return chunk;
}

/** Closes, ignoring errors: for descriptors given up on an error path. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing; the first error is the one reported
  }
}

/** Opens with O_CREAT, creating missing parent (hash) directories once if needed, like mail_queue_open. */
function openCreating(relPath: string, flags: number): number {
  try {
    return openSync(relPath, flags, LOGFILE_MODE);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    try {
      mkdirSync(dirname(relPath), { recursive: true, mode: HASH_DIR_MODE });
    } catch {
      throw error;
    }
    return openSync(relPath, flags, LOGFILE_MODE);
  }
}

/* ---- the add side: group commit ---- */

/** Adds waiting for one commit to one logfile. */
interface AppendBatch {
  readonly ids: string[];
  readonly done: Promise<boolean>;
  settle(written: boolean): void;
  fail(error: unknown): void;
}

function newBatch(): AppendBatch {
  let settle!: (written: boolean) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<boolean>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  return { ids: [], done, settle, fail };
}

/** Per logfile, the batch still taking ids: its commit has not started writing. */
const openBatches = new Map<string, AppendBatch>();

/**
 * flush_add_path's file work: append `id` + LF to the logfile under an
 * exclusive lock. Resolves true when written, false after a write failure
 * (warned, and rolled back). Open, lock, unlock and rollback failures are
 * fatal (rejects with the FatalError); a close failure is a warning, as in
 * Postfix. The caller has validated `id` and the name.
 */
export function appendQueueId(relPath: string, id: string): Promise<boolean> {
  const joined = openBatches.get(relPath);
  if (joined !== undefined) {
    joined.ids.push(id);
    return joined.done;
  }
  const batch = newBatch();
  batch.ids.push(id);
  openBatches.set(relPath, batch);
  setImmediate(() => void commitBatch(relPath, batch));
  return batch.done;
}

async function commitBatch(relPath: string, batch: AppendBatch): Promise<void> {
  const name = basename(relPath);
  try {
    const { fd, lock, sizeBefore } = await openLockedForAppend(relPath, name);
    // Synchronous from here to the close: the batch takes no more ids.
    openBatches.delete(relPath);
    const data = Buffer.from(batch.ids.map((id) => `${id}\n`).join(''), 'latin1');
    let outcome: { written: boolean } | { fatal: unknown };
    try {
      outcome = { written: appendLines(fd, name, data, sizeBefore) };
    } catch (error) {
      outcome = { fatal: error };
    }
    unlockAndClose(fd, lock, name);
    if ('fatal' in outcome) throw outcome.fatal;
    batch.settle(outcome.written);
  } catch (error) {
    if (openBatches.get(relPath) === batch) openBatches.delete(relPath);
    batch.fail(error);
  }
}

/** Unlock (fatal on failure), then close (a warning on failure, as C's fclose). */
function unlockAndClose(fd: number, lock: HeldLock, name: string): void {
  try {
    lock.unlock(`flush_add_path: unlock fast flush logfile ${name}`);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
  try {
    closeSync(fd);
  } catch (error) {
    msg.warn(`write fast flush logfile ${name}: ${strerror(error)}`);
  }
}

/**
 * Writes all of `data` at the end of the locked logfile. On failure: warns,
 * cuts the file back to `sizeBefore` when part of the data got in (fatal if
 * that fails: a torn line would be misread by the next send), returns false.
 */
function appendLines(fd: number, name: string, data: Buffer, sizeBefore: number): boolean {
  let offset = 0;
  try {
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
    return true;
  } catch (error) {
    msg.warn(`write fast flush logfile ${name}: ${strerror(error)}`);
  }
  if (offset > 0) {
    try {
      ftruncateSync(fd, sizeBefore);
    } catch (error) {
      msg.fatal(`flush_add_path: truncate fast flush logfile ${name}: ${strerror(error)}`);
    }
  }
  return false;
}

/**
 * Opens (creating) and locks a logfile for appending; also returns its size
 * under the lock. A refresh removes empty logfiles without taking their lock
 * (C does so too); if that happened between our open and our lock, the file
 * we hold is no longer linked and an id written to it would be lost, so we
 * start over with the new file.
 */
async function openLockedForAppend(
  relPath: string,
  name: string,
): Promise<{ fd: number; lock: HeldLock; sizeBefore: number }> {
  for (;;) {
    let fd: number;
    try {
      fd = openCreating(relPath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT);
    } catch (error) {
      return msg.fatal(`flush_add_path: open fast flush logfile ${name}: ${strerror(error)}`);
    }
    let lock: HeldLock;
    try {
      lock = await lockExclusive(fd, relPath, `flush_add_path: lock fast flush logfile ${name}`);
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
    let info;
    try {
      info = fstatSync(fd);
    } catch (error) {
      lock.unlock(`flush_add_path: unlock fast flush logfile ${name}`);
      closeQuietly(fd);
      return msg.fatal(`flush_add_path: fstat fast flush logfile ${name}: ${strerror(error)}`);
    }
    if (info.nlink > 0) return { fd, lock, sizeBefore: info.size };
    lock.unlock(`flush_add_path: unlock fast flush logfile ${name}`);
    closeQuietly(fd);
  }
}

/* ---- the send side ---- */

/** An open, exclusively locked logfile being flushed (flush_send_path). */
export interface LogfileHandle {
  /** The bare logfile name, for log texts. */
  readonly name: string;
  /**
   * The lines, in order, without their LF; a last line without LF counts, an
   * empty file has none. CR is kept. Each line is cut at its first NUL byte
   * (Postfix handles lines as C strings) and at MAX_KEPT_LINE bytes. Bytes map
   * one-to-one to characters (latin1), so lengths are byte counts. A read
   * error ends the lines early and is reported by close(), as Postfix does.
   * Reads READ_CHUNK bytes at a time, synchronously, as the caller pulls
   * lines. Iterate once.
   */
  lines(): Iterable<string>;
  /** ftruncate(0); fatal on failure. */
  truncate(): void;
  /** Sets atime and mtime to now (marks the logfile as just flushed); errors are ignored. */
  touch(): void;
  /** Unlocks (fatal on failure) and closes (warning on failure or after a read error). Call once. */
  close(): void;
}

class SendLogfile implements LogfileHandle {
  private readError: unknown = undefined;

  constructor(
    readonly name: string,
    private readonly fd: number,
    private readonly lock: HeldLock,
  ) {}

  *lines(): Generator<string> {
    const buffer = takeReadChunk();
    try {
      // The current line so far: its kept characters, whether it has been cut
      // (NUL seen, or MAX_KEPT_LINE reached) so its remaining bytes are
      // dropped, and whether any of its bytes have been read at all.
      let kept = '';
      let cut = false;
      let pending = false;
      for (;;) {
        let bytesRead: number;
        try {
          bytesRead = readSync(this.fd, buffer, 0, READ_CHUNK, null);
        } catch (error) {
          this.readError = error;
          break;
        }
        if (bytesRead === 0) break;
        // One latin1 string per chunk: searching and slicing a string are V8
        // builtins, while a Buffer's indexOf and toString per line run
        // JavaScript wrappers (most of a cold send's time on 1,000 ids).
        const data = buffer.toString('latin1', 0, bytesRead);
        // Where the next NUL at or after `start` is (bytesRead: none); found
        // again only once passed, so each chunk is scanned for NULs once.
        let nul = -1;
        let start = 0;
        while (start < bytesRead) {
          if (nul < start) {
            nul = data.indexOf('\0', start);
            if (nul < 0) nul = bytesRead;
          }
          const lf = data.indexOf('\n', start);
          const end = lf < 0 ? bytesRead : lf;
          if (!cut) {
            const usableEnd = Math.min(end, nul);
            const take = Math.min(usableEnd - start, MAX_KEPT_LINE - kept.length);
            if (lf >= 0 && kept.length === 0) {
              // The whole line is in this chunk.
              yield data.slice(start, start + take);
              start = lf + 1;
              pending = false;
              continue;
            }
            kept += data.slice(start, start + take);
            cut = take < end - start;
          }
          if (lf < 0) {
            pending = true;
            break;
          }
          yield kept;
          kept = '';
          cut = false;
          pending = false;
          start = lf + 1;
        }
      }
      if (pending) yield kept;
    } finally {
      spareReadChunk = buffer;
    }
  }

  truncate(): void {
    try {
      ftruncateSync(this.fd, 0);
    } catch (error) {
      msg.fatal(`flush_send_path: truncate fast flush logfile ${this.name}: ${strerror(error)}`);
    }
  }

  touch(): void {
    const now = Date.now() / 1000;
    try {
      futimesSync(this.fd, now, now);
    } catch {
      // as C's (void) utimes(): a logfile we cannot touch is flushed again sooner, no harm
    }
  }

  close(): void {
    try {
      this.lock.unlock(`flush_send_path: unlock fast flush logfile ${this.name}`);
    } catch (error) {
      closeQuietly(this.fd);
      throw error;
    }
    let closeError = this.readError;
    try {
      closeSync(this.fd);
    } catch (error) {
      closeError ??= error;
    }
    if (closeError !== undefined) {
      msg.warn(`flush_send_path: read fast flush logfile ${this.name}: ${strerror(closeError)}`);
    }
  }
}

/**
 * Opens an existing logfile read-write and locks it exclusively. Returns null
 * when it does not exist (nothing queued for that destination); other open
 * errors and lock failures are fatal.
 */
export async function openLogfileForSend(relPath: string): Promise<LogfileHandle | null> {
  const name = basename(relPath);
  let fd: number;
  try {
    fd = openSync(relPath, constants.O_RDWR);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    return msg.fatal(`flush_send_path: open fast flush logfile ${name}: ${strerror(error)}`);
  }
  try {
    const lock = await lockExclusive(fd, relPath, `flush_send_path: lock fast flush logfile ${name}`);
    return new SendLogfile(name, fd, lock);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}
