/*
 * queue-listing.ts - learn which of many queue ids have a file in deferred or
 * incoming by reading hash directories once, instead of one failing utime()
 * per id and queue.
 *
 * A send (flush_send_path) handles each listed id with flush_one_file:
 * utime(deferred path), on ENOENT utime(incoming path), then the rename. For
 * an id with no queue file (long since delivered: the common case in a
 * logfile) that is two failed system calls. Per batch of ids, before any id
 * of the batch is handled:
 *   1. Deferred: a directory where enough of the batch's ids fall (and not
 *      too large) is listed; an id it lacks starts at incoming. The ids of
 *      the other deferred directories get their deferred utime now, which is
 *      C's first step made early: success means the file is stamped (its
 *      turn goes on with the rename), ENOENT means it starts at incoming, any
 *      other failure is warned about at its turn, as C would.
 *   2. Incoming: the ids not in deferred are grouped by incoming directory,
 *      listed the same way; an id in neither is skipped at its turn.
 * Every other id goes through C's exact sequence at its turn.
 *
 * Why every outcome is one C could have had. For each id the probes keep C's
 * order: deferred (a listing or the utime), then incoming (a listing), then
 * the rename, only some of them earlier in the send. Skipping an id amounts
 * to C's utime(deferred) failing at the moment of the deferred probe and its
 * utime(incoming) failing at the moment of the incoming listing; all deferred
 * probes of a batch come before any incoming listing, so a file another flush
 * process moves deferred -> incoming in between is seen in incoming. Our own
 * send cannot put a file where a listing said there was none: it only moves
 * an id's file while handling that id, after the batch's probes (an earlier
 * batch's moves are already in them; an id listed twice in one batch, past
 * C's duplicate filter, was stamped in deferred and is then renamed once and
 * found gone the second time, which ends as C's second visit ends: the file
 * in incoming, stamped `now`). A file stamped early and taken meanwhile (qmgr
 * moving a due deferred file to active, another flush process moving it to
 * incoming) makes the rename fail with ENOENT, silently, as in C's own window
 * between its utime and its rename. So a difference from C needs a file that
 * arrives in deferred, or in incoming, between our probe and the moment C
 * would have probed: such a file comes from active (a delivery agent deferred
 * it: if for this site, its flush add waits for the logfile lock our send
 * holds, so the id is appended after our truncate and is not lost; if only
 * for other sites, their logfiles have it), from hold (postsuper -H: C,
 * probing a moment earlier, misses it just the same), or is new mail in
 * incoming, which qmgr picks up anyway. A file that disappears after a
 * listing saw it is handled as C handles it (ENOENT is silent, then the
 * incoming fallback).
 *
 * When to list: a listing pays only where a directory holds few entries per
 * id asked about. Measured (2026-12-03, ext4, Node 20, this file's loops in a
 * scratch script, warm, medians of 21): a probe that fails costs about 2 µs,
 * a listing about 1 µs per entry plus ~100 µs to stat, open and close the
 * directory and index the ids; listing 640 entries for 640 ids took 0.75x
 * the time of their probes, for 320 ids 1.2x, for 160 ids 2.5x, for 80 ids
 * 4.8x (6,000 entries: 0.76x for 4,000 ids, 1.6x for 2,000). So a directory
 * is listed for at least MIN_IDS_PER_LISTING ids (the opening cost) and at
 * most MAX_ENTRIES_PER_ID estimated entries per id, the entry count estimated
 * from the directory's size in bytes (which overestimates it, 1.3-2x on ext4
 * and tmpfs; a one-block ext4 directory counts as 256). Listings are
 * streamed (opendir) and keep only the names asked about; they and the
 * early probes run under the caller's TimeSlice, while the grouping of a
 * batch's ids by directory and what a listing says of them are memory work
 * of a batch at most and run without pauses. A directory that cannot be
 * listed teaches nothing (its ids go through C's sequence, which reports any
 * error as C does); one that does not exist holds no files.
 *
 * Exports: locateQueueFiles(ids, hashing, now, slice) -> QueueFileSightings
 */
import { opendirSync, statSync, type Dir } from 'node:fs';
import { errorCode } from '../util/errors.js';
import { DEFERRED, FROM_DEFERRED, INCOMING, stampQueueFile, type QueueFileStart } from './queue-file.js';
import { groupByQueueDirectory, type QueueHashing } from './queue-path.js';
import type { TimeSlice } from './time-slice.js';

/** Fewer ids than this in a directory are probed one by one, as in C (opening a listing costs ~50 probes). */
const MIN_IDS_PER_LISTING = 64;
/** Listed when its estimated entry count is at most this many per id asked about (~2 real entries). */
const MAX_ENTRIES_PER_ID = 3;
/** No common file system reports less than this many directory bytes per entry. */
const MIN_BYTES_PER_ENTRY = 16;
/** Entries Node fetches per readdir round; the kernel's getdents size is glibc's either way. */
const DIR_BUFFER_ENTRIES = 256;

export interface QueueFileSightings {
  /**
   * Where flush_one_file stands for `id` at its turn (FROM_DEFERRED, C's own
   * start, when nothing was learned), or null when it has no queue file.
   */
  startFor(id: string): QueueFileStart | null;
}

/** Opens `dir` for listing, or returns null (no listing) / 'absent' (no such directory). */
function openListing(dir: string, asked: number): Dir | 'absent' | null {
  if (asked < MIN_IDS_PER_LISTING) return null;
  try {
    if (statSync(dir).size / MIN_BYTES_PER_ENTRY > asked * MAX_ENTRIES_PER_ID) return null;
    return opendirSync(dir, { bufferSize: DIR_BUFFER_ENTRIES });
  } catch (error) {
    return errorCode(error) === 'ENOENT' ? 'absent' : null;
  }
}

/**
 * Lists `dir` and returns which of `asked` it holds, or null when it was not
 * listed (too few ids, too large, or unreadable).
 */
async function presentIn(dir: string, asked: readonly string[], slice: TimeSlice): Promise<Set<string> | null> {
  const listing = openListing(dir, asked.length);
  if (listing === null) return null;
  const found = new Set<string>();
  if (listing === 'absent') return found;
  const wanted = new Set(asked);
  try {
    for (;;) {
      if (slice.expired()) await slice.pause();
      const entry = listing.readSync();
      if (entry === null) return found;
      if (wanted.has(entry.name)) found.add(entry.name);
    }
  } catch {
    return null;
  } finally {
    listing.closeSync();
  }
}

const STARTS_AT_INCOMING: QueueFileStart = { probeFrom: INCOMING };
const STAMPED_IN_DEFERRED: QueueFileStart = { stampedIn: DEFERRED };

/**
 * Steps 1 and 2 above for `ids` (valid queue ids), stamping deferred files
 * at `now` (whole seconds) where it probes. Memory: the ids passed in, plus
 * what was learned of them.
 */
export async function locateQueueFiles(
  ids: readonly string[],
  hashing: QueueHashing,
  now: number,
  slice: TimeSlice,
): Promise<QueueFileSightings> {
  /** What was learned, per id: where its turn starts, or null for "in neither queue". */
  const learned = new Map<string, QueueFileStart | null>();
  const notInDeferred: string[] = [];
  for (const [dir, asked] of groupByQueueDirectory(DEFERRED, ids, hashing)) {
    const found = await presentIn(dir, asked, slice);
    if (found !== null) {
      // Set and map lookups only, a batch at most: no pauses.
      for (const id of asked) {
        if (found.has(id) || learned.has(id)) continue;
        notInDeferred.push(id);
        learned.set(id, STARTS_AT_INCOMING);
      }
      continue;
    }
    for (const id of asked) {
      if (slice.expired()) await slice.pause();
      if (learned.has(id)) continue; // listed twice in the batch: probed once
      const failure = stampQueueFile(DEFERRED, id, now, hashing);
      if (failure === null) {
        learned.set(id, STAMPED_IN_DEFERRED);
      } else if (failure === 'ENOENT') {
        notInDeferred.push(id);
        learned.set(id, STARTS_AT_INCOMING);
      } else {
        learned.set(id, { probeFrom: INCOMING, deferredFailure: failure });
      }
    }
  }
  for (const [dir, asked] of groupByQueueDirectory(INCOMING, notInDeferred, hashing)) {
    const found = await presentIn(dir, asked, slice);
    if (found === null) continue;
    for (const id of asked) if (!found.has(id)) learned.set(id, null);
  }
  return {
    startFor(id: string): QueueFileStart | null {
      const start = learned.get(id);
      return start === undefined ? FROM_DEFERRED : start;
    },
  };
}
