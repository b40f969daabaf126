/*
 * processes.ts - the flush processes of one Postfix instance, as /proc shows them: Postfix's C
 * daemon (argv[0] "flush") or fastflush (node running the daemon bundle's loader
 * dist/bundle/flush/daemon.cjs, or tsc's dist/src/flush/daemon.js), working in
 * the instance's queue directory; their resident memory; master's pid; and a sampler that
 * records every flush process seen and the largest RSS while a phase runs.
 *
 * Exports: FlushProcess, flushProcesses, holdsLogfile, acceptLockHolder, masterPid, ProcessSampler,
 * rssKiB, processGone.
 */
import { readFileSync, readlinkSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FlushProgram } from '../helpers/postfix-instance.js';

export interface FlushProcess {
  pid: number;
  program: FlushProgram;
}

const FASTFLUSH_DAEMON = /\/dist\/(bundle\/flush\/daemon\.cjs|src\/flush\/daemon\.js)$/;

/** Resident set size in KiB, or 0 when the process is gone. */
export function rssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** A zombie counts as gone. */
export function processGone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return true;
  }
}

export function flushProcesses(spoolDir: string): FlushProcess[] {
  const found: FlushProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) !== spoolDir) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      if (argv[0] === 'flush') found.push({ pid: Number(entry), program: 'c' });
      else if (argv.some((word) => FASTFLUSH_DAEMON.test(word))) found.push({ pid: Number(entry), program: 'fastflush' });
    } catch {
      // The process ended while we looked.
    }
  }
  return found.filter((p) => !processGone(p.pid));
}

/** True when the process has a file under spoolDir/flush/ open (it is serving a request). */
export function holdsLogfile(pid: number, spoolDir: string): boolean {
  const prefix = `${spoolDir}/flush/`;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(prefix);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * The pid holding the accept lock spool/pid/unix.flush (/proc/locks), if any: for fastflush,
 * the process that is listening and serving; a waiting successor only waits on it.
 */
export function acceptLockHolder(spoolDir: string): number | undefined {
  let inode: number;
  try {
    inode = statSync(join(spoolDir, 'pid', 'unix.flush')).ino;
  } catch {
    return undefined; // no process has started yet
  }
  for (const line of readFileSync('/proc/locks', 'latin1').split('\n')) {
    // "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF"; waiters have "->" after the number.
    const fields = line.trim().split(/\s+/);
    if (fields[1] === 'FLOCK' && Number(fields[5]?.split(':')[2]) === inode) return Number(fields[4]);
  }
  return undefined;
}

/** master's pid from the instance's pid file. */
export function masterPid(spoolDir: string): number {
  return Number(readFileSync(join(spoolDir, 'pid', 'master.pid'), 'latin1').trim());
}

/** Samples the instance's flush processes every `intervalMs` until stopped. */
export class ProcessSampler {
  readonly seen = new Map<number, FlushProcess>();
  /** When each pid was first seen (performance.now()). */
  readonly firstSeen = new Map<number, number>();
  peakRssKiB = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly spoolDir: string, intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): FlushProcess[] {
    const now = flushProcesses(this.spoolDir);
    for (const p of now) {
      this.seen.set(p.pid, p);
      if (!this.firstSeen.has(p.pid)) this.firstSeen.set(p.pid, performance.now());
      this.peakRssKiB = Math.max(this.peakRssKiB, rssKiB(p.pid));
    }
    return now;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
