/*
 * budget-worker.ts - runs backtracking regular expressions under a time budget.
 *
 * Patterns that V8's linear-time engine cannot run (look-arounds, atomic
 * groups, back-references, very large counted repeats) may backtrack
 * catastrophically. They run
 * here, in one worker thread per process, one match at a time; when a match
 * takes longer than its budget the worker is terminated (V8 interrupts a
 * running regular expression) and a fresh one is started for the next job.
 *
 * The worker's code is passed as a string rather than a file, because the
 * daemon may be chrooted by the time the first worker (or its replacement)
 * starts. For the same reason node:worker_threads, which only a daemon with
 * such patterns needs, is taken when the first worker starts from the modules
 * built into Node (process.getBuiltinModule), never from disk.
 *
 * Exports: BudgetExceededError, BudgetRunner.
 */
import type { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const compiled = new Map();
parentPort.on('message', ({ id, source, key }) => {
  let re = compiled.get(source);
  if (re === undefined) {
    re = new RegExp(source);
    compiled.set(source, re);
  }
  parentPort.postMessage({ id, matched: re.test(key) });
});
`;

export class BudgetExceededError extends Error {}

interface Job {
  id: number;
  source: string;
  key: string;
  resolve(matched: boolean): void;
  reject(error: Error): void;
}

export class BudgetRunner {
  private worker: Worker | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;

  constructor(private readonly budgetMs: number) {}

  /** Whether `source` (no flags) matches `key`; rejects with BudgetExceededError after the budget. */
  test(source: string, key: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, source, key, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const job = this.queue.shift() as Job;
    this.running = job;
    const worker = this.ensureWorker();
    this.timer = setTimeout(() => {
      this.worker = undefined;
      this.finish(job);
      void worker.terminate();
      job.reject(new BudgetExceededError(`time budget of ${this.budgetMs} ms exceeded`));
    }, this.budgetMs);
    worker.postMessage({ id: job.id, source: job.source, key: job.key });
  }

  private finish(job: Job): void {
    clearTimeout(this.timer);
    if (this.running === job) this.running = undefined;
    setImmediate(() => this.pump());
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
    const worker: Worker = new WorkerThread(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: { id: number; matched: boolean }) => {
      const job = this.running;
      if (!job || job.id !== reply.id) return;
      this.finish(job);
      job.resolve(reply.matched);
    });
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = undefined;
      const job = this.running;
      if (!job) return;
      this.finish(job);
      job.reject(error);
    });
    // An idle worker must not keep the process alive (after the listeners, which would ref it again).
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
