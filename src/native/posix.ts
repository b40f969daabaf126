/*
 * posix.ts - typed access to the in-repo N-API addon (native/posix.c).
 *
 * Node.js has no flock(2), chroot(2) or UNIX datagram sockets. We build a
 * ~200-line addon instead of depending on fs-ext (nan-based, flock only) so the
 * same small, auditable piece also gives chroot for issue-5 style jails and the
 * datagram socket that postlogd and syslog need.
 *
 * Exports:
 *   flockSync(fd, op)      blocking or LOCK_NB flock; throws NodeJS.ErrnoException
 *   flockAsync(fd, op)     Promise; the blocking wait runs on a libuv pool thread
 *   chroot(path), dgramOpen(path), dgramSend(fd, data), dup(fd), exitNow(status)
 *   setTimes(path, seconds), renameFile(from, to)
 *                          null, or the errno code string; never throw (see posix.c)
 *   LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN
 *
 * The addon is loaded eagerly at import time: after chroot nothing can be
 * loaded lazily.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

interface PosixAddon {
  flock(fd: number, op: number): void;
  flockAsync(fd: number, op: number, callback: (errno: number) => void): void;
  chroot(path: string): void;
  dgramOpen(path: string): number;
  dgramSend(fd: number, data: Buffer): void;
  dup(fd: number): number;
  exitNow(status: number): never;
  setTimes(path: string, seconds: number): number;
  renameFile(from: string, to: string): number;
  LOCK_SH: number;
  LOCK_EX: number;
  LOCK_NB: number;
  LOCK_UN: number;
}

const requireFromHere = createRequire(import.meta.url);
// dist/src/native/posix.js -> <root>/native/build/Release/posix.node
const addon = requireFromHere('../../../native/build/Release/posix.node') as PosixAddon;

export const LOCK_SH = addon.LOCK_SH;
export const LOCK_EX = addon.LOCK_EX;
export const LOCK_NB = addon.LOCK_NB;
export const LOCK_UN = addon.LOCK_UN;

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** Gives an addon error the `code` string Node's own fs errors carry. */
function withCode(error: unknown, syscall: string): NodeJS.ErrnoException {
  const err = error as NodeJS.ErrnoException & { errno?: number };
  if (typeof err.errno === 'number') {
    err.code = errnoNames.get(err.errno) ?? `E${err.errno}`;
    err.syscall = syscall;
  }
  return err;
}

export function errnoCode(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export function flockSync(fd: number, op: number): void {
  try {
    addon.flock(fd, op);
  } catch (error) {
    throw withCode(error, 'flock');
  }
}

export function flockAsync(fd: number, op: number): Promise<void> {
  return new Promise((resolve, reject) => {
    addon.flockAsync(fd, op, (errno) => {
      if (errno === 0) {
        resolve();
        return;
      }
      const err: NodeJS.ErrnoException = new Error(`flock: ${errnoCode(errno)}`);
      err.errno = errno;
      err.code = errnoCode(errno);
      err.syscall = 'flock';
      reject(err);
    });
  });
}

export function chroot(path: string): void {
  try {
    addon.chroot(path);
  } catch (error) {
    throw withCode(error, 'chroot');
  }
}

export function dgramOpen(path: string): number {
  try {
    return addon.dgramOpen(path);
  } catch (error) {
    throw withCode(error, 'connect');
  }
}

export function dgramSend(fd: number, data: Buffer): void {
  try {
    addon.dgramSend(fd, data);
  } catch (error) {
    throw withCode(error, 'send');
  }
}

/** A close-on-exec duplicate of fd (fcntl F_DUPFD_CLOEXEC). */
export function dup(fd: number): number {
  try {
    return addon.dup(fd);
  } catch (error) {
    throw withCode(error, 'fcntl');
  }
}

/**
 * _exit(2): ends the process at once, without Node's exit path, which waits
 * for libuv's thread pool (and so for a blocked flock). Only for a process
 * whose output is all written synchronously.
 */
export function exitNow(status: number): never {
  return addon.exitNow(status);
}

/** utimensat(2): atime and mtime set to `seconds`. Returns null, or the errno code ('ENOENT'). */
export function setTimes(path: string, seconds: number): string | null {
  const errno = addon.setTimes(path, seconds);
  return errno === 0 ? null : errnoCode(errno);
}

/** rename(2). Returns null, or the errno code ('ENOENT'). */
export function renameFile(from: string, to: string): string | null {
  const errno = addon.renameFile(from, to);
  return errno === 0 ? null : errnoCode(errno);
}
