/*
 * safe-open.ts - open an existing file the careful way Postfix's safe_open()
 * does, for files whose status we change (queue files) or that we write to
 * (the qmgr FIFO) without trusting who put them there.
 *
 * The file must not be a symbolic link (except a root-owned link in a
 * root-owned directory that group and other cannot write), must have exactly
 * one hard link, must not be a directory, and the fstat() of what we opened
 * must agree with an lstat() of the name (same device, inode, link count and
 * mode), so a file swapped in behind our back is refused.
 *
 * System calls are synchronous (microseconds each); the caller owns the
 * returned descriptor and closes it.
 *
 * Exports: safeOpenExisting(path, flags) -> SafeOpenResult
 */
import { closeSync, fstatSync, lstatSync, openSync, statSync, type BigIntStats } from 'node:fs';
import { dirname } from 'node:path';
import { errorCode, strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';

export type SafeOpenResult =
  | { ok: true; fd: number; stat: BigIntStats }
  /** `code` plays the role of C's errno (ENOENT means "not there"); `why` is safe_open's reason text. */
  | { ok: false; code: string; why: string };

/** The exception for root-owned symlinks: only inside a root-owned directory nobody else can write. */
function trustedRootSymlink(path: string): boolean {
  try {
    const parent = statSync(dirname(path));
    return parent.uid === 0 && (parent.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // refusing anyway
  }
}

export function safeOpenExisting(path: string, flags: number): SafeOpenResult {
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (error) {
    return { ok: false, code: errorCode(error) ?? 'EIO', why: `cannot open file: ${strerror(error)}` };
  }
  const refuse = (code: string, why: string): SafeOpenResult => {
    closeQuietly(fd);
    return { ok: false, code, why };
  };

  let fileStat: BigIntStats;
  try {
    fileStat = fstatSync(fd, { bigint: true });
  } catch (error) {
    closeQuietly(fd);
    return msg.fatal(`${path}: bad open file status: ${strerror(error)}`);
  }
  if (fileStat.nlink !== 1n) return refuse('EPERM', `file has ${fileStat.nlink} hard links`);
  if (fileStat.isDirectory()) return refuse('EISDIR', 'file is a directory');

  let nameStat: BigIntStats;
  try {
    nameStat = lstatSync(path, { bigint: true });
  } catch (error) {
    return refuse('EPERM', `file status changed unexpectedly: ${strerror(error)}`);
  }
  if (nameStat.isSymbolicLink()) {
    if (nameStat.uid === 0n && trustedRootSymlink(path)) {
      return { ok: true, fd, stat: fileStat };
    }
    return refuse('EPERM', 'file is a symbolic link');
  }
  if (
    fileStat.dev !== nameStat.dev ||
    fileStat.ino !== nameStat.ino ||
    fileStat.nlink !== nameStat.nlink ||
    fileStat.mode !== nameStat.mode
  ) {
    return refuse('EPERM', 'file status changed unexpectedly');
  }
  return { ok: true, fd, stat: fileStat };
}
