/*
 * argv.ts - the argument vector master(8) gives a service's program
 * (spec-protocol-master.md §5.2, master_ent.c), and the facts it depends on.
 *
 * Order: command, -l (maxproc 1), -z (maxproc 0), -n <service> (basename of
 * the command differs from the service name), -t <type>, -d (master runs with
 * -d), -v (master verbose), -u (unprivileged), -c (chroot), -o stress= (a
 * service reachable from other hosts with maxproc > 1), -s <N> (several listen
 * sockets), then the master.cf arguments. argv[0] is the command text as
 * written; the program run is `$daemon_directory/<command>` verbatim.
 *
 * Exports: ArgvOptions, buildServiceArgv, servicePath, isLocalOnly, parseInetEndpoint.
 */
import { posix } from 'node:path';
import { isIP } from 'node:net';
import type { MasterCfEntry } from './master-cf.js';

export interface ArgvOptions {
  /** master was started with -d. */
  debug: boolean;
  /** master is verbose. */
  verbose: boolean;
  /** Listen sockets the service gets (fd 6 onwards). */
  listenCount: number;
  /** Only this host can connect (unix, fifo, unix-dgram, loopback-only inet). */
  localOnly: boolean;
}

export function buildServiceArgv(entry: MasterCfEntry, opts: ArgvOptions): string[] {
  const argv = [entry.command];
  if (entry.maxProc === 1) argv.push('-l');
  if (entry.maxProc === 0) argv.push('-z');
  if (posix.basename(entry.command) !== entry.service) argv.push('-n', entry.service);
  argv.push('-t', entry.type);
  if (opts.debug) argv.push('-d');
  if (opts.verbose) argv.push('-v');
  if (entry.unprivileged) argv.push('-u');
  if (entry.chroot) argv.push('-c');
  // master fills in "yes" at spawn time while the service is under stress; this supervisor never is.
  if (entry.maxProc > 1 && !opts.localOnly) argv.push('-o', 'stress=');
  if (opts.listenCount > 1) argv.push('-s', String(opts.listenCount));
  argv.push(...entry.args);
  return argv;
}

/** daemon_directory, "/", command: an absolute command is NOT special-cased, exactly as in master. */
export function servicePath(daemonDirectory: string, command: string): string {
  return `${daemonDirectory}/${command}`;
}

export interface InetEndpoint {
  /** Empty when the entry gives only a port (all interfaces). */
  host: string;
  port: string;
}

/** Splits an inet service field: `port`, `host:port`, `[v6addr]:port`. */
export function parseInetEndpoint(service: string): InetEndpoint {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(service);
  if (bracketed) return { host: bracketed[1] as string, port: bracketed[2] as string };
  const colon = service.lastIndexOf(':');
  if (colon < 0) return { host: '', port: service };
  return { host: service.slice(0, colon), port: service.slice(colon + 1) };
}

function isLoopbackAddress(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/**
 * Whether only local clients can reach the service. An inet service without a
 * host listens on inet_interfaces, whose default is all interfaces; this
 * supervisor does not run such services, so it treats them as remote-reachable.
 */
export function isLocalOnly(entry: MasterCfEntry): boolean {
  switch (entry.type) {
    case 'unix':
    case 'unix-dgram':
    case 'fifo':
      return true;
    case 'pass':
      return false;
    case 'inet': {
      const { host } = parseInetEndpoint(entry.service);
      return host !== '' && isLoopbackAddress(host);
    }
  }
}
