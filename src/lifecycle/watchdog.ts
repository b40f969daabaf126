/*
 * watchdog.ts - kills a daemon whose request makes no progress, like Postfix's
 * watchdog(3): a timer of timeout/3 that must be restarted before it expires
 * three times in a row; the third expiry calls onTimeout (the daemon logs
 * "watchdog timeout" and dies).
 *
 * C uses alarm(2), which also interrupts a process blocked in a system call.
 * In Node a hung request is a promise that never settles while the event loop
 * keeps running, so an ordinary timer sees it. What a timer cannot see is a
 * blocked event loop (a synchronous endless loop); the daemon's code avoids
 * blocking calls for that reason (flock waits run on the thread pool).
 * As in C, a backstop ends the process if the orderly fatal path does not
 * finish within a few seconds: an unref'd timer, so it never keeps an
 * otherwise finished process alive.
 *
 * Exports: Watchdog.
 */
import { exitNow } from '../native/posix.js';

const TRIPS = 3;
const BACKSTOP_MS = 5000;

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private trips = 0;
  private readonly periodMs: number;

  constructor(timeoutSeconds: number, private readonly onTimeout: () => void) {
    this.periodMs = Math.max(1, Math.min((timeoutSeconds * 1000) / TRIPS, 2 ** 31 - 1));
  }

  /** (Re)starts the countdown: the caller made progress. */
  start(): void {
    this.stop();
    this.trips = 0;
    this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.trips += 1;
      if (this.trips < TRIPS) {
        this.arm();
        return;
      }
      this.timer = undefined;
      setTimeout(() => exitNow(1), BACKSTOP_MS).unref();
      this.onTimeout();
    }, this.periodMs);
  }
}
