/*
 * fake-master.ts - a minimal stand-in for master(8) in the lifecycle tests:
 * it spawns one service process with master's descriptors, environment and
 * working directory, records the 12-byte status messages the child writes on
 * fd 5, and can close its end of fd 5 as master does on reload or exit.
 *
 * How descriptors reach a child from Node (checked on Linux, Node 20):
 *  - spawn() stdio entries given as 'pipe' are UNIX stream socketpairs, not
 *    pipes (fstat in the child says socket). fd 5 = 'pipe' therefore gives the
 *    child its end of a socketpair, and child.stdio[5] (a net.Socket) is ours.
 *    fds 3 and 4 become two socketpairs too (master uses one pipe; the
 *    skeleton never touches them).
 *  - A net.Server object in the stdio array is refused (TypeError
 *    "stream._stdio.pause is not a function"); its handle (server._handle) or
 *    that handle's fd number works: libuv dup2()s it onto the child's fd.
 *  - A listening net.Server in the parent accepts connections itself (libuv
 *    accepts eagerly), stealing clients from the children. So the parent only
 *    creates and binds the socket (net._createServerHandle, which cluster uses
 *    for shared handles), and a throw-away helper process calls listen(2) on
 *    it and exits from its 'listening' callback, before its event loop ever
 *    polls. Listening is a property of the socket, so every later child that
 *    inherits it can accept; clients queue in the backlog meanwhile.
 * Unlike master, each child gets its own status socketpair.
 *
 * masterView() replays the records as master's accounting does (a new child
 * is available; TAKEN and AVAIL must alternate or master panics; each AVAIL
 * counts a use), so tests can check what master would conclude.
 *
 * Exports: StatusRecord, decodeStatusRecords, MasterView, masterView, ListenSocket,
 * createListenSocket, FakeMasterOptions, FakeChild, fakeMaster, socketPair.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StatusRecord {
  pid: number;
  generation: number;
  status: number;
}

/** Little-endian host order, as on every machine these tests run on. */
export function decodeStatusRecords(data: Buffer): StatusRecord[] {
  const records: StatusRecord[] = [];
  for (let offset = 0; offset + 12 <= data.length; offset += 12) {
    records.push({
      pid: data.readInt32LE(offset),
      generation: data.readUInt32LE(offset + 4),
      status: data.readInt32LE(offset + 8),
    });
  }
  return records;
}

export interface MasterView {
  /** master's use_count: AVAIL records seen. */
  uses: number;
  /** Whether master counts the child as available after the last record. */
  available: boolean;
  /** Why master would have panicked ("process already available" and its opposite), if it would. */
  panic?: string;
}

export function masterView(records: readonly StatusRecord[]): MasterView {
  const view: MasterView = { uses: 0, available: true };
  for (const [index, record] of records.entries()) {
    if (record.status === 1) {
      if (view.available) return { ...view, panic: `record ${index}: AVAIL while available` };
      view.uses += 1;
      view.available = true;
    } else if (record.status === 0) {
      if (!view.available) return { ...view, panic: `record ${index}: TAKEN while taken` };
      view.available = false;
    } else {
      return { ...view, panic: `record ${index}: unknown status ${record.status}` };
    }
  }
  return view;
}

export interface ListenSocket {
  readonly path: string;
  /** The parent's descriptor, for a child's stdio array. */
  readonly fd: number;
  close(): void;
}

interface ServerHandle {
  fd: number;
  close(): void;
}

type CreateServerHandle = (address: string, port: number, addressType: number, fd: undefined, flags: number)
  => ServerHandle | number;

/** A listening UNIX stream socket that this process never accepts on. */
export async function createListenSocket(path: string, backlog = 100): Promise<ListenSocket> {
  const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;
  const handle = create(path, -1, -1, undefined, 0);
  if (typeof handle === 'number') throw new Error(`bind ${path}: error ${handle}`);
  const helper = spawn(process.execPath, [
    '-e', `require('net').createServer().listen({ fd: 3, backlog: ${backlog} }, () => process.exit(0))`,
  ], { stdio: ['ignore', 'ignore', 'inherit', handle.fd] });
  const code = await new Promise((resolve) => helper.on('exit', resolve));
  if (code !== 0) throw new Error(`listen helper exited with ${String(code)}`);
  return { path, fd: handle.fd, close: () => handle.close() };
}

export interface FakeMasterOptions {
  /** The program, run with Node; its basename is the process name. */
  program: string;
  /** argv[1..] as master builds them, e.g. ['-z', '-t', 'unix']. */
  args: string[];
  /** queue_directory: master starts children there. */
  cwd: string;
  /** MAIL_CONFIG. */
  configDir: string;
  /** GENERATION, octal text as master writes it; null leaves it out (default '1'). */
  generation?: string | null;
  /** Further environment (master passes no PATH). */
  env?: Record<string, string>;
  /** Listen sockets for fd 6 onwards. */
  listen: ListenSocket[];
}

export class FakeChild {
  readonly statuses: StatusRecord[] = [];
  stdout = '';
  stderr = '';
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private statusBytes = Buffer.alloc(0);
  private statusWaiters: Array<() => void> = [];
  private readonly statusSocket: net.Socket;

  constructor(readonly child: ChildProcess) {
    this.statusSocket = (child.stdio as unknown as net.Socket[])[5] as net.Socket;
    this.statusSocket.on('data', (data: Buffer) => {
      this.statusBytes = Buffer.concat([this.statusBytes, data]);
      const complete = this.statusBytes.length - (this.statusBytes.length % 12);
      this.statuses.push(...decodeStatusRecords(this.statusBytes.subarray(0, complete)));
      this.statusBytes = this.statusBytes.subarray(complete);
      for (const wake of this.statusWaiters) wake();
    });
    this.statusSocket.on('error', () => {});
    child.stdout?.on('data', (data: Buffer) => { this.stdout += data.toString(); });
    child.stderr?.on('data', (data: Buffer) => { this.stderr += data.toString(); });
    // 'close' would also wait for fds 3 and 4, which nobody reads; wait for the exit and the output.
    const drained = [child.stdout, child.stderr].map((stream) => new Promise((resolve) => stream?.on('close', resolve)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    this.exit = Promise.all([exited, ...drained]).then(([status]) => status);
  }

  /** Resolves when at least count records have arrived; rejects after timeoutMs. */
  async waitForStatuses(count: number, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.statuses.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`saw ${this.statuses.length} status records, wanted ${count}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.statusWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.statusWaiters = [];
    }
  }

  /** Resolves when master would have counted at least `uses` completed connections. */
  async waitForUses(uses: number, timeoutMs = 10000): Promise<MasterView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = masterView(this.statuses);
      if (view.uses >= uses || view.panic !== undefined) return view;
      await this.waitForStatuses(this.statuses.length + 1, deadline - Date.now());
    }
  }

  /** Resolves when stderr matches pattern; rejects after timeoutMs (output travels apart from replies). */
  async waitForStderr(pattern: RegExp, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stderr)) {
      if (Date.now() >= deadline) throw new Error(`stderr does not match ${String(pattern)}: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** What master does on reload or exit: the child sees EOF on fd 5. */
  closeStatus(): void {
    this.statusSocket.destroy();
  }
}

export function fakeMaster(options: FakeMasterOptions): FakeChild {
  const env: Record<string, string> = { MAIL_CONFIG: options.configDir, LANG: 'C', ...options.env };
  if (options.generation !== null) env.GENERATION = options.generation ?? '1';
  const child = spawn(process.execPath, [options.program, ...options.args], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', ...options.listen.map((socket) => socket.fd)],
  });
  return new FakeChild(child);
}

/**
 * Two connected UNIX stream sockets (Node has no socketpair()): [ours,
 * theirs]. theirs is paused, so it can be handed to a child's stdio without
 * this process reading from it.
 */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'socketpair-'));
  const path = join(dir, 'pair');
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const ours = net.connect(path);
  await new Promise((resolve) => ours.once('connect', resolve));
  const theirs = await accepted;
  server.close();
  rmSync(dir, { recursive: true, force: true });
  return [ours, theirs];
}
