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
 * Other failures are warnings with Postfix's wording. All system calls are
 * synchronous (microseconds each); callers with many files to handle use a
 * TimeSlice between them. The time stamp update and the rename, made for
 * every id of a send, report failure as an errno code instead of a thrown
 * error (native setTimes/renameFile): most ids of a logfile have no queue
 * file, and a thrown Node error costs several times the failed system call.
 *
 * A caller that learned part of step 1 in advance (queue-listing.ts) says so
 * with a QueueFileStart: the file is not in deferred (step 1 begins with the
 * incoming utime, where C goes after its deferred utime failed, warning first
 * if that failure was not ENOENT), or the deferred utime was already made and
 * succeeded (step 1 is done; stampQueueFile made it).
 *
 * Exports: flushOneFile(id, now, mode, hashing, start?), stampQueueFile(queue, id,
 *          now, hashing), QueueFileStart, FROM_DEFERRED, UnthrottleMode, QueueName, DEFERRED,
 *          INCOMING
 */
import { closeSync, constants, fchmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { renameFile, setTimes } from '../native/posix.js';
import { strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';
import { queuePath, type QueueHashing } from './queue-path.js';
import { safeOpenExisting } from './safe-open.js';

/** 'unthrottle-before' also covers refresh/purge: both leave the file mode alone. */
export type UnthrottleMode = 'unthrottle-before' | 'unthrottle-after';

export const DEFERRED = 'deferred';
export const INCOMING = 'incoming';
/** The queues flush moves files between. */
export type QueueName = typeof DEFERRED | typeof INCOMING;

/**
 * Step 1 as far as it is known before the id's turn: `probeFrom` the queue
 * whose utime comes next (`deferredFailure`: the errno code of a deferred
 * utime that failed otherwise than ENOENT, still to be warned about), or
 * `stampedIn` deferred: its utime succeeded.
 */
export type QueueFileStart =
  | { readonly probeFrom: QueueName; readonly deferredFailure?: string }
  | { readonly stampedIn: typeof DEFERRED };

/** C's own start: the deferred utime. */
export const FROM_DEFERRED: QueueFileStart = { probeFrom: DEFERRED };

/** MAIL_QUEUE_STAT_READY: owner rwx; a file without all three is not complete yet. */
const STAT_READY = 0o700;
/** MAIL_QUEUE_STAT_UNTHROTTLE: group read. */
const STAT_UNTHROTTLE = 0o040;
const QUEUE_DIR_MODE = 0o700;

/**
 * rename(), and when that fails with ENOENT, create the target's directories
 * and retry once (mail_queue_rename). Returns null or the last errno code.
 */
function renameCreatingDirs(from: string, to: string): string | null {
  const failure = renameFile(from, to);
  if (failure !== 'ENOENT') return failure;
  try {
    mkdirSync(dirname(to), { recursive: true, mode: QUEUE_DIR_MODE });
  } catch {
    return failure;
  }
  return renameFile(from, to);
}

const MYNAME = 'flush_one_file';

function warnStampFailure(path: string, failure: string): void {
  if (failure !== 'ENOENT') msg.warn(`${MYNAME}: update ${path} time stamps: ${strerror(failure)}`);
}

/** Step 1's system call: the queue file's atime and mtime set to `now`. Null, or the errno code. */
export function stampQueueFile(queue: QueueName, id: string, now: number, hashing: QueueHashing): string | null {
  return setTimes(queuePath(queue, id, hashing), now);
}

/**
 * Returns true when the file was found and handled (counts as one unit of
 * work for the logfile's count, and makes send_file trigger qmgr). `now` is
 * in whole seconds (the event-loop clock of the request).
 */
export function flushOneFile(
  id: string,
  now: number,
  mode: UnthrottleMode,
  hashing: QueueHashing,
  start: QueueFileStart = FROM_DEFERRED,
): boolean {
  // Another flush process may have just moved it from deferred to incoming.
  let queue: QueueName;
  let path: string;
  if ('stampedIn' in start) {
    queue = start.stampedIn;
    path = queuePath(queue, id, hashing);
  } else {
    if (start.deferredFailure !== undefined) warnStampFailure(queuePath(DEFERRED, id, hashing), start.deferredFailure);
    queue = start.probeFrom;
    for (;;) {
      path = queuePath(queue, id, hashing);
      const failure = setTimes(path, now);
      if (failure === null) break;
      warnStampFailure(path, failure);
      if (queue === INCOMING) return false;
      queue = INCOMING;
    }
  }

  if (mode === 'unthrottle-after') {
    let opened = safeOpenExisting(path, constants.O_RDWR);
    if (!opened.ok && opened.code === 'ENOENT' && queue !== INCOMING) {
      queue = INCOMING;
      path = queuePath(queue, id, hashing);
      opened = safeOpenExisting(path, constants.O_RDWR);
    }
    if (!opened.ok) {
      if (opened.code !== 'ENOENT') msg.warn(`${MYNAME}: open ${path}: ${opened.why}`);
      return false;
    }
    const fileMode = Number(opened.stat.mode);
    try {
      if ((fileMode & STAT_READY) !== STAT_READY) return false;
      try {
        fchmodSync(opened.fd, fileMode | STAT_UNTHROTTLE);
      } catch (error) {
        msg.warn(`${MYNAME}: fchmod ${path}: ${strerror(error)}`);
      }
    } finally {
      try {
        closeSync(opened.fd);
      } catch {
        // C ignores this close's result too
      }
    }
  }

  if (queue !== INCOMING) {
    const failure = renameCreatingDirs(path, queuePath(INCOMING, id, hashing));
    if (failure !== null && failure !== 'ENOENT') {
      msg.warn(`${path}: rename from ${queue} to ${INCOMING}: ${strerror(failure)}`);
    }
  }
  return true;
}
