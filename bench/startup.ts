/*
 * startup.ts - workload (f): what one process start costs. Each daemon is started stand-alone
 * (`flush -S`: one client on stdin/stdout, no master) with MAIL_CONFIG pointing at the bench
 * instance's configuration, on one end of a UNIX socket pair used as both its stdin and its
 * stdout (Postfix's C flush polls its stdout descriptor for input under -S, so two pipes would
 * hang it). Measured per start:
 *  - ready: process spawn to the first byte of the announcement;
 *  - idle RSS and VmHWM (/proc/PID/status) after IDLE_MS without a request;
 *  - request: one `add` after that idle time, request to reply.
 * The reference is bare Node (the one running the benchmark): `node -e 0` spawn to exit, and a
 * node that writes one byte and idles, measured like the daemons (first byte, idle RSS/VmHWM).
 * Rounds alternate C, ours, node.
 *
 * Exports: startupWorkload.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/helpers/paths.js';
import { AttrListSplitter, encodeRequest } from './client.js';
import type { BenchContext } from './context.js';
import { memoryKb } from './proc.js';
import type { Metrics, Variant, Workload } from './rounds.js';

const IDLE_MS = 500;
const STEP_TIMEOUT_MS = 30_000;
const IDLE_NODE_SCRIPT = "process.stdout.write('x'); setInterval(() => {}, 1e6);";

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));
const now = (): bigint => process.hrtime.bigint();
const msSince = (t0: bigint): number => Number(now() - t0) / 1e6;

/** A connected pair of UNIX stream sockets: ours stays here, theirs becomes a child's stdio. */
async function socketPair(dir: string): Promise<{ ours: net.Socket; theirs: net.Socket }> {
  const path = join(dir, `pair${Math.random().toString(36).slice(2)}`);
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  try {
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const ours = net.connect(path);
    await new Promise<void>((resolve, reject) => {
      ours.once('connect', resolve);
      ours.once('error', reject);
    });
    return { ours, theirs: await accepted };
  } finally {
    server.close();
  }
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

function idleMemory(pid: number): Metrics {
  const mem = memoryKb(pid);
  if (mem === null) throw new Error(`process ${pid} ended while idle`);
  return { rssMb: mem.rss / 1024, hwmMb: mem.hwm / 1024 };
}

/** Start `program -S`, time the announcement, idle, read its memory, time one add. */
async function measureDaemon(ctx: BenchContext, program: string, dir: string): Promise<Metrics> {
  const { ours, theirs } = await socketPair(dir);
  const splitter = new AttrListSplitter();
  let firstByteMs: number | null = null;
  const lists: [string, string][][] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let t0 = now();
  ours.on('data', (chunk: Buffer) => {
    firstByteMs ??= msSince(t0);
    lists.push(...splitter.push(chunk));
    wake?.();
  });
  const listCount = async (n: number, what: string): Promise<void> => {
    await withTimeout((async () => {
      while (lists.length < n) {
        if (failure !== null) throw failure;
        await new Promise<void>((resolve) => { wake = resolve; });
      }
    })(), what);
  };
  t0 = now();
  const child = spawn(program, ['-S'], { stdio: [theirs, theirs, 'ignore'], env: { MAIL_CONFIG: ctx.instance.pf.etcDir } });
  theirs.destroy();
  child.on('error', (err) => {
    failure = err;
    wake?.();
  });
  try {
    await listCount(1, `${program} announcement`);
    const readyMs = firstByteMs as unknown as number;
    await sleep(IDLE_MS);
    const memory = idleMemory(child.pid as number);
    const t1 = now();
    ours.write(encodeRequest([['request', 'add'], ['site', 'startup.example.test'], ['queue_id', ctx.ids.id()]]));
    await listCount(2, `${program} reply`);
    const requestMs = msSince(t1);
    const status = lists[1]?.find(([name]) => name === 'status')?.[1];
    if (status !== '0') throw new Error(`${program} -S: add status ${status}`);
    await withTimeout(exited(child), `${program} exit`);
    return { readyMs, ...memory, requestMs };
  } finally {
    ours.destroy();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
}

/** Bare node: `node -e 0` to exit, and an idle node's first byte and memory. */
async function measureNode(): Promise<Metrics> {
  const t0 = now();
  // An empty environment, as master gives its children: variables such as NODE_EXTRA_CA_CERTS
  // make every node start slower and would flatter the daemon.
  const bare = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: {} });
  await withTimeout(exited(bare), 'node -e 0');
  const bareExitMs = msSince(t0);

  const t1 = now();
  const idle = spawn(process.execPath, ['-e', IDLE_NODE_SCRIPT], { stdio: ['ignore', 'pipe', 'ignore'], env: {} });
  try {
    await withTimeout(new Promise<void>((resolve) => idle.stdout?.once('data', () => resolve())), 'idle node');
    const readyMs = msSince(t1);
    await sleep(IDLE_MS);
    return { bareExitMs, readyMs, ...idleMemory(idle.pid as number) };
  } finally {
    if (idle.pid !== undefined) process.kill(idle.pid, 'SIGKILL');
    await exited(idle);
  }
}

export function startupWorkload(ctx: BenchContext): Workload {
  const variants: Variant[] = [
    { id: 'c', side: 'c', label: 'C flush -S' },
    { id: 'ours', side: 'ours', label: 'ours bin/flush -S' },
    { id: 'node', side: 'reference', label: 'bare node' },
  ];
  const programs: Record<string, string> = {
    c: join(ctx.instance.pf.daemonDirectory, 'flush'),
    ours: join(repoRoot, 'bin', 'flush'),
  };
  let dir: string | null = null;
  return {
    key: 'f',
    title: `start-up: stand-alone (-S) start to first byte, RSS after ${IDLE_MS} ms idle`,
    variants,
    metrics: [
      { key: 'readyMs', label: 'start to first byte', unit: 'ms', better: 'lower' },
      { key: 'bareExitMs', label: 'node -e 0 start to exit', unit: 'ms', better: 'lower' },
      { key: 'rssMb', label: 'idle VmRSS', unit: 'MB', better: 'lower' },
      { key: 'hwmMb', label: 'idle VmHWM', unit: 'MB', better: 'lower' },
      { key: 'requestMs', label: 'first add after idle', unit: 'ms', better: 'lower' },
    ],
    comparisons: [
      ...['readyMs', 'rssMb', 'hwmMb', 'requestMs'].map((metric) => ({ metric, ours: 'ours', base: 'c' })),
      { metric: 'readyMs', ours: 'ours', base: 'node' },
      { metric: 'readyMs', baseMetric: 'bareExitMs', ours: 'ours', base: 'node', label: 'start to first byte vs node -e 0 exit' },
      { metric: 'rssMb', ours: 'ours', base: 'node' },
      { metric: 'hwmMb', ours: 'ours', base: 'node' },
    ],
    prepare: async () => {
      dir = mkdtempSync(join(tmpdir(), 'fastflush-bench-'));
    },
    measure: async (variant) => (variant.id === 'node' ? await measureNode()
      : await measureDaemon(ctx, programs[variant.id] as string, dir as string)),
    cleanup: async () => {
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
  };
}
