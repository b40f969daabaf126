/*
 * standalone.ts - a flush daemon run by hand, without master(8): `flush -S` on a private
 * queue directory, serving one client on a socket pair (Postfix's C daemon needs stdin and
 * stdout to be one socket). Fast enough for hundreds of crash trials, and the same for both
 * programs: Postfix's flush from daemon_directory, or fastflush's bin/flush.
 *
 * The scratch queue has etc/main.cf (MAIL_CONFIG), flush/, deferred/, incoming/, public/ with
 * a stand-in qmgr that accepts and discards triggers, and pid/.
 *
 * Exports: ScratchSpool, makeScratchSpool, StandaloneRun, runStandalone, daemonDirectory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FlushProgram } from '../helpers/postfix-instance.js';
import { repoRoot } from '../helpers/paths.js';
import { listenFakeQmgr } from './fake-qmgr.js';
import { FLUSH_ANNOUNCEMENT_LENGTH, parseStatus } from './wire.js';

export interface ScratchSpool {
  root: string;
  spoolDir: string;
  configDir: string;
  close(): Promise<void>;
}

let cachedDaemonDirectory: string | undefined;

/** Postfix's daemon_directory, asked of postconf once. */
export function daemonDirectory(): string {
  cachedDaemonDirectory ??= spawnSync('postconf', ['-dh', 'daemon_directory'], { encoding: 'utf8' }).stdout.trim();
  return cachedDaemonDirectory;
}

/**
 * A private queue directory under `parent` (default: the system's tmpdir), with main.cf lines
 * `mainCf` added to the minimum both daemons need.
 */
export async function makeScratchSpool(mainCf: Record<string, string> = {}, parent = tmpdir()): Promise<ScratchSpool> {
  const root = mkdtempSync(join(parent, 'ff-rel-'));
  const spoolDir = join(root, 'q');
  const configDir = join(root, 'etc');
  for (const dir of ['flush', 'deferred', 'incoming', 'public', 'pid']) mkdirSync(join(spoolDir, dir), { recursive: true, mode: 0o700 });
  mkdirSync(configDir);
  const params: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: spoolDir,
    fast_flush_domains: 'example.test',
    mail_owner: 'postfix',
    ...mainCf,
  };
  writeFileSync(join(configDir, 'main.cf'), Object.entries(params).map(([k, v]) => `${k} = ${v}\n`).join(''));
  const qmgr = await listenFakeQmgr(join(spoolDir, 'public', 'qmgr'));
  return {
    root,
    spoolDir,
    configDir,
    close: async () => {
      await qmgr.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface StandaloneRun {
  child: ChildProcess;
  pid: number;
  /** performance.now() when the request went out (undefined before the announcement came). */
  sentAt(): number | undefined;
  /** Settles when the daemon has exited: its status reply (null if none), exit code, signal, stderr. */
  done: Promise<{ status: number | null; code: number | null; signal: NodeJS.Signals | null; stderr: string; exitAt: number }>;
}

function programArgv(program: FlushProgram): string[] {
  return program === 'c' ? [join(daemonDirectory(), 'flush')] : [join(repoRoot, 'bin', 'flush')];
}

/**
 * Starts `flush -S -V [extraArgs]` in `spool` with `request` as its client's request.
 * `prefix` wraps the command (e.g. ['prlimit', '--nofile=64']).
 */
export async function runStandalone(program: FlushProgram, spool: ScratchSpool, request: Buffer,
  extraArgs: string[] = [], prefix: string[] = []): Promise<StandaloneRun> {
  const pairPath = join(spool.root, `pair-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(pairPath, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(pairPath);
  const daemonEnd = await accepted;
  const [file, ...args] = [...prefix, ...programArgv(program), '-S', '-V', ...extraArgs] as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: spool.spoolDir,
    stdio: [daemonEnd, daemonEnd, 'pipe'],
    env: { MAIL_CONFIG: spool.configDir, PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  daemonEnd.destroy();
  server.close();
  rmSync(pairPath, { force: true });

  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  let received = Buffer.alloc(0);
  let sentAt: number | undefined;
  client.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    if (sentAt === undefined && received.length >= FLUSH_ANNOUNCEMENT_LENGTH) {
      sentAt = performance.now();
      client.write(request);
    }
  });
  client.on('error', () => undefined);
  const done = new Promise<Awaited<StandaloneRun['done']>>((resolve) => {
    child.on('close', (code, signal) => {
      const exitAt = performance.now();
      client.destroy();
      resolve({ status: parseStatus(received.subarray(FLUSH_ANNOUNCEMENT_LENGTH)), code, signal, stderr, exitAt });
    });
  });
  return { child, pid: child.pid as number, sentAt: () => sentAt, done };
}
