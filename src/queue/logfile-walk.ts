/*
 * logfile-walk.ts - the one walk over the fast flush logfiles, as flush(8)'s
 * refresh does it (flush_refresh_service over mail_scan_dir_next): used by
 * the refresh, purge and wakeup requests and by `fastflush status`.
 *
 * Which names: every directory entry below the flush directory whose name is
 * a valid queue id (mail_queue_id_ok), except one-character directories,
 * which are descended into (the hash levels of hash_queue_names). "." and
 * ".." never appear. Each name is yielded as a bare name: the caller derives
 * its path with queuePath(), as C does, so a logfile in the wrong hash
 * directory is looked for where it belongs. Entries are yielded whatever
 * their type (C stat()s the path, following symlinks); the Dirent lets a
 * caller that reads files skip what is not a regular file.
 *
 * Deviation from C: a one-character name that is not a directory (a logfile
 * for site "x") is a logfile here; C pushes every one-character name as a
 * directory and dies on it, so one odd site would stop every refresh.
 *
 * Each directory is streamed (opendir, as scan_dir does), never read whole,
 * so memory stays bounded however many logfiles there are; with a TimeSlice
 * the walk pauses between entries when the slice is used up, so a walk over
 * many logfiles keeps yielding to the other clients of the process. A
 * directory that cannot be opened goes to the caller's onOpenFailure, which
 * must not return (C's scan_dir_push is fatal).
 *
 * Exports: walkLogfiles(dir, onOpenFailure, slice?), LogfileEntry.
 */
import { opendirSync, type Dir, type Dirent } from 'node:fs';
import { isValidQueueId } from './queue-id.js';
import type { TimeSlice } from './time-slice.js';

export interface LogfileEntry {
  /** The logfile name (a valid queue id). */
  name: string;
  /** Its directory entry, for the entry's type (not followed through symlinks). */
  dirent: Dirent;
}

/** Logfiles below `dir` (e.g. 'flush', relative to queue_directory), in directory order. */
export async function* walkLogfiles(
  dir: string,
  onOpenFailure: (dir: string, error: unknown) => never,
  slice?: TimeSlice,
): AsyncGenerator<LogfileEntry> {
  let listing: Dir;
  try {
    listing = opendirSync(dir);
  } catch (error) {
    return onOpenFailure(dir, error);
  }
  try {
    for (;;) {
      if (slice?.expired() === true) await slice.pause();
      const dirent = listing.readSync();
      if (dirent === null) return;
      if (dirent.name.length === 1 && dirent.isDirectory()) {
        yield* walkLogfiles(`${dir}/${dirent.name}`, onOpenFailure, slice);
      } else if (isValidQueueId(dirent.name)) {
        yield { name: dirent.name, dirent };
      }
    }
  } finally {
    listing.closeSync();
  }
}
