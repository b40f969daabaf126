/*
 * processes.ts - the flush processes of one Postfix instance, as /proc shows them: Postfix's C
 * daemon (argv[0] "flush") or fastflush (node running the daemon bundle's loader
 * dist/bundle/flush/daemon.cjs, or tsc's dist/src/flush/daemon.js), working in
 * the instance's queue directory; their resident memory; master's pid; and a sampler that
 * records every flush process seen, the largest RSS while a phase runs, and which processes
 * have completed a connection (so master has counted a use for them).
 *
 * Exports: FlushProcess, flushProcesses, holdsLogfile, acceptLockHolder, masterPid, ProcessSampler,
 * rssKiB, processGone, acceptedConnections.
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

/**
 * Inodes of the server ends of accepted UNIX-domain connections (/proc/net/unix): connected
 * (state 03) and named, since an accepted socket shares its listener's path, while the
 * process's own outbound connections (qmgr triggers, proxymap), its status socket pair and its
 * log socket have none, and the listener itself is in state 01.
 */
export function acceptedConnections(): Set<number> {
  const inodes = new Set<number>();
  for (const line of readFileSync('/proc/net/unix', 'latin1').split('\n').slice(1)) {
    // "Num RefCount Protocol Flags Type St Inode Path"
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields[5] === '03') inodes.add(Number(fields[6]));
  }
  return inodes;
}

/** Socket inodes among the process's open descriptors (empty when it is gone). */
function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(Number(match[1]));
      } catch {
        // The descriptor was closed while we looked.
      }
    }
  } catch {
    // The process ended while we looked.
  }
  return inodes;
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
  /** Accepted connections each process had open at the last sample. */
  private readonly openConnections = new Map<number, Set<number>>();
  /** Processes seen with an accepted connection that a later sample found closed. */
  private readonly served = new Set<number>();

  constructor(private readonly spoolDir: string, intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): FlushProcess[] {
    const now = flushProcesses(this.spoolDir);
    const accepted = acceptedConnections();
    for (const p of now) {
      this.seen.set(p.pid, p);
      if (!this.firstSeen.has(p.pid)) this.firstSeen.set(p.pid, performance.now());
      this.peakRssKiB = Math.max(this.peakRssKiB, rssKiB(p.pid));
      const open = new Set([...socketInodes(p.pid)].filter((inode) => accepted.has(inode)));
      for (const inode of this.openConnections.get(p.pid) ?? []) if (!open.has(inode)) this.served.add(p.pid);
      this.openConnections.set(p.pid, open);
    }
    return now;
  }

  /**
   * True once the process was seen with an accepted connection that a later sample found
   * closed: it completed a connection and reported it available afterwards (C's single_server
   * and fastflush alike), so master has counted a use for it. master takes the abnormal death
   * of a process without one for a failed start-up and throttles the service.
   */
  hasServed(pid: number): boolean {
    return this.served.has(pid);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
