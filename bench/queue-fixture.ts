/*
 * queue-fixture.ts - real deferred queue files for `send_site` workloads, made cheaply: empty
 * files written straight into deferred/<first character of the id>/ (Postfix's default
 * hash_queue_depth 1 for the hashed deferred queue), mode 0700 (a "ready" queue file) and owner
 * postfix, as the queue manager leaves deferred mail, named as Postfix names queue files. flush only looks at a queue file's name,
 * time stamps and mode, never at its content.
 *
 * A `send_site` moves each listed file to incoming/ (unhashed) and sets its group-read bit;
 * restore() puts every file back as it was, and fails loudly if a file is in neither place (a
 * lost queue file is a bug in the daemon under test). The instance runs without qmgr
 * (instance.ts), so nothing else moves the files.
 *
 * Exports: DeferredQueueFiles.
 */
import {
  chmodSync, chownSync, closeSync, fchownSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, statSync,
} from 'node:fs';
import { join } from 'node:path';

const READY_MODE = 0o700;

export class DeferredQueueFiles {
  private constructor(private readonly spoolDir: string, readonly ids: readonly string[]) {}

  /**
   * Make `count` queue files. Each is created under a temporary name, then renamed to a short
   * queue id as Postfix forms it (five hex digits of microseconds, then the file's inode number
   * in hex): `postfix start` runs postsuper, which renames every queue file whose name does not
   * match its inode number, and the benchmark restarts Postfix between measurements.
   */
  static create(spoolDir: string, uid: number, gid: number, count: number): DeferredQueueFiles {
    const ids: string[] = [];
    const made = new Set<string>();
    const temporary = join(spoolDir, 'deferred', `bench-new-${process.pid}`);
    const fixture = new DeferredQueueFiles(spoolDir, ids);
    try {
      for (let i = 0; i < count; i++) {
        const fd = openSync(temporary, 'wx', READY_MODE);
        let ino: number;
        try {
          fchownSync(fd, uid, gid);
          ino = fstatSync(fd).ino;
        } finally {
          closeSync(fd);
        }
        const usec = (i * 7919) % 1_000_000;
        const id = `${usec.toString(16).padStart(5, '0')}${ino.toString(16)}`.toUpperCase();
        const dir = join(spoolDir, 'deferred', id[0] as string);
        if (!made.has(dir)) {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          chmodSync(dir, 0o700);
          chownSync(dir, uid, gid);
          made.add(dir);
        }
        renameSync(temporary, fixture.deferredPath(id));
        ids.push(id);
      }
    } catch (err) {
      rmSync(temporary, { force: true });
      fixture.remove();
      throw err;
    }
    return fixture;
  }

  private deferredPath(id: string): string {
    return join(this.spoolDir, 'deferred', id[0] as string, id);
  }

  private incomingPath(id: string): string {
    return join(this.spoolDir, 'incoming', id);
  }

  /** Move the first `count` files back from incoming/ with mode 0700; returns how many had moved. */
  restore(count = this.ids.length): number {
    let moved = 0;
    for (const id of this.ids.slice(0, count)) {
      const deferred = this.deferredPath(id);
      try {
        renameSync(this.incomingPath(id), deferred);
        moved++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        try {
          statSync(deferred);
        } catch {
          throw new Error(`queue file ${id} is neither in deferred/ nor in incoming/: lost by the daemon under test`);
        }
      }
      chmodSync(deferred, READY_MODE);
    }
    return moved;
  }

  remove(): void {
    for (const id of this.ids) {
      rmSync(this.deferredPath(id), { force: true });
      rmSync(this.incomingPath(id), { force: true });
    }
  }
}
