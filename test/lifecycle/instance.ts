/*
 * instance.ts - a throw-away Postfix-like directory tree for the lifecycle
 * tests: etc/main.cf, spool/{public,pid}, the echo fixture linked as
 * libexec/flush (so its process name is "flush") and a listening
 * spool/public/flush socket; plus a one-line client.
 *
 * Exports: Instance, FIXTURE, makeInstance, request, RequestResult.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { createListenSocket, fakeMaster, type FakeChild, type FakeMasterOptions, type ListenSocket } from './fake-master.js';

export interface Instance {
  root: string;
  spool: string;
  configDir: string;
  program: string;
  listen: ListenSocket;
  /** Spawns the fixture under the fake master with master's default argv plus extra words. */
  spawn(args: string[], options?: Partial<FakeMasterOptions>): FakeChild;
  cleanup(): void;
}

export const FIXTURE = join(repoRoot, 'dist/test/lifecycle/fixtures/echo-service.js');

export async function makeInstance(mainCf = ''): Promise<Instance> {
  const root = mkdtempSync(join(tmpdir(), 'lifecycle-'));
  const spool = join(root, 'spool');
  const configDir = join(root, 'etc');
  const program = join(root, 'libexec', 'flush');
  for (const dir of [configDir, join(spool, 'public'), join(spool, 'pid'), join(root, 'libexec')]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(join(configDir, 'main.cf'), `queue_directory = ${spool}\n${mainCf}`);
  symlinkSync(FIXTURE, program);
  const listen = await createListenSocket(join(spool, 'public', 'flush'));
  return {
    root,
    spool,
    configDir,
    program,
    listen,
    spawn: (args, options = {}) => fakeMaster({
      program, args, cwd: spool, configDir, listen: [listen], ...options,
    }),
    cleanup: () => {
      listen.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface RequestResult {
  /** Everything the server sent before closing. */
  reply: string;
  /** The error code if the connection failed (e.g. ECONNRESET). */
  error?: string;
}

/**
 * Connects, sends text (if any), and collects the reply until the server
 * closes. A server that never answers gives error 'TIMEOUT' after timeoutMs,
 * so that a dead child fails a test instead of hanging it.
 */
export function request(path: string, text: string | null, timeoutMs = 20000): Promise<RequestResult> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply, error: 'TIMEOUT' });
    }, timeoutMs);
    const done = (result: RequestResult): void => {
      clearTimeout(timer);
      resolve(result);
    };
    socket.on('data', (data: Buffer) => { reply += data.toString(); });
    socket.on('end', () => done({ reply }));
    socket.on('error', (error: NodeJS.ErrnoException) => done({ reply, error: error.code ?? error.message }));
    if (text !== null) socket.write(text);
  });
}
