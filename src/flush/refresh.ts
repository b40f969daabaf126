/*
 * refresh.ts - housekeeping over every logfile (rfrsh, purge, master's wakeup).
 *
 * A non-empty logfile whose atime (last flush) is older than max_age is sent
 * without the 'F' trigger; an empty one unchanged for fast_flush_purge_time is
 * removed. purge is the same walk with max_age 0. Both comparisons are strict,
 * as in C, so a logfile flushed in this very second is left alone.
 *
 * The walk (queue/logfile-walk.ts) visits the names C's walk visits; it
 * streams each directory and pauses under one TimeSlice that the sends it
 * starts share, with their stat/unlink calls synchronous, so a walk over many
 * logfiles keeps yielding to the other clients of this process. The 'I'
 * triggers of its sends go out in one TriggerBatch (queue/trigger.ts): at
 * the first logfile after a request has waited BATCH_DELAY_MS, and at the
 * end of the walk (also when it fails).
 *
 * With fastflush_compact_on_refresh, each logfile is compacted first
 * (src/queue/compact.ts: stale and repeated ids dropped under its lock).
 *
 * Exports: refreshLogfiles(maxAge, settings).
 */
import { statSync, unlinkSync } from 'node:fs';
import { compactLogfile } from '../queue/compact.js';
import { walkLogfiles } from '../queue/logfile-walk.js';
import { queuePath } from '../queue/queue-path.js';
import { TimeSlice } from '../queue/time-slice.js';
import { TriggerBatch } from '../queue/trigger.js';
import { strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';
import { eventTime, sendLogfile } from './send.js';
import type { FlushSettings } from './settings.js';

/** Fatal as in C (scan_dir_push): a flush directory we cannot read is a broken setup. */
function openFailure(dir: string, error: unknown): never {
  return msg.fatal(`scan_dir_push: open directory ${dir}: ${strerror(error)}`);
}

export async function refreshLogfiles(maxAge: number, settings: FlushSettings): Promise<void> {
  const now = eventTime();
  const slice = new TimeSlice();
  const scanTriggers = new TriggerBatch(settings.queueTriggerPath, settings.triggerTimeout);
  try {
    for await (const { name } of walkLogfiles('flush', openFailure, slice)) {
      if (scanTriggers.due()) await scanTriggers.flush();
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
        await sendLogfile(name, 'refresh-only', settings, slice, scanTriggers);
      }
    }
  } finally {
    await scanTriggers.flush();
  }
}
