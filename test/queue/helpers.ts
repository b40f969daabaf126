/*
 * helpers.ts - shared fixtures for the queue-layer tests: a scratch queue
 * directory to chdir into (the queue layer works relative to the working
 * directory, as the daemon does after chdir/chroot), a capture of msg output,
 * and a child process that holds real flock(2) locks the way a C flush
 * process would, and a spy on node:fs functions (to count system calls).
 *
 * Exports: inScratchDir, captureMsgs, holdLocks, LockHolder, spyOnFs, FsSpy
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msg, type MsgSeverity } from '../../src/util/msg.js';

/**
 * Runs `body` with the working directory set to a fresh temporary directory,
 * then restores it and removes the directory. Tests using it must be serial.
 */
export async function inScratchDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fastflush-queue-'));
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return await body(dir);
  } finally {
    process.chdir(previous);
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CapturedMsgs {
  readonly lines: string[];
  stop(): void;
}

/** Records every msg.* call as "severity: text" until stop(). */
export function captureMsgs(): CapturedMsgs {
  const lines: string[] = [];
  const stop = msg.addSink((severity: MsgSeverity, text: string) => {
    lines.push(`${severity}: ${text}`);
  });
  return { lines, stop };
}

export interface LockHolder {
  /** Lets the holder exit, which drops its locks; resolves when it has exited. */
  release(): Promise<void>;
}

/**
 * Starts util-linux flock(1) chained once per file, so one child process holds
 * LOCK_EX (flock(2), exactly what C flush uses) on all of `paths` until
 * release(). Resolves once every lock is held.
 */
export async function holdLocks(paths: string[]): Promise<LockHolder> {
  const chain = paths.flatMap((path) => ['/usr/bin/flock', '-x', path]);
  chain.push('sh', '-c', 'echo locked; exec cat');
  const [command, ...argv] = chain as [string, ...string[]];
  const child: ChildProcess = spawn(command, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', () => resolve());
  });
  return {
    async release(): Promise<void> {
      child.stdin?.end();
      await exited;
    },
  };
}

export interface FsSpy {
  /** The first argument (a path or fd) of every call so far. */
  readonly calls: unknown[];
  /** Puts the original function back. */
  restore(): void;
}

type FsFunctionName = 'openSync' | 'writeSync';

type FsFunction = (...args: unknown[]) => unknown;

/**
 * Records calls of one node:fs function, as seen by every module's named
 * imports too (syncBuiltinESMExports updates their live bindings). With
 * `instead`, that runs in place of the function (it gets the original to
 * call), e.g. to inject a failure.
 */
export function spyOnFs(name: FsFunctionName, instead?: (original: FsFunction, args: unknown[]) => unknown): FsSpy {
  const real = fs[name];
  const original = (real as FsFunction).bind(fs);
  const calls: unknown[] = [];
  (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]): unknown => {
    calls.push(args[0]);
    return instead === undefined ? original(...args) : instead(original, args);
  };
  syncBuiltinESMExports();
  return {
    calls,
    restore(): void {
      (fs as unknown as Record<string, unknown>)[name] = real;
      syncBuiltinESMExports();
    },
  };
}
