/*
 * support.ts - shared helpers for the test/cli tests (not a test file):
 * scratch directories, a supervisor instance running the fake daemon, log
 * capture, polling, and a tiny client for the fake daemon.
 *
 * Exports: scratchDir, captureLog, waitFor, readRecords, FAKE_DAEMON,
 * writeWrapper, supervisorSettings, talkToFake, DEFAULT_IMPORT_ENVIRONMENT.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { msg, type MsgSeverity } from '../../src/util/msg.js';
import { parseMasterCf } from '../../src/cli/master/master-cf.js';
import type { MasterSettings } from '../../src/cli/master/supervisor.js';
import { repoRoot } from '../helpers/paths.js';

export const FAKE_DAEMON = join(repoRoot, 'dist/test/cli/fixtures/fake-daemon.js');
export const DEFAULT_IMPORT_ENVIRONMENT =
  'MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME XDG_RUNTIME_DIR';

/** A fresh directory, removed after the test. Short prefix: UNIX socket paths are limited to 107 bytes. */
export function scratchDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ffc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface LogLine {
  severity: MsgSeverity;
  text: string;
}

/** Records every msg.* call until the test ends. */
export function captureLog(t: ExecutionContext): LogLine[] {
  const lines: LogLine[] = [];
  const remove = msg.addSink((severity, text) => lines.push({ severity, text }));
  t.teardown(remove);
  return lines;
}

export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface FakeRecord {
  event: string;
  pid: number;
  [key: string]: unknown;
}

export function readRecords(file: string): FakeRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as FakeRecord);
}

/**
 * A program for daemon_directory that runs `script` under this Node. A Node
 * script rather than a shell wrapper, so that no shell adds variables (PWD)
 * to the environment under test; master passes no PATH, so the interpreter
 * path is absolute.
 */
export function writeWrapper(path: string, script: string): void {
  writeFileSync(path, `#!${process.execPath}\nimport(${JSON.stringify(script)});\n`, { mode: 0o755 });
}

/**
 * A queue directory and a daemon directory holding `fake` (the fake daemon),
 * plus settings for the given master.cf text.
 */
export function supervisorSettings(
  root: string,
  masterCf: string,
  overrides: Partial<MasterSettings> = {},
): MasterSettings {
  const queueDirectory = join(root, 'var');
  const daemonDirectory = join(root, 'bin');
  for (const dir of ['public', 'private', 'pid']) mkdirSync(join(queueDirectory, dir), { recursive: true });
  mkdirSync(daemonDirectory, { recursive: true });
  writeWrapper(join(daemonDirectory, 'fake'), FAKE_DAEMON);
  return {
    configDirectory: join(root, 'etc'),
    queueDirectory,
    daemonDirectory,
    defaultProcessLimit: 100,
    serviceThrottleTime: 60,
    importEnvironment: DEFAULT_IMPORT_ENVIRONMENT,
    syslogName: 'postfix',
    services: parseMasterCf(masterCf, { path: join(root, 'etc/master.cf'), defaultProcessLimit: 100, compatibilityLevel: '3.11' }),
    ...overrides,
  };
}

/**
 * One conversation with the fake daemon: read its greeting, send `data`,
 * half-close, wait for its close. `where` is a socket path or a TCP address.
 */
export function talkToFake(where: string | { host: string; port: number }, data: string, hold?: Promise<void>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(typeof where === 'string' ? { path: where } : where);
    let received = '';
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      const first = received === '';
      received += chunk.toString();
      if (first) {
        socket.write(data);
        if (hold) void hold.then(() => socket.end());
        else socket.end();
      }
    });
    socket.on('close', () => resolve(received));
  });
}
