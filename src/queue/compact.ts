/*
 * compact.ts - rewrite a fast flush logfile without the ids that no longer
 * name a queue file and without repeated ids (flush.8 BUGS: logfiles keep the
 * ids of mail delivered long ago until someone flushes).
 *
 * The rewrite happens in place, under the logfile's exclusive lock, so the
 * daemon's adds (ours or C flush's) wait on the lock and append after it:
 * replacing the file by rename would let an add that already holds the old
 * file's descriptor append to an unlinked inode, and its id would be lost. The
 * kept ids are written with one write(2) from offset 0 and the file is then
 * truncated to their length; no queue file is touched, so nothing is
 * delivered. The atime (last flush) and mtime (last add) are put back, so that
 * refresh decides as it would have before the compaction.
 *
 * The open (O_NOATIME), lock, fstat, unlock and close are backlog.ts's
 * withLockedLogfile, as for the read-only view.
 *
 * An id is kept when it has a queue file in deferred, incoming, active or hold
 * (backlog.ts, findQueueFile): a held message can be released back into the
 * deferred queue and flushed later. Malformed lines are dropped: send skips
 * them with a warning and would never act on them.
 *
 * Exports: CompactResult, compactLogfile(queueDir, name, hashing).
 */
import { constants, ftruncateSync, futimesSync, writeSync } from 'node:fs';
import { findQueueFile, readLines, withLockedLogfile } from './backlog.js';
import { isValidQueueId } from './queue-id.js';
import type { QueueHashing } from './queue-path.js';

export interface CompactResult {
  name: string;
  /** Lines before and after. */
  before: number;
  kept: number;
  /** Distinct ids dropped because no queue file exists. */
  stale: number;
  /** Repeated lines dropped. */
  duplicates: number;
  /** Lines that were not queue ids. */
  malformed: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** Compacts one logfile; null when it does not exist. Leaves the file as it was when nothing is dropped. */
export async function compactLogfile(queueDir: string, name: string, hashing: QueueHashing): Promise<CompactResult | null> {
  return withLockedLogfile(queueDir, name, hashing, constants.O_RDWR, (fd, info) => {
    const result: CompactResult = {
      name,
      before: 0,
      kept: 0,
      stale: 0,
      duplicates: 0,
      malformed: 0,
      bytesBefore: info.size,
      bytesAfter: info.size,
    };
    const seen = new Set<string>();
    const keep: string[] = [];
    readLines(fd, (id) => {
      result.before++;
      if (!isValidQueueId(id)) {
        result.malformed++;
      } else if (seen.has(id)) {
        result.duplicates++;
      } else {
        seen.add(id);
        if (findQueueFile(queueDir, id, hashing) === null) result.stale++;
        else keep.push(id);
      }
    });
    result.kept = keep.length;
    if (result.kept === result.before) return result;

    const content = Buffer.from(keep.map((id) => `${id}\n`).join(''), 'latin1');
    let written = 0;
    while (written < content.length) written += writeSync(fd, content, written, content.length - written, written);
    ftruncateSync(fd, content.length);
    futimesSync(fd, info.atimeMs / 1000, info.mtimeMs / 1000);
    result.bytesAfter = content.length;
    return result;
  });
}
