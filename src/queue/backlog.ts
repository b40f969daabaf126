/*
 * backlog.ts - read-only view of the fast flush logfiles: which logfiles exist,
 * and for one logfile which of its queue ids still have a queue file, where,
 * and since when. Used by `fastflush status` and `fastflush send --dry-run`.
 *
 * Nothing here changes a byte or a time stamp: logfiles and queue files are
 * opened with O_NOATIME (allowed to their owner and to root; otherwise the open
 * falls back to a plain one, whose read may move the atime on strictatime
 * mounts), queue files are otherwise only stat()ed. A logfile is read under its
 * exclusive lock, as a send would hold it, so that a concurrent add is never
 * seen half written; the lock is held for one read of the file plus one stat()
 * per listed id, which is less than a send does.
 *
 * Queue ids are looked up in the queues a message can wait in and still be
 * flushed later: deferred, incoming, active and hold. The arrival time comes
 * from the queue file's REC_TYPE_TIME record, as showq reads it.
 *
 * Memory: one logfile at a time; the set of its distinct ids (at most 255
 * bytes each) is kept to tell duplicates apart.
 *
 * Exports: WAITING_QUEUES, WaitingQueue, QueueFileState, LogfileBacklog,
 * IdVisitor, findQueueFile(queueDir, id, hashing),
 * readLogfileBacklog(queueDir, name, hashing, visit?), withLockedLogfile(queueDir,
 * name, hashing, flags, body), readLines(fd, onLine).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../util/errors.js';
import { lockExclusive } from './logfile-lock.js';
import { isValidQueueId, MAX_QUEUE_ID_LENGTH } from './queue-id.js';
import { queuePath, type QueueHashing } from './queue-path.js';

/** Where a listed message can be: the order is the order of lookup. */
export const WAITING_QUEUES = ['deferred', 'incoming', 'active', 'hold'] as const;
export type WaitingQueue = (typeof WAITING_QUEUES)[number];

export interface QueueFileState {
  queue: WaitingQueue;
  /** Arrival time in seconds (REC_TYPE_TIME), or the file's mtime when that record is unreadable. */
  arrivalSec: number;
}

export interface LogfileBacklog {
  /** Logfile name (the site with every non-alphanumeric byte as '_'). */
  name: string;
  /** flush/[hash/]name, relative to queue_directory. */
  path: string;
  sizeBytes: number;
  /** atime: the last send (flush) of this logfile. */
  lastFlushSec: number;
  /** mtime: the last add. */
  lastAddSec: number;
  /** Lines (ids) in the logfile, duplicates and malformed lines included. */
  ids: number;
  uniqueIds: number;
  /** Lines that are not valid queue ids. */
  malformed: number;
  /** Distinct ids with a queue file, per queue. */
  queued: Record<WaitingQueue, number>;
  /** Distinct ids with no queue file any more (delivered or removed). */
  stale: number;
  /** Arrival of the oldest and newest of the queued messages (null when none is queued). */
  oldestArrivalSec: number | null;
  newestArrivalSec: number | null;
}

/** Called once per logfile line, in file order: state is null for stale ids, undefined for malformed lines and repeats. */
export type IdVisitor = (id: string, state: QueueFileState | null | undefined, duplicate: boolean) => void;

const O_NOATIME = (constants as Record<string, number>)['O_NOATIME'] ?? 0;

/** open(2) with O_NOATIME, retried without it when we are neither owner nor root; null when absent. */
function openLogfileNoAtime(path: string, flags: number): number | null {
  try {
    try {
      return openSync(path, flags | O_NOATIME);
    } catch (error) {
      if (O_NOATIME === 0 || errorCode(error) !== 'EPERM') throw error;
      return openSync(path, flags);
    }
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

const READ_CHUNK = 64 * 1024;
const LF = 0x0a;

/**
 * Calls onLine for every line of fd from offset 0 (an unterminated last line
 * included), keeping at most one byte more than the longest valid queue id of
 * each line, so memory stays bounded and a cut line is still invalid.
 */
export function readLines(fd: number, onLine: (line: string) => void): void {
  const chunk = Buffer.alloc(READ_CHUNK);
  const kept = Buffer.alloc(MAX_QUEUE_ID_LENGTH + 1);
  let keptLength = 0;
  let sawBytes = false;
  let position = 0;
  for (;;) {
    const got = readSync(fd, chunk, 0, chunk.length, position);
    if (got === 0) break;
    position += got;
    for (let i = 0; i < got; i++) {
      const byte = chunk[i]!;
      if (byte === LF) {
        onLine(kept.toString('latin1', 0, keptLength));
        keptLength = 0;
        sawBytes = false;
      } else {
        sawBytes = true;
        if (keptLength < kept.length) kept[keptLength++] = byte;
      }
    }
  }
  if (sawBytes) onLine(kept.toString('latin1', 0, keptLength));
}

const REC_TYPE_TIME = 'T'.charCodeAt(0);
const REC_TYPE_MESSAGE = 'M'.charCodeAt(0);
const HEADER_BYTES = 4096;

/** REC_TYPE_TIME's seconds from the records that precede the message content, or null. */
function arrivalFromRecords(path: string): number | null {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | O_NOATIME);
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    const got = readSync(fd, head, 0, head.length, 0);
    let at = 0;
    while (at < got) {
      const type = head[at++]!;
      let length = 0;
      let shift = 0;
      let byte;
      do {
        if (at >= got || shift > 28) return null;
        byte = head[at++]!;
        length |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte & 0x80);
      if (type === REC_TYPE_MESSAGE || at + length > got) return null;
      if (type === REC_TYPE_TIME) {
        const seconds = /^(\d+)/.exec(head.toString('latin1', at, at + length));
        return seconds === null ? null : Number(seconds[1]);
      }
      at += length;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The queue that holds `id`, with its arrival time; null when no queue file exists. */
export function findQueueFile(queueDir: string, id: string, hashing: QueueHashing): QueueFileState | null {
  for (const queue of WAITING_QUEUES) {
    const path = join(queueDir, queuePath(queue, id, hashing));
    let info;
    try {
      info = statSync(path);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw error;
    }
    return { queue, arrivalSec: arrivalFromRecords(path) ?? Math.floor(info.mtimeMs / 1000) };
  }
  return null;
}

/**
 * Opens logfile `name` with O_NOATIME and `flags`, takes its exclusive lock,
 * and runs `body` with the descriptor, its fstat() under the lock and its
 * path relative to queueDir; then unlocks and closes. Null (and no body) when
 * the logfile does not exist. The shape both the read-only view and
 * compact.ts use.
 */
export async function withLockedLogfile<T>(
  queueDir: string,
  name: string,
  hashing: QueueHashing,
  flags: number,
  body: (fd: number, info: Stats, path: string) => T,
): Promise<T | null> {
  const path = queuePath('flush', name, hashing);
  const fd = openLogfileNoAtime(join(queueDir, path), flags);
  if (fd === null) return null;
  try {
    const lock = await lockExclusive(fd, path, `lock fast flush logfile ${name}`);
    try {
      return body(fd, fstatSync(fd), path);
    } finally {
      lock.unlock(`unlock fast flush logfile ${name}`);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The backlog of one logfile (null when it does not exist). `visit` sees each
 * line with what was found for it.
 */
export async function readLogfileBacklog(
  queueDir: string,
  name: string,
  hashing: QueueHashing,
  visit?: IdVisitor,
): Promise<LogfileBacklog | null> {
  return withLockedLogfile(queueDir, name, hashing, constants.O_RDONLY, (fd, info, path) => {
    const backlog: LogfileBacklog = {
      name,
      path,
      sizeBytes: info.size,
      lastFlushSec: Math.floor(info.atimeMs / 1000),
      lastAddSec: Math.floor(info.mtimeMs / 1000),
      ids: 0,
      uniqueIds: 0,
      malformed: 0,
      queued: { deferred: 0, incoming: 0, active: 0, hold: 0 },
      stale: 0,
      oldestArrivalSec: null,
      newestArrivalSec: null,
    };
    const seen = new Set<string>();
    readLines(fd, (id) => {
      backlog.ids++;
      if (!isValidQueueId(id)) {
        backlog.malformed++;
        visit?.(id, undefined, false);
        return;
      }
      if (seen.has(id)) {
        visit?.(id, undefined, true);
        return;
      }
      seen.add(id);
      const state = findQueueFile(queueDir, id, hashing);
      if (state === null) {
        backlog.stale++;
      } else {
        backlog.queued[state.queue]++;
        backlog.oldestArrivalSec = Math.min(backlog.oldestArrivalSec ?? Infinity, state.arrivalSec);
        backlog.newestArrivalSec = Math.max(backlog.newestArrivalSec ?? -Infinity, state.arrivalSec);
      }
      visit?.(id, state, false);
    });
    backlog.uniqueIds = seen.size;
    return backlog;
  });
}
