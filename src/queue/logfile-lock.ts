/*
 * logfile-lock.ts - exclusive flock(2) on fast flush logfiles that
 * interoperates with C flush processes (which block in flock(LOCK_EX)) without
 * ever blocking our event loop or starving libuv's thread pool.
 *
 * Three layers, cheapest first:
 *   1. an in-process async mutex per path: two of our own requests on one
 *      logfile queue here instead of both waiting in the kernel (flock locks
 *      belong to open file descriptions, so our two fds would conflict too);
 *   2. flock(LOCK_EX | LOCK_NB) on the event loop: never blocks, and is all it
 *      takes unless another process holds the lock;
 *   3. when the lock is busy, a blocking flock(LOCK_EX) on a thread-pool
 *      thread, but at most one such wait per process: a lock held for minutes
 *      must not tie up the pool threads that all fs work needs. Other
 *      contended lockers wait in JS and meanwhile retry LOCK_NB with a growing
 *      delay, so a busy lock on one file cannot hold up a free one.
 *
 * Lock and unlock failures are fatal, as in Postfix; callers pass the text
 * that precedes ": <strerror>" (e.g. "flush_add_path: lock fast flush logfile
 * example_com").
 *
 * Exports: lockExclusive(fd, key, failureText) -> HeldLock { unlock(failureText) }
 */
import { flockAsync, flockSync, LOCK_EX, LOCK_NB, LOCK_UN } from '../native/posix.js';
import { errorCode, strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';

export interface HeldLock {
  /** flock(LOCK_UN) and let the next in-process locker of the same key in; fatal on failure. */
  unlock(failureText: string): void;
}

/* ---- layer 1: per-key FIFO mutex ---- */

const mutexTails = new Map<string, Promise<void>>();

/** Waits for earlier holders of `key`; resolves with the function that lets the next one in. */
async function acquireMutex(key: string): Promise<() => void> {
  const previous = mutexTails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  mutexTails.set(key, tail);
  await previous;
  return () => {
    // The map only holds keys somebody is still using.
    if (mutexTails.get(key) === tail) mutexTails.delete(key);
    release();
  };
}

/* ---- layers 2 and 3: the kernel lock ---- */

function isBusy(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EWOULDBLOCK' || code === 'EAGAIN';
}

/** LOCK_NB attempt: true when we got the lock, false when another process holds it. */
function tryLock(fd: number): boolean {
  try {
    flockSync(fd, LOCK_EX | LOCK_NB);
    return true;
  } catch (error) {
    if (isBusy(error)) return false;
    throw error;
  }
}

let poolWaitInProgress = false;
const poolWaitObservers = new Set<() => void>();

/** Resolves when the pool slot frees up or after `ms`, whichever comes first. */
function poolFreeOrDelay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      poolWaitObservers.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    poolWaitObservers.add(wake);
  });
}

const FIRST_RETRY_MS = 10;
const MAX_RETRY_MS = 1000;

async function waitForBusyLock(fd: number): Promise<void> {
  let retryMs = FIRST_RETRY_MS;
  for (;;) {
    if (!poolWaitInProgress) {
      poolWaitInProgress = true;
      try {
        await flockAsync(fd, LOCK_EX);
        return;
      } finally {
        poolWaitInProgress = false;
        for (const wake of [...poolWaitObservers]) wake();
      }
    }
    await poolFreeOrDelay(retryMs);
    if (tryLock(fd)) return;
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  }
}

/**
 * Takes an exclusive flock on `fd`. `key` names the file for the in-process
 * mutex (use the logfile's relative path). Failure: msg.fatal(`${failureText}: ERR`).
 */
export async function lockExclusive(fd: number, key: string, failureText: string): Promise<HeldLock> {
  const releaseMutex = await acquireMutex(key);
  try {
    if (!tryLock(fd)) await waitForBusyLock(fd);
  } catch (error) {
    releaseMutex();
    return msg.fatal(`${failureText}: ${strerror(error)}`);
  }
  return {
    unlock(unlockFailureText: string): void {
      try {
        flockSync(fd, LOCK_UN);
      } catch (error) {
        msg.fatal(`${unlockFailureText}: ${strerror(error)}`);
      } finally {
        releaseMutex();
      }
    },
  };
}
