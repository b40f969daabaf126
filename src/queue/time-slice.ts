/*
 * time-slice.ts - the one mechanism by which long synchronous queue work
 * (the ids of a send, the logfiles of a refresh, a directory listing) shares
 * the event loop with the other clients of the same process.
 *
 * Queue I/O is done with synchronous system calls, which take microseconds
 * each, instead of a thread-pool round trip per call. A loop over thousands
 * of them would then hold the event loop for a long time, so such loops work
 * in slices of SLICE_MS: between two units of work they ask expired(), and
 * when the slice is used up they await pause(), which lets pending I/O and
 * timers run (setImmediate: after the poll phase) and starts a new slice.
 *
 *   const slice = new TimeSlice();
 *   for (...) { if (slice.expired()) await slice.pause(); ...sync work... }
 *
 * One TimeSlice may be handed down to nested loops (a send run by a refresh
 * walk) so that they share one budget.
 *
 * Exports: TimeSlice, SLICE_MS, CLOCK_EVERY
 */
import { monotonicMs } from '../util/clock.js';

/**
 * Longest stretch of synchronous queue work between two turns of the event
 * loop. A request from another client needs a few turns (accept, read, reply),
 * each of which may wait for one slice, so slices are kept short; a turn of an
 * otherwise idle loop costs tens of microseconds, a few per cent of a slice.
 */
export const SLICE_MS = 1;

/**
 * Units of work between two readings of the clock. A unit is one line, one
 * directory entry or one queue file (microseconds at most), and reading the
 * clock costs about as much as the cheapest of them, so the clock is read
 * every CLOCK_EVERY calls of expired(); a slice overruns by at most that many
 * units.
 */
export const CLOCK_EVERY = 8;

export class TimeSlice {
  private sliceStart = monotonicMs();
  private unclocked = 0;

  /** True when this slice's time is used up: await pause() before more work. */
  expired(): boolean {
    if (++this.unclocked < CLOCK_EVERY) return false;
    this.unclocked = 0;
    return monotonicMs() - this.sliceStart >= SLICE_MS;
  }

  /** Lets the event loop serve other work, then starts a new slice. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = monotonicMs();
    this.unclocked = 0;
  }
}
