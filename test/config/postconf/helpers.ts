/*
 * helpers.ts - shared by the postconf tests: temporary configuration
 * directories and an in-process run of `fastflush postconf` that captures
 * standard output, standard error and the exit status.
 *
 * Exports: ConfigFiles, makeConfigDir, readConfigFile, PostconfResult,
 * runOurs, collectWarnings.
 */
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { runPostconfMain } from '../../../src/config/postconf/postconf.js';

/** File name to content, as byte strings (latin1). */
export type ConfigFiles = Readonly<Record<string, string>>;

/**
 * A fresh directory holding `files`, removed when the test ends. The files
 * get an old mtime: Postfix re-reads a main.cf modified within the last
 * second, repeating its warnings, and the differential tests must not race
 * with that.
 */
export function makeConfigDir(t: ExecutionContext, files: ConfigFiles): string {
  const dir = mkdtempSync(join(tmpdir(), 'ffpc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, Buffer.from(content, 'latin1'));
    utimesSync(path, 31_536_000, 31_536_000);
  }
  return dir;
}

export function readConfigFile(dir: string, name: string): string {
  return readFileSync(join(dir, name)).toString('latin1');
}

export interface PostconfResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

/** Runs our postconf in this process with `-c dir` in front of `args`. */
export function runOurs(dir: string, args: readonly string[], env: Record<string, string> = {}): PostconfResult {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const status = runPostconfMain(['-c', dir, ...args], {
    env,
    writeStdout: (data) => out.push(data),
    writeStderr: (data) => err.push(data),
  });
  return { stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), status };
}

/** A Warn callback that records the texts. */
export function collectWarnings(): { warn: (text: string) => void; warnings: string[] } {
  const warnings: string[] = [];
  return { warn: (text) => warnings.push(text), warnings };
}
