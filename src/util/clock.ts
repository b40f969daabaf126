/*
 * clock.ts - the daemon's monotonic clock: milliseconds since the process
 * started, as performance.now() counts them, read from process.uptime().
 *
 * The performance global and perf_hooks are not used because their first use
 * loads a dozen of Node's internal modules, about a millisecond of every
 * daemon start; process.uptime() reads the same libuv clock (uv_hrtime) and is
 * part of the process object.
 *
 * Exports: monotonicMs()
 */

/** Milliseconds since the process started; never goes backwards. */
export function monotonicMs(): number {
  return process.uptime() * 1000;
}
