/*
 * posix.ts - typed access to the in-repo N-API addon (native/posix.c).
 *
 * Node.js has no flock(2), chroot(2) or UNIX datagram sockets. We build a
 * small addon instead of depending on fs-ext (nan-based, flock only) so the
 * same auditable piece also gives chroot for issue-5 style jails, the
 * datagram socket that postlogd and syslog need, and the plain socket calls
 * the daemon serves its clients with (lifecycle/socket-client.ts).
 *
 * Exports:
 *   flockSync(fd, op)      blocking or LOCK_NB flock; throws NodeJS.ErrnoException
 *   flockAsync(fd, op)     Promise; the blocking wait runs on a libuv pool thread
 *   chroot(path), dgramOpen(path), dgramSend(fd, data), exitNow(status),
 *   isTerminal(fd)         isatty(3), without Node's tty module
 *   setTimes(path, seconds), renameFile(from, to)
 *                          null, or the errno code string; never throw (see posix.c)
 *   setNonBlocking(fd), acceptSocket(fd), connectSocket(path),
 *   readSocket(fd, buffer), writeSocket(fd, buffer, offset)
 *                          sockets without net.Socket: a count or fd, or minus
 *                          the errno value (compare with the E* constants below)
 *   FdWatcher              libuv's readiness events for one descriptor
 *   LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN, READABLE, WRITABLE, EAGAIN
 *
 * The addon is loaded eagerly at import time: after chroot nothing can be
 * loaded lazily.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

/** The addon's poll handle (a Node-API external). */
declare const watcherBrand: unique symbol;
type WatcherHandle = { readonly [watcherBrand]: true };

interface PosixAddon {
  flock(fd: number, op: number): void;
  flockAsync(fd: number, op: number, callback: (errno: number) => void): void;
  chroot(path: string): void;
  dgramOpen(path: string): number;
  dgramSend(fd: number, data: Buffer): void;
  exitNow(status: number): never;
  setTimes(path: string, seconds: number): number;
  renameFile(from: string, to: string): number;
  isTerminal(fd: number): boolean;
  setNonBlocking(fd: number): void;
  acceptSocket(fd: number): number;
  connectSocket(path: string): number;
  readSocket(fd: number, buffer: Buffer): number;
  writeSocket(fd: number, buffer: Buffer, offset: number): number;
  watchFd(fd: number, callback: (events: number) => void): WatcherHandle;
  watchStart(watcher: WatcherHandle, events: number): void;
  watchStop(watcher: WatcherHandle): void;
  watchUnref(watcher: WatcherHandle): void;
  watchClose(watcher: WatcherHandle): void;
  UV_READABLE: number;
  UV_WRITABLE: number;
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
      reject(errnoError('flock', errno));
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

export const READABLE = addon.UV_READABLE;
export const WRITABLE = addon.UV_WRITABLE;
export const EAGAIN = osConstants.errno.EAGAIN;

/** An Error as Node's own system calls make them, for an errno value from the addon. */
export function errnoError(syscall: string, errno: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${syscall}: ${errnoCode(errno)}`);
  error.errno = errno;
  error.code = errnoCode(errno);
  error.syscall = syscall;
  return error;
}

export function setNonBlocking(fd: number): void {
  try {
    addon.setNonBlocking(fd);
  } catch (error) {
    throw withCode(error, 'fcntl');
  }
}

/** accept4(2): the connection's fd (non-blocking, close-on-exec), or minus the errno value. */
export function acceptSocket(fd: number): number {
  return addon.acceptSocket(fd);
}

/**
 * A non-blocking UNIX stream socket connected to `path`: its fd, or minus the
 * errno value (EAGAIN: the listener's backlog is full).
 */
export function connectSocket(path: string): number {
  return addon.connectSocket(path);
}

/** read(2) into buffer: bytes read (0 at end of file), or minus the errno value. */
export function readSocket(fd: number, buffer: Buffer): number {
  return addon.readSocket(fd, buffer);
}

/**
 * send(2) of buffer from offset, never blocking (write(2) for a pipe, which
 * must then be non-blocking): bytes sent, or minus the errno value.
 */
export function writeSocket(fd: number, buffer: Buffer, offset: number): number {
  return addon.writeSocket(fd, buffer, offset);
}

/**
 * Readiness of one descriptor from libuv's event loop (uv_poll). onReady gets
 * the READABLE/WRITABLE bits that are ready, or an errno value when libuv
 * reports an error (the next system call on the descriptor tells what).
 * close() before closing the descriptor; a closed watcher must not be used.
 * Asking for what is already being watched costs nothing (uv_poll_start
 * itself would remove and re-add the descriptor: two epoll_ctl calls).
 */
export class FdWatcher {
  private readonly handle: WatcherHandle;
  private watching = 0;

  constructor(fd: number, onReady: (events: number, errno: number) => void) {
    try {
      this.handle = addon.watchFd(fd, (events) => {
        if (events < 0) onReady(0, -events);
        else onReady(events, 0);
      });
    } catch (error) {
      throw withCode(error, 'uv_poll_init');
    }
  }

  start(events: number): void {
    if (events === this.watching) return;
    try {
      addon.watchStart(this.handle, events);
    } catch (error) {
      throw withCode(error, 'uv_poll_start');
    }
    this.watching = events;
  }

  stop(): void {
    if (this.watching === 0) return;
    addon.watchStop(this.handle);
    this.watching = 0;
  }

  /** From now on the watcher does not keep the process alive (uv_unref). */
  unref(): void {
    addon.watchUnref(this.handle);
  }

  close(): void {
    addon.watchClose(this.handle);
    this.watching = 0;
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

/** isatty(3): true when fd is a terminal (Node's tty.isatty would load the tty module). */
export function isTerminal(fd: number): boolean {
  return addon.isTerminal(fd);
}

/** rename(2). Returns null, or the errno code ('ENOENT'). */
export function renameFile(from: string, to: string): string | null {
  const errno = addon.renameFile(from, to);
  return errno === 0 ? null : errnoCode(errno);
}
