/*
 * listen.ts - the descriptors master(8) owns on behalf of its children:
 * listen sockets (fd 6...) and the flow-control pipe (fd 3/4).
 *
 * Listen sockets are bound here through Node's internal server-handle factory,
 * which binds without listening, so libuv never watches them in this process
 * (master must not accept: its children do). listen-helper.js then puts them
 * in the listening state from a short-lived process. UNIX sockets are made
 * mode 0666 after a stale socket file is removed, as master does.
 *
 * The flow pipe is a real pipe (Node cannot make one directly, and its stdio
 * "pipes" are socketpairs): a FIFO opened at both ends and unlinked at once.
 * All children share it, as in Postfix; flush never uses it.
 *
 * Exports: ListenSocket, ListenSpec, openListenSockets, closeListenSocket, openFlowPipe, FlowPipe.
 */
import net from 'node:net';
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, constants as fsConstants, openSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { strerror } from '../../util/errors.js';
import { msg } from '../../util/msg.js';

/** The part of Node's handle object this module relies on. */
interface ServerHandle {
  readonly fd: number;
  close(callback?: () => void): void;
}

type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
  fd: number | undefined,
  flags: number,
) => ServerHandle | number;

const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

export type ListenSpec = { kind: 'unix'; path: string; backlog: number } | { kind: 'inet'; host: string; port: number; backlog: number };

export interface ListenSocket {
  readonly spec: ListenSpec;
  readonly fd: number;
  readonly handle: ServerHandle;
}

const UNIX_SOCKET_MODE = 0o666;
const HELPER = fileURLToPath(new URL('./listen-helper.js', import.meta.url));

function describe(spec: ListenSpec): string {
  return spec.kind === 'unix' ? spec.path : `${spec.host}:${spec.port}`;
}

function errnoText(negativeErrno: number): string {
  return strerror(getSystemErrorName(negativeErrno));
}

function bind(spec: ListenSpec): ListenSocket {
  let handle: ServerHandle | number;
  if (spec.kind === 'unix') {
    try {
      unlinkSync(spec.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') msg.fatal(`remove ${spec.path}: ${strerror(err)}`);
    }
    handle = createServerHandle(spec.path, -1, -1, undefined, 0);
  } else {
    handle = createServerHandle(spec.host, spec.port, net.isIP(spec.host), undefined, 0);
  }
  if (typeof handle === 'number') return msg.fatal(`bind ${describe(spec)}: ${errnoText(handle)}`);
  if (spec.kind === 'unix') chmodSync(spec.path, UNIX_SOCKET_MODE);
  return { spec, fd: handle.fd, handle };
}

/** Binds every socket and makes it listen; fatal on any failure (master cannot run without them). */
export function openListenSockets(specs: readonly ListenSpec[]): ListenSocket[] {
  if (specs.length === 0) return [];
  const sockets = specs.map(bind);
  const result = spawnSync(process.execPath, [HELPER, ...specs.map((s) => String(s.backlog))], {
    stdio: ['ignore', 'ignore', 'pipe', ...sockets.map((s) => s.fd)],
  });
  if (result.status !== 0) {
    const detail = result.error ? strerror(result.error) : result.stderr.toString().trim() || `exit status ${result.status}`;
    msg.fatal(`listen ${specs.map(describe).join(', ')}: ${detail}`);
  }
  return sockets;
}

/** Closes the socket; for a UNIX socket libuv also removes the socket file. */
export function closeListenSocket(socket: ListenSocket): void {
  socket.handle.close();
}

export interface FlowPipe {
  readonly readFd: number;
  readonly writeFd: number;
}

export function openFlowPipe(scratchPath: string): FlowPipe {
  try {
    execFileSync('mkfifo', ['-m', '600', scratchPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    });
    const readFd = openSync(scratchPath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const writeFd = openSync(scratchPath, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    unlinkSync(scratchPath);
    return { readFd, writeFd };
  } catch (err) {
    return msg.fatal(`pipe: ${strerror(err)}`);
  }
}
