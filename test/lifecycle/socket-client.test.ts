/*
 * socket-client.test.ts - ListenSocket and FdStream in this process, on a
 * listening UNIX socket that nothing else accepts on: accepting only while
 * started, reads as data arrives and at end of file, writes that must wait,
 * a peer that went away, ipc_timeout, and the sticky error.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListenSocket } from '../../src/lifecycle/socket-client.js';
import { FdStream } from '../../src/util/fd-stream.js';
import { createListenSocket } from './fake-master.js';

interface Setup {
  path: string;
  /** Accepted connections, in order. */
  accepted: FdStream[];
  listener: ListenSocket;
  /** Resolves with the next accepted connection. */
  nextClient(): Promise<FdStream>;
  cleanup(): void;
}

async function setup(timeoutSeconds = 5): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'socket-client-'));
  const listen = await createListenSocket(join(dir, 'sock'));
  const accepted: FdStream[] = [];
  const waiting: ((client: FdStream) => void)[] = [];
  const listener = new ListenSocket(listen.fd, (fd) => {
    const client = new FdStream('test socket', fd, timeoutSeconds);
    accepted.push(client);
    waiting.shift()?.(client);
  }, (error) => { throw error; });
  listener.start();
  return {
    path: listen.path,
    accepted,
    listener,
    nextClient: () => new Promise((resolve) => waiting.push(resolve)),
    cleanup: () => {
      listener.close();
      for (const client of accepted) client.close();
      listen.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path, allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

test('accepts only while started: clients wait in the backlog while stopped', async (t) => {
  const s = await setup();
  try {
    const first = s.nextClient();
    const a = await connect(s.path);
    await first;
    s.listener.stop();
    const b = await connect(s.path);
    await sleep(200);
    t.is(s.accepted.length, 1, 'nothing accepted while stopped');
    const second = s.nextClient();
    s.listener.start();
    await second;
    t.is(s.accepted.length, 2);
    a.destroy();
    b.destroy();
  } finally {
    s.cleanup();
  }
});

test('reads what has arrived, waits for more, and gives null at end of file (again when asked again)', async (t) => {
  const s = await setup();
  try {
    const accepted = s.nextClient();
    const peer = await connect(s.path);
    const client = await accepted;
    peer.write('one');
    t.is((await client.readChunk())?.toString(), 'one');
    const pending = client.readChunk();
    await sleep(100);
    peer.write('two');
    t.is((await pending)?.toString(), 'two');
    peer.end();
    t.is(await client.readChunk(), null);
    t.is(await client.readChunk(), null);
    // Half-closed by the peer: the reply still goes out.
    const reply = new Promise<string>((resolve) => {
      let text = '';
      peer.on('data', (data: Buffer) => { text += data.toString(); });
      peer.on('end', () => resolve(text));
    });
    await client.write(Buffer.from('reply'));
    client.close();
    t.is(await reply, 'reply');
  } finally {
    s.cleanup();
  }
});

test('a write larger than the socket buffer waits for the reader and delivers every byte in order', async (t) => {
  const s = await setup();
  try {
    const accepted = s.nextClient();
    const peer = await connect(s.path);
    const client = await accepted;
    const data = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 1) data[i] = i % 251;
    const received: Buffer[] = [];
    const done = new Promise<void>((resolve) => peer.on('end', resolve));
    peer.pause();
    const writing = client.write(data);
    await sleep(200);
    peer.on('data', (chunk: Buffer) => received.push(chunk));
    peer.resume();
    await writing;
    client.close();
    await done;
    t.true(Buffer.concat(received).equals(data));
  } finally {
    s.cleanup();
  }
});

test('ipc_timeout: a read that waits too long fails with ETIMEDOUT, and so does every later call', async (t) => {
  const s = await setup(0.3);
  try {
    const accepted = s.nextClient();
    const peer = await connect(s.path);
    const client = await accepted;
    const started = Date.now();
    const error = await t.throwsAsync(client.readChunk());
    t.is((error as NodeJS.ErrnoException).code, 'ETIMEDOUT');
    t.is(error?.message, 'read test socket: Connection timed out');
    t.true(Date.now() - started >= 250);
    peer.write('late');
    await sleep(50);
    t.is(await t.throwsAsync(client.readChunk()), error);
    t.is(await t.throwsAsync(client.write(Buffer.from('x'))), error);
    peer.destroy();
  } finally {
    s.cleanup();
  }
});

test('a peer that went away: the write fails with its errno, and later calls fail with the same error', async (t) => {
  const s = await setup();
  try {
    const accepted = s.nextClient();
    const peer = await connect(s.path);
    const client = await accepted;
    peer.destroy();
    await sleep(50);
    const error = await t.throwsAsync(client.write(Buffer.alloc(1024 * 1024)));
    t.true(['EPIPE', 'ECONNRESET'].includes((error as NodeJS.ErrnoException).code ?? ''), error?.message);
    t.is((error as NodeJS.ErrnoException).syscall, 'write');
    t.is(await t.throwsAsync(client.readChunk()), error);
  } finally {
    s.cleanup();
  }
});
