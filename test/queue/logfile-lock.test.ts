/*
 * logfile-lock.test.ts - lockExclusive against real flock(2) holders
 * (util-linux flock(1), i.e. what a C flush process does), the in-process
 * mutex, the one-pool-thread rule, and fatal texts.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { lockExclusive } from '../../src/queue/logfile-lock.js';
import { FatalError } from '../../src/util/msg.js';
import { holdLocks, inScratchDir } from './helpers.js';

/** Exit status of `flock -n -x path true`: 0 when the lock was free, 1 when held. */
function probeLock(path: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('/usr/bin/flock', ['-n', '-x', path, 'true'], (error) => {
      resolve(error === null ? 0 : Number((error as { code?: number }).code));
    });
  });
}

function elapsedSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

test.serial('an uncontended lock is a real flock that other processes see', async (t) => {
  await inScratchDir(async () => {
    writeFileSync('logfile', '');
    const fd = openSync('logfile', 'r+');
    const lock = await lockExclusive(fd, 'logfile', 'test: lock logfile');
    t.is(await probeLock('logfile'), 1);
    lock.unlock('test: unlock logfile');
    t.is(await probeLock('logfile'), 0);
    closeSync(fd);
  });
});

test.serial('waits for a lock held by another process while the event loop keeps running', async (t) => {
  await inScratchDir(async () => {
    writeFileSync('logfile', '');
    const holder = await holdLocks(['logfile']);
    const fd = openSync('logfile', 'r+');
    let acquired = false;
    const locking = lockExclusive(fd, 'logfile', 'test: lock logfile').then((lock) => {
      acquired = true;
      return lock;
    });
    // Timers and fs work still run while we wait for the kernel lock.
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stat('logfile');
    clearInterval(interval);
    t.false(acquired);
    t.true(ticks >= 10, `timer fired ${ticks} times`);
    await holder.release();
    const lock = await locking;
    t.true(acquired);
    t.is(await probeLock('logfile'), 1);
    lock.unlock('test: unlock logfile');
    closeSync(fd);
  });
});

test.serial('two lockers in one process take turns through the in-process mutex', async (t) => {
  await inScratchDir(async () => {
    writeFileSync('logfile', '');
    const fdA = openSync('logfile', 'r+');
    const fdB = openSync('logfile', 'r+');
    const order: string[] = [];
    const lockA = await lockExclusive(fdA, 'logfile', 'test: lock');
    order.push('A locked');
    const lockingB = lockExclusive(fdB, 'logfile', 'test: lock').then((lock) => {
      order.push('B locked');
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    order.push('A unlocks');
    lockA.unlock('test: unlock');
    const start = process.hrtime.bigint();
    const lockB = await lockingB;
    // Handed over at once, not after a retry delay or a pool-thread round trip.
    t.true(elapsedSince(start) < 50);
    lockB.unlock('test: unlock');
    t.deepEqual(order, ['A locked', 'A unlocks', 'B locked']);
    closeSync(fdA);
    closeSync(fdB);
  });
});

test.serial('ten contended locks occupy at most one pool thread; fs work stays prompt', async (t) => {
  await inScratchDir(async () => {
    const names = Array.from({ length: 10 }, (_, i) => `logfile${i}`);
    for (const name of names) writeFileSync(name, name);
    const holder = await holdLocks(names);
    const fds = names.map((name) => openSync(name, 'r+'));
    let acquiredCount = 0;
    const lockings = fds.map((fd, i) =>
      lockExclusive(fd, names[i] as string, 'test: lock').then((lock) => {
        acquiredCount++;
        return lock;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    // libuv's default pool has 4 threads; with a blocked thread per waiter,
    // none of this would finish until the holder lets go.
    const start = process.hrtime.bigint();
    await new Promise((resolve) => setImmediate(resolve));
    const contents = await Promise.all(names.map((name) => readFile(name, 'utf8')));
    await Promise.all(names.map((name) => stat(name)));
    const fsMs = elapsedSince(start);
    t.deepEqual(contents, names);
    t.true(fsMs < 500, `fs work took ${fsMs} ms`);
    t.is(acquiredCount, 0);

    await holder.release();
    const releaseStart = process.hrtime.bigint();
    const locks = await Promise.all(lockings);
    t.is(acquiredCount, 10);
    t.true(elapsedSince(releaseStart) < 3000);
    for (const name of names) t.is(await probeLock(name), 1);
    for (const lock of locks) lock.unlock('test: unlock');
    for (const fd of fds) closeSync(fd);
  });
});

test.serial('lock and unlock failures are fatal with the caller text and strerror', async (t) => {
  await inScratchDir(async () => {
    await t.throwsAsync(lockExclusive(987654, 'nofile', 'flush_add_path: lock fast flush logfile nofile'), {
      instanceOf: FatalError,
      message: 'flush_add_path: lock fast flush logfile nofile: Bad file descriptor',
    });
    // The failed attempt released its mutex slot: the same key can be locked again.
    writeFileSync('nofile', '');
    const fd = openSync('nofile', 'r+');
    const lock = await lockExclusive(fd, 'nofile', 'test: lock');
    closeSync(fd);
    t.throws(() => lock.unlock('flush_add_path: unlock fast flush logfile nofile'), {
      instanceOf: FatalError,
      message: 'flush_add_path: unlock fast flush logfile nofile: Bad file descriptor',
    });
    // ... and so did the failed unlock.
    const fd2 = openSync('nofile', 'r+');
    const lock2 = await lockExclusive(fd2, 'nofile', 'test: lock');
    lock2.unlock('test: unlock');
    closeSync(fd2);
  });
});
