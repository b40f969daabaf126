/*
 * resources.ts - running out of things, and timeouts:
 *   - full disk: a queue on a small tmpfs, filled so that an add's line would straddle a page:
 *     the add must warn and answer FAIL (-1), and leave the logfile as it was (no partial line,
 *     which would glue itself to the next id and lose it); the next add, with space again,
 *     must be listed intact;
 *   - EMFILE: one add under each descriptor limit of a range (prlimit; prlimit --pid on a
 *     running daemon needs CAP_SYS_RESOURCE, which a container may lack): each run answers 0
 *     and lists its id, or fails cleanly (no status or FAIL, no torn line), none hangs, and
 *     the next add with the normal limit works;
 *   - the daemon_timeout watchdog ends a request stuck on a logfile lock held by somebody else;
 *   - idle processes exit within max_idle, and every flush process within 1 s of master's
 *     death (its status fd closes).
 * All of it for either program.
 *
 * Exports: DiskFullResult, diskFull, EmfileResult, emfileSweep, WatchdogResult, stuckRequest,
 * ExitTimes, exitTimes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync, mkdtempSync, openSync, readFileSync, statSync, rmSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { flushRequest } from '../../src/protocol/flush-messages.js';
import { flockSync, LOCK_EX, LOCK_UN } from '../../src/native/posix.js';
import type { FlushProgram, PostfixInstance } from '../helpers/postfix-instance.js';
import { flushProcesses, masterPid, processGone } from './processes.js';
import { logfileLines } from './queue-state.js';
import { makeScratchSpool, runStandalone } from './standalone.js';
import { flushCall } from './wire.js';

const SITE = 'example.test';
const LOGFILE = 'flush/example_test';
const PAGE = 4096;

export interface DiskFullResult {
  /** Status of the add on the full disk (-1 expected), and whether it warned. */
  fullStatus: number | null;
  warned: boolean;
  /** The logfile's bytes are what they were before the failed add. */
  logfileIntact: boolean;
  /** Status of the add once space is back, and whether every line is then a whole id. */
  nextStatus: number | null;
  linesIntact: boolean;
  /** Ids that answered 0 and are not listed (the partial line glued to the next id). */
  idsLost: number;
  stderr: string;
}

/** Mounts a tmpfs of `size` at a fresh directory, runs fn, always unmounts. */
async function withTmpfs<T>(size: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ff-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  try {
    return await fn(dir);
  } finally {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  try {
    const page = Buffer.alloc(PAGE, 'f');
    for (;;) writeSync(fd, page);
  } catch {
    // ENOSPC: now byte by byte into the last partial page.
    try {
      for (;;) writeSync(fd, Buffer.from('f'));
    } catch {
      // Full.
    }
  } finally {
    closeSync(fd);
  }
}

export async function diskFull(program: FlushProgram): Promise<DiskFullResult> {
  return await withTmpfs('256k', async (mount) => {
    const spool = await makeScratchSpool({}, mount);
    try {
      // 372 lines of 10 characters: 4092 bytes, 4 short of a page, so an 11-byte line needs a new page.
      const existing = Array.from({ length: 372 }, (_, i) => `OLD${String(i).padStart(7, '0')}`);
      const logfile = join(spool.spoolDir, LOGFILE);
      writeFileSync(logfile, existing.map((id) => `${id}\n`).join(''), { mode: 0o600 });
      const original = readFileSync(logfile);
      const filler = join(spool.spoolDir, 'filler');
      fillDisk(filler);
      const full = await (await runStandalone(program, spool, flushRequest('add', { site: SITE, queueId: 'FULL000001' }))).done;
      const afterFull = readFileSync(logfile);
      unlinkSync(filler);
      const next = await (await runStandalone(program, spool, flushRequest('add', { site: SITE, queueId: 'NEXT000001' }))).done;
      const lines = logfileLines(logfile);
      const known = new Set([...existing, 'FULL000001', 'NEXT000001']);
      let idsLost = 0;
      if (next.status === 0 && !lines.includes('NEXT000001')) idsLost++;
      if (full.status === 0 && !lines.includes('FULL000001')) idsLost++;
      return {
        fullStatus: full.status,
        warned: /warning: .*(No space left|ENOSPC)/i.test(full.stderr),
        logfileIntact: afterFull.equals(original) || (full.status === 0 && afterFull.equals(Buffer.concat([original, Buffer.from('FULL000001\n')]))),
        nextStatus: next.status,
        linesIntact: lines.every((line) => known.has(line)),
        idsLost,
        stderr: `${full.stderr}${next.stderr}`,
      };
    } finally {
      await spool.close();
    }
  });
}

export interface WatchdogResult {
  /** Seconds from the request to the flush process's exit, or null if it did not exit within 15 s. */
  seconds: number | null;
  loggedWatchdog: boolean;
  /** The logfile still lists every id afterwards. */
  logfileIntact: boolean;
}

/** The pid of a process blocked in flock() on `path`, from /proc/locks ("-> FLOCK ... pid maj:min:inode"). */
function lockWaiter(path: string): number | undefined {
  const inode = statSync(path).ino;
  for (const line of readFileSync('/proc/locks', 'latin1').split('\n')) {
    const m = /-> FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)/.exec(line);
    if (m && Number(m[2]) === inode) return Number(m[1]);
  }
  return undefined;
}

/**
 * send_site on a logfile whose lock we hold, under master with flush's daemon_timeout set:
 * the watchdog must end the stuck process.
 */
export async function stuckRequest(pf: PostfixInstance): Promise<WatchdogResult> {
  const logfile = pf.writeLogfile('stuck_example_test', 'STUCK00001\nSTUCK00002\n');
  const fd = openSync(logfile, 'r');
  flockSync(fd, LOCK_EX);
  try {
    const call = flushCall(join(pf.spoolDir, 'public', 'flush'), flushRequest('send_site', { site: `stuck.${SITE}` }), 60_000);
    const start = performance.now();
    let stuck: number | undefined;
    while (stuck === undefined && performance.now() - start < 5000) {
      await sleep(20);
      stuck = lockWaiter(logfile);
    }
    const seconds = stuck === undefined ? null : await waitGone([stuck], 15_000);
    // A process that outlives its watchdog answers once we let go of the lock, below.
    void call;
    await pf.logMarker(`watchdog-check-${Date.now()}`);
    return {
      seconds: seconds !== null && seconds < 15 ? (performance.now() - start) / 1000 : null,
      loggedWatchdog: /\/flush\[\d+\]: fatal: watchdog timeout/.test(pf.maillog()),
      logfileIntact: logfileLines(logfile).join(' ') === 'STUCK00001 STUCK00002',
    };
  } finally {
    flockSync(fd, LOCK_UN);
    closeSync(fd);
  }
}

export interface EmfileResult {
  /** Descriptor limits tried (one standalone add each). */
  limits: number;
  answered0: number;
  /** Runs that ended without a status (a clean fatal exit) or with FAIL. */
  refused: number;
  /** Runs still alive after 20 s (killed). */
  hung: number;
  idsLost: number;
  tornLines: number;
  /** The add after the sweep, with the normal limit, answered 0 and is listed. */
  recovered: boolean;
}

/** One standalone add under each descriptor limit from `from` to `to` by `step` (prlimit), then one without. */
export async function emfileSweep(program: FlushProgram, from = 8, to = 64, step = 2): Promise<EmfileResult> {
  const spool = await makeScratchSpool();
  const logfile = join(spool.spoolDir, LOGFILE);
  const result: EmfileResult = { limits: 0, answered0: 0, refused: 0, hung: 0, idsLost: 0, tornLines: 0, recovered: false };
  const ok: string[] = [];
  try {
    for (let limit = from; limit <= to; limit += step) {
      const id = `EMFILE${String(limit).padStart(5, '0')}`;
      const run = await runStandalone(program, spool, flushRequest('add', { site: SITE, queueId: id }), [], ['prlimit', `--nofile=${limit}:${limit}`]);
      const killer = setTimeout(() => { result.hung++; run.child.kill('SIGKILL'); }, 20_000);
      const done = await run.done;
      clearTimeout(killer);
      result.limits++;
      if (done.status === 0) {
        result.answered0++;
        ok.push(id);
      } else {
        result.refused++;
      }
    }
    const last = await (await runStandalone(program, spool, flushRequest('add', { site: SITE, queueId: 'RECOVERED01' }))).done;
    const lines = logfileLines(logfile);
    result.recovered = last.status === 0 && lines.includes('RECOVERED01');
    result.idsLost = ok.filter((id) => !lines.includes(id)).length;
    result.tornLines = lines.filter((line) => !/^(EMFILE\d{5}|RECOVERED01)$/.test(line)).length;
  } finally {
    await spool.close();
  }
  return result;
}

export interface ExitTimes {
  /** Seconds from the last request until every flush process had exited (max_idle set). */
  idleExitSeconds: number;
  /** Seconds from master's SIGKILL until every flush process had exited. */
  masterDeathExitSeconds: number;
  processesAtMasterDeath: number;
}

async function waitGone(pids: number[], limitMs: number): Promise<number> {
  const start = performance.now();
  while (pids.some((pid) => !processGone(pid)) && performance.now() - start < limitMs) await sleep(10);
  return (performance.now() - start) / 1000;
}

/** Needs an instance whose flush has a short max_idle. Kills the instance's master at the end. */
export async function exitTimes(pf: PostfixInstance): Promise<ExitTimes> {
  const socket = join(pf.spoolDir, 'public', 'flush');
  const idlePids = new Set<number>();
  const calls = Promise.all(Array.from({ length: 8 }, (_, i) => flushCall(socket, flushRequest('add', { site: SITE, queueId: `IDLE${i}` }))));
  const sampling = setInterval(() => { for (const p of flushProcesses(pf.spoolDir)) idlePids.add(p.pid); }, 5);
  await calls;
  clearInterval(sampling);
  const idleExitSeconds = await waitGone([...idlePids], 60_000);

  await Promise.all(Array.from({ length: 8 }, (_, i) => flushCall(socket, flushRequest('add', { site: SITE, queueId: `DEATH${i}` }))));
  const pids = flushProcesses(pf.spoolDir).map((p) => p.pid);
  process.kill(masterPid(pf.spoolDir), 'SIGKILL');
  const masterDeathExitSeconds = await waitGone(pids, 30_000);
  return { idleExitSeconds, masterDeathExitSeconds, processesAtMasterDeath: pids.length };
}
