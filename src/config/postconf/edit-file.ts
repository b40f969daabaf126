/*
 * edit-file.ts - replaces main.cf or master.cf the way Postfix's
 * util/edit_file.c does, so that fastflush and real postconf can edit the
 * same file concurrently without lost updates:
 *
 *   1. open "<file>.tmp" (create, write-only, mode 0600, no truncation),
 *   2. flock() it exclusively, waiting as long as it takes,
 *   3. make sure the locked file is still the one at that path and is a
 *      plain 0600 file with one link (else remove it and start over),
 *   4. truncate it, read the original, write the new text,
 *   5. set the final mode, fsync, rename over the original while holding
 *      the lock.
 *
 * A crash leaves the old or the new file, never a mix. On any failure the
 * temporary file is removed and the original is untouched.
 *
 * Deviation, on purpose: Postfix always gives the result mode 0644 and the
 * editing user's ownership; this keeps the original file's mode (and, when
 * running as root, its owner and group).
 *
 * Exports: editFileSafely.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { LOCK_EX, flockSync } from '../../native/posix.js';
import { describeErrno } from '../main-cf.js';
import { PostconfFatal } from './diag.js';

const TEMP_MODE = 0o600;
const PERM_MASK = 0o7777;

function unlinkQuietly(path: Buffer): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Steps 1-3: an exclusively locked, empty temporary file that we control. */
function openLockedTemp(tempPath: Buffer, shown: string): number {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(tempPath, constants.O_CREAT | constants.O_WRONLY, TEMP_MODE);
    } catch (err) {
      throw new PostconfFatal(`open ${shown}: ${describeErrno(err)}`);
    }
    try {
      flockSync(fd, LOCK_EX);
    } catch (err) {
      closeSync(fd);
      throw new PostconfFatal(`lock ${shown}: ${describeErrno(err)}`);
    }
    const locked = fstatSync(fd);
    let current;
    try {
      current = statSync(tempPath);
    } catch {
      // Another editor renamed it into place while we waited.
      closeSync(fd);
      continue;
    }
    if (locked.dev !== current.dev || locked.ino !== current.ino) {
      closeSync(fd);
      continue;
    }
    // Leftovers of a crash (wrong type, links or mode) are not trusted.
    if (!current.isFile() || current.nlink > 1 || (current.mode & PERM_MASK) !== TEMP_MODE) {
      unlinkQuietly(tempPath);
      closeSync(fd);
      continue;
    }
    ftruncateSync(fd, 0);
    return fd;
  }
}

/**
 * Rewrites the file at `path` (a byte string) with `edit(original)`, where
 * both texts are byte strings. `edit` may throw (PostconfFatal); the file
 * is then left alone.
 */
export function editFileSafely(path: string, edit: (original: string) => string): void {
  const target = Buffer.from(path, 'latin1');
  const tempShown = `${path}.tmp`;
  const tempPath = Buffer.from(tempShown, 'latin1');
  const fd = openLockedTemp(tempPath, tempShown);
  let renamed = false;
  try {
    let original: Buffer;
    let originalStat;
    try {
      original = readFileSync(target);
      originalStat = statSync(target);
    } catch (err) {
      throw new PostconfFatal(`open ${path} for reading: ${describeErrno(err)}`);
    }
    const data = Buffer.from(edit(original.toString('latin1')), 'latin1');
    try {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written);
      fchmodSync(fd, originalStat.mode & PERM_MASK);
      // Only root can give the file back to its owner; others keep their own.
      if (process.getuid?.() === 0) fchownSync(fd, originalStat.uid, originalStat.gid);
      fsyncSync(fd);
      renameSync(tempPath, target);
      renamed = true;
    } catch (err) {
      throw new PostconfFatal(`close ${tempShown}: ${describeErrno(err)}`);
    }
    syncDirectory(Buffer.from(dirname(path), 'latin1'));
  } finally {
    if (!renamed) unlinkQuietly(tempPath);
    closeSync(fd);
  }
}

/** Makes the rename itself durable; a failure here no longer matters for correctness. */
function syncDirectory(dir: Buffer): void {
  try {
    const dirFd = openSync(dir, constants.O_RDONLY);
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the file itself is safe.
  }
}
