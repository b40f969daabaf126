/*
 * refresh.ts - housekeeping over every logfile (rfrsh, purge, master's wakeup).
 *
 * A non-empty logfile whose atime (last flush) is older than max_age is sent
 * without the 'F' trigger; an empty one unchanged for fast_flush_purge_time is
 * removed. purge is the same walk with max_age 0. Both comparisons are strict,
 * as in C, so a logfile flushed in this very second is left alone.
 *
 * With hashed logfiles the walk descends into one-character subdirectories.
 * Postfix's walk dies on a one-character *logfile* (site "x"); we treat such a
 * regular file as a logfile instead, so one odd site cannot stop housekeeping.
 *
 * The walk streams each directory (opendir, as C's scan_dir does) instead of
 * reading it whole, and does its stat/unlink calls synchronously under one
 * TimeSlice that the sends it starts share, so a walk over many logfiles keeps
 * yielding to the other clients of this process.
 *
 * With fastflush_compact_on_refresh, each logfile is compacted first
 * (src/queue/compact.ts: stale and repeated ids dropped under its lock).
 *
 * Exports: refreshLogfiles(maxAge, settings).
 */
import { opendirSync, statSync, unlinkSync, type Dir } from 'node:fs';
import { isValidQueueId } from '../queue/queue-id.js';
import { compactLogfile } from '../queue/compact.js';
import { queuePath } from '../queue/queue-path.js';
import { strerror } from '../queue/errors.js';
import { TimeSlice } from '../queue/time-slice.js';
import { msg } from '../util/msg.js';
import { eventTime, sendLogfile } from './send.js';
import type { FlushSettings } from './settings.js';

/** Logfile names below `dir`, descending into one-character hash directories. */
async function* logfileNames(dir: string, slice: TimeSlice): AsyncGenerator<string> {
  let listing: Dir;
  try {
    listing = opendirSync(dir);
  } catch (error) {
    // Fatal as in C (scan_dir_push): a flush directory we cannot read is a broken setup.
    return msg.fatal(`scan_dir_push: open directory ${dir}: ${strerror(error)}`);
  }
  try {
    for (;;) {
      if (slice.expired()) await slice.pause();
      const entry = listing.readSync();
      if (entry === null) return;
      if (entry.name.length === 1 && entry.isDirectory()) {
        yield* logfileNames(`${dir}/${entry.name}`, slice);
      } else {
        yield entry.name;
      }
    }
  } finally {
    listing.closeSync();
  }
}

export async function refreshLogfiles(maxAge: number, settings: FlushSettings): Promise<void> {
  const now = eventTime();
  const slice = new TimeSlice();
  for await (const name of logfileNames('flush', slice)) {
    if (!isValidQueueId(name)) continue;
    const path = queuePath('flush', name, settings.hashing);
    if (settings.compactOnRefresh) {
      // fastflush_compact_on_refresh: drop stale and repeated ids first, under the logfile's lock.
      await compactLogfile('.', name, settings.hashing).catch((error: unknown) => {
        msg.warn(`compact fast flush logfile ${name}: ${strerror(error)}`);
      });
    }
    let info;
    try {
      info = statSync(path, { throwIfNoEntry: false });
    } catch (error) {
      msg.warn(`flush_refresh_service: stat ${path}: ${strerror(error)}`);
      continue;
    }
    if (info === undefined) continue;
    if (info.size === 0) {
      if (Math.floor(info.mtimeMs / 1000) + settings.purgeTime < now) {
        try {
          unlinkSync(path);
        } catch (error) {
          msg.warn(`remove logfile ${path}: ${strerror(error)}`);
        }
      }
    } else if (Math.floor(info.atimeMs / 1000) + maxAge < now) {
      await sendLogfile(name, 'refresh-only', settings, slice);
    }
  }
}
