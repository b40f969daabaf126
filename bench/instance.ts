/*
 * instance.ts - the one private loopback Postfix instance a benchmark run uses (built by
 * test/helpers/postfix-instance.ts, which also guarantees it is stopped on exit and on
 * SIGINT/SIGTERM), with the flush service switched between the C daemon and fastflush and
 * between master.cf argument lists by rewriting its master.cf line and restarting Postfix.
 *
 * qmgr is switched off in this instance. Several workloads put real queue files into deferred/
 * (cheap, empty files, mode 0700, owner postfix) and measure `send_site`, which moves them to
 * incoming/ and then triggers qmgr. A running qmgr would take them into active/, find them
 * unreadable and set them aside as corrupt, so a round could not be repeated on the same files
 * and qmgr's work would compete with the measurement on a 2-core machine. Without qmgr the files
 * stay in incoming/ and are moved back between measurements (queue-fixture.ts); flush's trigger
 * to qmgr then fails at connect(), for both daemons alike, which costs them less than a
 * successful trigger would. The flush service's own work (logfile, per-file time stamps, chmod,
 * rename) is what the benchmark measures.
 *
 * The flush service's wakeup column is 0 (BENCH_FLUSH_WAKEUP), not the stock line's `1000?`:
 * master's first-use wakeup would run a refresh of its own during a measurement, and a
 * concurrent refresh reading a logfile makes its atime fresh, so the measured rfrsh skips it and
 * the connection closes before the logfile is flushed (both programs; a freshly started
 * fastflush process serves the wakeup later than C, so it lost that race every time).
 *
 * Exports: STOCK_FLUSH_ARGS, BenchInstance.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlushProgram } from '../test/helpers/postfix-instance.js';
import { PostfixInstance } from '../test/helpers/postfix-instance.js';
import { formatMasterCfArgs } from './flush-line.js';

/** Postfix's own flush line has no extra arguments. */
export const STOCK_FLUSH_ARGS: readonly string[] = [];

/** The wakeup column of the flush line in every setup: no wakeup (see above). */
const BENCH_FLUSH_WAKEUP = '0';

export class BenchInstance {
  private current: string | null = null;

  private constructor(readonly pf: PostfixInstance) {}

  static async start(): Promise<BenchInstance> {
    const bench = new BenchInstance(await PostfixInstance.start({ flushProgram: 'c', flushWakeup: BENCH_FLUSH_WAKEUP }));
    await bench.use('c', STOCK_FLUSH_ARGS);
    return bench;
  }

  /** The flush service's socket. */
  get socketPath(): string {
    return join(this.pf.spoolDir, 'public', 'flush');
  }

  get spoolDir(): string {
    return this.pf.spoolDir;
  }

  /** The running master's PID (from its pid file). */
  masterPid(): number {
    const pid = Number(readFileSync(join(this.pf.spoolDir, 'pid', 'master.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error('no master pid');
    return pid;
  }

  /**
   * Make master run `program` with `args` after the command on the stock flush line, without its
   * wakeup (`flush unix n - n 0 0 ...`), restarting Postfix when that changes anything.
   */
  async use(program: FlushProgram, args: readonly string[]): Promise<void> {
    const line = `flush     unix  n       -       n       ${BENCH_FLUSH_WAKEUP}       0       ${[this.pf.flushCommand(program),
      formatMasterCfArgs(args)].filter((s) => s !== '').join(' ')}`;
    if (line === this.current) return;
    const path = join(this.pf.etcDir, 'master.cf');
    const text = readFileSync(path, 'utf8');
    const edited = text.replace(/^flush\s.*$/m, line).replace(/^qmgr\s/m, '#qmgr ');
    if (!edited.includes(`\n${line}\n`)) throw new Error('master.cf of the instance has no flush line');
    writeFileSync(path, edited);
    await this.pf.restartAsIs();
    this.current = line;
  }

  /** Remove every flush logfile, so a workload starts from an empty flush/ directory. */
  clearLogfiles(): void {
    const dir = join(this.pf.spoolDir, 'flush');
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
  }

  /** Create (or replace) a logfile listing `ids`, owned by postfix, optionally aged `ageMs`. */
  writeLogfile(name: string, ids: readonly string[], ageMs?: number): void {
    const when = ageMs === undefined ? undefined : new Date(Date.now() - ageMs);
    this.pf.writeLogfile(name, ids.map((id) => `${id}\n`).join(''), when && { atime: when, mtime: when });
  }

  /** The queue ids listed in a logfile (by site). */
  logfileIds(site: string): string[] {
    return this.pf.logfileIds(site);
  }

  stop(): void {
    this.pf.stop();
  }
}
