/*
 * availability.ts - what this process tells master(8) about itself, kept in
 * step with master's accounting, and when it asks master for its successor.
 *
 * master's view of a child (master_status.c, master_avail.c, master_spawn.c):
 *  - a freshly spawned child counts as available;
 *  - a TAKEN record makes it unavailable, an AVAIL record available again and
 *    counts one completed use (use_count++); two records of the same kind in
 *    a row make master panic, so they must alternate, starting with TAKEN;
 *  - while no child of the service is available, master watches the listen
 *    socket and spawns a child when it is readable;
 *  - a child that dies abnormally with use_count == 0 is taken for a broken
 *    start-up, and the whole service is throttled (service_throttle_time).
 *
 * This process serves many connections at once, so "available" means "still
 * listening": it stays available while it accepts, and each completed
 * connection is reported as TAKEN+AVAIL (AVAIL+TAKEN when it is unavailable),
 * in one write, so master counts every use exactly as it counts a C child's,
 * and a process that has served anything is never taken for a bad start-up
 * when it dies. It becomes unavailable (TAKEN) when it stops listening with
 * connections still running, or early, to ask for its successor.
 *
 * The successor: master starts a process only when the socket is readable and
 * none is available, and a new Node process needs tens of milliseconds before
 * it can accept. So a process that will reach max_use soon says TAKEN while it
 * still accepts: master may then spawn the next process on a connection it
 * sees first, and that process waits for the accept lock (the right to
 * listen) until this one retires, so clients see no start-up. It counts as
 * available from its spawn, so master spawns no more while it waits: at most
 * one successor exists, and it exits at max_idle like any idle process if it
 * is never needed. "Soon" is measured: the remaining uses at the recent
 * arrival rate take less than twice the time this process needed to start.
 *
 * Exports: MasterAvailability, SuccessorPolicy.
 */
import { MASTER_STAT_AVAIL, MASTER_STAT_TAKEN } from './status.js';

/** Tracks the state master believes we are in and emits only records master accepts. */
export class MasterAvailability {
  /** master counts a new child as available. */
  private available = true;

  constructor(private readonly send: (records: readonly number[]) => void) {}

  /** One connection completed: master counts it. `stayTaken` keeps us unavailable afterwards. */
  completed(stayTaken: boolean): void {
    const records = this.available ? [MASTER_STAT_TAKEN, MASTER_STAT_AVAIL] : [MASTER_STAT_AVAIL];
    if (stayTaken) records.push(MASTER_STAT_TAKEN);
    this.available = !stayTaken;
    this.send(records);
  }

  /** No longer taking new clients (retiring, or making room for a successor). */
  unavailable(): void {
    if (!this.available) return;
    this.available = false;
    this.send([MASTER_STAT_TAKEN]);
  }

  get isAvailable(): boolean {
    return this.available;
  }
}

/** Arrival times kept to estimate the connection rate. */
const RATE_WINDOW = 16;

/** Decides when a process with a use limit asks master for its successor. */
export class SuccessorPolicy {
  private readonly arrivals: number[] = [];

  /**
   * @param maxUse the use limit (0: unlimited, never ask)
   * @param startupMs how long this process took from exec to being ready
   */
  constructor(private readonly maxUse: number, private readonly startupMs: number) {}

  /** Called for each accepted connection (nowMs monotonic); true when it is time to ask. */
  accepted(count: number, nowMs: number): boolean {
    if (this.maxUse <= 0) return false;
    this.arrivals.push(nowMs);
    if (this.arrivals.length > RATE_WINDOW) this.arrivals.shift();
    const remaining = this.maxUse - count;
    if (remaining <= 0 || this.arrivals.length < 2) return false;
    const first = this.arrivals[0] as number;
    const interval = (nowMs - first) / (this.arrivals.length - 1);
    return remaining * interval < 2 * this.startupMs;
  }
}
