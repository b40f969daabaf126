/*
 * queue-file.ts - flush(8)'s action on one queue file (flush_one_file): make
 * a deferred (or incoming) message eligible for immediate delivery and move
 * it to the incoming queue, where qmgr picks it up after an 'I' trigger.
 *
 *   1. utime(deferred path, now); if it is not there, utime(incoming path).
 *      Neither there: nothing done.
 *   2. 'unthrottle-after' only (send_file): safe-open the file, skip it if
 *      it is not ready (owner rwx not all set: still being written), and set
 *      group-read, which tells qmgr to unthrottle the message's destinations.
 *      fchmod() on the opened file, never chmod() by name, so a file swapped
 *      in meanwhile cannot be changed.
 *   3. rename deferred -> incoming (creating missing incoming hash
 *      directories and retrying once).
 * ENOENT is silent everywhere: another flush process may have moved the file.
 * Other failures are warnings with Postfix's wording.
 *
 * Exports: flushOneFile(id, now, mode, hashing), UnthrottleMode
 */
import { constants } from 'node:fs';
import { mkdir, rename, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { msg } from '../util/msg.js';
import { errorCode, strerror } from './errors.js';
import { queuePath, type QueueHashing } from './queue-path.js';
import { safeOpenExisting } from './safe-open.js';

/** 'unthrottle-before' also covers refresh/purge: both leave the file mode alone. */
export type UnthrottleMode = 'unthrottle-before' | 'unthrottle-after';

const DEFERRED = 'deferred';
const INCOMING = 'incoming';
/** MAIL_QUEUE_STAT_READY: owner rwx; a file without all three is not complete yet. */
const STAT_READY = 0o700;
/** MAIL_QUEUE_STAT_UNTHROTTLE: group read. */
const STAT_UNTHROTTLE = 0o040;
const QUEUE_DIR_MODE = 0o700;

/** rename(), and on failure create the target's directories and retry once (mail_queue_rename). */
async function renameCreatingDirs(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch {
    await mkdir(dirname(to), { recursive: true, mode: QUEUE_DIR_MODE });
    await rename(from, to);
  }
}

/**
 * Returns true when the file was found and handled (counts as one unit of
 * work for the logfile's count, and makes send_file trigger qmgr). `now` is
 * in whole seconds (the event-loop clock of the request).
 */
export async function flushOneFile(
  id: string,
  now: number,
  mode: UnthrottleMode,
  hashing: QueueHashing,
): Promise<boolean> {
  const myname = 'flush_one_file';

  // Another flush process may have just moved it from deferred to incoming.
  let queue = DEFERRED;
  let path = queuePath(queue, id, hashing);
  for (;;) {
    try {
      await utimes(path, now, now);
      break;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') msg.warn(`${myname}: update ${path} time stamps: ${strerror(error)}`);
      if (queue === INCOMING) return false;
      queue = INCOMING;
      path = queuePath(queue, id, hashing);
    }
  }

  if (mode === 'unthrottle-after') {
    let opened = await safeOpenExisting(path, constants.O_RDWR);
    if (!opened.ok && opened.code === 'ENOENT' && queue !== INCOMING) {
      queue = INCOMING;
      path = queuePath(queue, id, hashing);
      opened = await safeOpenExisting(path, constants.O_RDWR);
    }
    if (!opened.ok) {
      if (opened.code !== 'ENOENT') msg.warn(`${myname}: open ${path}: ${opened.why}`);
      return false;
    }
    const fileMode = Number(opened.stat.mode);
    try {
      if ((fileMode & STAT_READY) !== STAT_READY) return false;
      try {
        await opened.handle.chmod(fileMode | STAT_UNTHROTTLE);
      } catch (error) {
        msg.warn(`${myname}: fchmod ${path}: ${strerror(error)}`);
      }
    } finally {
      await opened.handle.close().catch(() => undefined);
    }
  }

  if (queue !== INCOMING) {
    try {
      await renameCreatingDirs(path, queuePath(INCOMING, id, hashing));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        msg.warn(`${path}: rename from ${queue} to ${INCOMING}: ${strerror(error)}`);
      }
    }
  }
  return true;
}
