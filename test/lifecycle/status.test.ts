/*
 * status.test.ts - MasterStatusChannel in this process. The child's end is a
 * plain descriptor (the addon's connectSocket), master's end a net.Socket
 * accepted by a listener: records arrive whole and in order, also when master
 * lets the socket buffer fill up and reads later; master closing its end, or
 * writing anything, is "master gone", and so is a status write that fails.
 */
import test from 'ava';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeStatus, MASTER_STAT_AVAIL, MASTER_STAT_TAKEN, MasterStatusChannel } from '../../src/lifecycle/status.js';
import { connectSocket } from '../../src/native/posix.js';

interface Pair {
  channel: MasterStatusChannel;
  master: net.Socket;
  /** Destroys master's end (so the channel stops watching) and the listener. */
  cleanup(): void;
}

async function statusPair(): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'status-'));
  const path = join(dir, 'status');
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const childFd = connectSocket(path);
  if (childFd < 0) throw new Error(`connect: ${-childFd}`);
  const master = await accepted;
  master.on('error', () => undefined);
  const channel = new MasterStatusChannel(4242, 7, childFd);
  return {
    channel, master,
    cleanup() {
      master.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** More records than a socket buffer holds, sent while master does not read: TAKEN, AVAIL, TAKEN, ... */
const FLOOD = 40_000;

function flood(channel: MasterStatusChannel): Promise<boolean>[] {
  return Array.from({ length: FLOOD }, (_, i) => channel.notify([i % 2 === 0 ? MASTER_STAT_TAKEN : MASTER_STAT_AVAIL]));
}

/** Everything master's end receives until `bytes` have arrived. */
async function readFromMaster(master: net.Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  master.resume();
  await new Promise<void>((resolve) => {
    const take = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) {
        master.off('data', take);
        master.pause();
        resolve();
      }
    };
    master.on('data', take);
  });
  return Buffer.concat(chunks);
}

test('records in one write, as master reads them', async (t) => {
  const pair = await statusPair();
  try {
    t.true(await pair.channel.notify([MASTER_STAT_TAKEN, MASTER_STAT_AVAIL]));
    const got = await readFromMaster(pair.master, 24);
    t.deepEqual(got, Buffer.concat([encodeStatus(4242, 7, MASTER_STAT_TAKEN), encodeStatus(4242, 7, MASTER_STAT_AVAIL)]));
  } finally {
    pair.cleanup();
  }
});

test('a full socket buffer: later records wait behind, all arrive whole and in order once master reads', async (t) => {
  const pair = await statusPair();
  try {
    const sends = flood(pair.channel);
    await sleep(50);
    let settled = 0;
    for (const send of sends) void send.then(() => settled++);
    await sleep(50);
    t.true(settled < sends.length, 'some records wait for room');
    const got = await readFromMaster(pair.master, FLOOD * 12);
    t.deepEqual(await Promise.all(sends), sends.map(() => true));
    t.is(got.length, FLOOD * 12);
    const expected = Buffer.concat(sends.map((_, i) => encodeStatus(4242, 7, i % 2 === 0 ? MASTER_STAT_TAKEN : MASTER_STAT_AVAIL)));
    t.true(got.equals(expected), 'every record whole, in order');
  } finally {
    pair.cleanup();
  }
});

for (const [how, act] of [
  ['master closes its end', (master: net.Socket) => master.destroy()],
  ['master writes to the channel', (master: net.Socket) => master.write('x')],
] as const) {
  test(`${how}: master is gone, and later records are not sent`, async (t) => {
    const pair = await statusPair();
    try {
      const gone = new Promise<void>((resolve) => pair.channel.onGone(resolve));
      act(pair.master);
      await gone;
      t.false(await pair.channel.notify([MASTER_STAT_AVAIL]));
      let again = false;
      pair.channel.onGone(() => (again = true));
      t.true(again, 'a handler set after the loss runs at once');
    } finally {
      pair.cleanup();
    }
  });
}

test('records waiting for room when master goes away resolve false', async (t) => {
  const pair = await statusPair();
  try {
    const sends = flood(pair.channel);
    const gone = new Promise<void>((resolve) => pair.channel.onGone(resolve));
    pair.master.destroy();
    await gone;
    const results = await Promise.all(sends);
    t.true(results[0], 'the first records went out');
    t.false(results[results.length - 1], 'the ones still waiting did not');
  } finally {
    pair.cleanup();
  }
});

test('not a socket: refused before anything is watched', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'status-'));
  const fd = openSync(join(dir, 'file'), 'w');
  try {
    t.throws(() => new MasterStatusChannel(1, 1, fd), { message: /is not a socket/ });
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
