/*
 * proc.ts - what the benchmark reads from /proc (Linux): a process's children, its command
 * line, its memory figures, and which of master's children run the flush service.
 *
 * A flush service process is a child of the instance's master whose command line names the
 * flush program: Postfix's `flush` (argv[0] "flush"), or fastflush's launcher bin/flush and the
 * Node process it becomes (an argument ending in "/flush", or the daemon bundle's or tsc's path). Their
 * descendants count too, so a process model that forks workers is measured whole.
 *
 * Exports: isFlushServiceCommand, childPids, commandLine, memoryKb, flushServicePids.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';

/** Where the daemon's JavaScript lives: the bundle bin/flush runs, and tsc's output. */
const DAEMON_PATHS = ['/dist/bundle/flush/', '/dist/src/flush/'];

/** Does this argv (as in /proc/PID/cmdline) run the flush service? */
export function isFlushServiceCommand(argv: readonly string[]): boolean {
  return argv.slice(0, 3).some((arg) => basename(arg) === 'flush' || DAEMON_PATHS.some((path) => arg.includes(path)));
}

/** Direct children of `pid` (every thread's children file); [] when it is gone. */
export function childPids(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim();
      if (text !== '') out.push(...text.split(/\s+/).map(Number));
    }
    return out;
  } catch {
    return [];
  }
}

/** argv of `pid`; [] when it is gone (or a zombie). */
export function commandLine(pid: number): string[] {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
  } catch {
    return [];
  }
}

/** VmRSS and VmHWM of `pid` in kB; null when it is gone. */
export function memoryKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
}

/** The flush service's processes under `masterPid`, descendants included. */
export function flushServicePids(masterPid: number): number[] {
  const found: number[] = [];
  const visit = (pid: number): void => {
    found.push(pid);
    for (const child of childPids(pid)) visit(child);
  };
  for (const child of childPids(masterPid)) {
    if (isFlushServiceCommand(commandLine(child))) visit(child);
  }
  return found;
}
