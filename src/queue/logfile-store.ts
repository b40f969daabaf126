/*
 * logfile-store.ts - the I/O flush(8) does on its per-destination logfiles
 * (flush/[hash/]name, one queue ID per line), with Postfix's locking, file
 * modes and log texts.
 *
 *   appendQueueId(relPath, id)      the "add" side: create if needed, lock,
 *                                   append "id\n", unlock, close.
 *   openLogfileForSend(relPath)     the "send" side: open and lock an existing
 *                                   logfile (null when there is none); the
 *                                   handle streams lines, truncates, touches,
 *                                   and closes (which unlocks).
 *
 * PATH in log texts is the bare logfile name (the last component of relPath),
 * as in Postfix. Memory stays bounded however large the file or its lines: it
 * is read in chunks and only the first MAX_KEPT_LINE bytes of a line are kept.
 *
 * Exports: appendQueueId, openLogfileForSend, LogfileHandle, MAX_KEPT_LINE
 */
import { constants, fstatSync } from 'node:fs';
import { mkdir, open, utimes, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { msg } from '../util/msg.js';
import { errorCode, strerror } from './errors.js';
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
const LF = 0x0a;
const NUL = 0x00;

/** Opens with O_CREAT, creating missing parent (hash) directories once if needed, like mail_queue_open. */
async function openCreating(relPath: string, flags: number): Promise<FileHandle> {
  try {
    return await open(relPath, flags, LOGFILE_MODE);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    try {
      await mkdir(dirname(relPath), { recursive: true, mode: HASH_DIR_MODE });
    } catch {
      throw error;
    }
    return await open(relPath, flags, LOGFILE_MODE);
  }
}

/** Writes all of `data` at the file's (append) position. */
async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/**
 * flush_add_path's file work: append `id` + LF to the logfile under an
 * exclusive lock. Open, lock and unlock failures are fatal; write and close
 * failures are warnings. The caller has validated `id` and the name.
 */
export async function appendQueueId(relPath: string, id: string): Promise<void> {
  const name = basename(relPath);
  const { handle, lock } = await openLockedForAppend(relPath, name);
  try {
    await writeAll(handle, Buffer.from(`${id}\n`, 'latin1'));
  } catch (error) {
    msg.warn(`write fast flush logfile ${name}: ${strerror(error)}`);
  }
  try {
    lock.unlock(`flush_add_path: unlock fast flush logfile ${name}`);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  try {
    await handle.close();
  } catch (error) {
    msg.warn(`write fast flush logfile ${name}: ${strerror(error)}`);
  }
}

/**
 * Opens (creating) and locks a logfile for appending. A refresh removes empty
 * logfiles without taking their lock (C does so too); if that happened between
 * our open and our lock, the file we hold is no longer linked and an id written
 * to it would be lost, so we start over with the new file.
 */
async function openLockedForAppend(relPath: string, name: string): Promise<{ handle: FileHandle; lock: HeldLock }> {
  for (;;) {
    let handle: FileHandle;
    try {
      handle = await openCreating(relPath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT);
    } catch (error) {
      return msg.fatal(`flush_add_path: open fast flush logfile ${name}: ${strerror(error)}`);
    }
    let lock: HeldLock;
    try {
      lock = await lockExclusive(handle.fd, relPath, `flush_add_path: lock fast flush logfile ${name}`);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    if (fstatSync(handle.fd).nlink > 0) return { handle, lock };
    lock.unlock(`flush_add_path: unlock fast flush logfile ${name}`);
    await handle.close().catch(() => undefined);
  }
}

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
   * Iterate once.
   */
  lines(): AsyncIterable<string>;
  /** ftruncate(0); fatal on failure. */
  truncate(): Promise<void>;
  /** Sets atime and mtime to now (marks the logfile as just flushed); errors are ignored. */
  touch(): Promise<void>;
  /** Unlocks (fatal on failure) and closes (warning on failure or after a read error). Call once. */
  close(): Promise<void>;
}

class SendLogfile implements LogfileHandle {
  private readError: unknown = undefined;

  constructor(
    readonly name: string,
    private readonly relPath: string,
    private readonly handle: FileHandle,
    private readonly lock: HeldLock,
  ) {}

  async *lines(): AsyncGenerator<string> {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    // The current line so far: its kept bytes, whether it has been cut (NUL
    // seen, or MAX_KEPT_LINE reached) so its remaining bytes are dropped, and
    // whether any of its bytes have been read at all.
    const kept = Buffer.allocUnsafe(MAX_KEPT_LINE);
    let keptLength = 0;
    let cut = false;
    let pending = false;
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(buffer, 0, READ_CHUNK, null));
      } catch (error) {
        this.readError = error;
        break;
      }
      if (bytesRead === 0) break;
      const data = buffer.subarray(0, bytesRead);
      let start = 0;
      while (start < data.length) {
        const lf = data.indexOf(LF, start);
        const end = lf < 0 ? data.length : lf;
        if (!cut) {
          const piece = data.subarray(start, end);
          const nul = piece.indexOf(NUL);
          const usable = nul < 0 ? piece.length : nul;
          const take = Math.min(usable, MAX_KEPT_LINE - keptLength);
          piece.copy(kept, keptLength, 0, take);
          keptLength += take;
          cut = take < piece.length;
        }
        if (lf < 0) {
          pending = true;
          break;
        }
        yield kept.toString('latin1', 0, keptLength);
        keptLength = 0;
        cut = false;
        pending = false;
        start = lf + 1;
      }
    }
    if (pending) yield kept.toString('latin1', 0, keptLength);
  }

  async truncate(): Promise<void> {
    try {
      await this.handle.truncate(0);
    } catch (error) {
      msg.fatal(`flush_send_path: truncate fast flush logfile ${this.name}: ${strerror(error)}`);
    }
  }

  async touch(): Promise<void> {
    const now = new Date();
    await utimes(this.relPath, now, now).catch(() => undefined);
  }

  async close(): Promise<void> {
    try {
      this.lock.unlock(`flush_send_path: unlock fast flush logfile ${this.name}`);
    } catch (error) {
      await this.handle.close().catch(() => undefined);
      throw error;
    }
    let closeError = this.readError;
    try {
      await this.handle.close();
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
  let handle: FileHandle;
  try {
    handle = await open(relPath, constants.O_RDWR);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    return msg.fatal(`flush_send_path: open fast flush logfile ${name}: ${strerror(error)}`);
  }
  try {
    const lock = await lockExclusive(handle.fd, relPath, `flush_send_path: lock fast flush logfile ${name}`);
    return new SendLogfile(name, relPath, handle, lock);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}
