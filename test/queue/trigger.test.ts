/*
 * trigger.test.ts - sendQueueTrigger against a UNIX-socket stand-in for qmgr
 * (one that closes like qmgr, one that never closes), FIFOs with and without
 * a reader, and bad targets, a full listen backlog and a peer that stops reading. The "process can still exit" check runs the
 * trigger in a child process. TriggerBatch: requests merged, one trigger per flush.
 */
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants, closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectSocket } from '../../src/native/posix.js';
import { BATCH_DELAY_MS, sendQueueTrigger, TriggerBatch } from '../../src/queue/trigger.js';
import { msg } from '../../src/util/msg.js';
import { captureMsgs, inScratchDir } from './helpers.js';

const triggerModule = fileURLToPath(new URL('../../src/queue/trigger.js', import.meta.url));

interface FakeQmgr {
  server: Server;
  /** Bytes each connection sent, once it has ended. */
  received: Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * Listens on public/qmgr. Like qmgr's trigger server it reads once and closes,
 * unless `neverClose`; it resolves `received` with the first connection's bytes.
 */
function fakeQmgr(neverClose: boolean): Promise<FakeQmgr> {
  const sockets: Socket[] = [];
  let deliver!: (data: Buffer) => void;
  const received = new Promise<Buffer>((resolve) => {
    deliver = resolve;
  });
  const server = createServer((socket) => {
    sockets.push(socket);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).includes(0)) {
        deliver(Buffer.concat(chunks));
        if (!neverClose) socket.destroy();
      }
    });
    socket.on('error', () => undefined);
  });
  mkdirSync('public', { recursive: true });
  return new Promise((resolve) => {
    server.listen('public/qmgr', () =>
      resolve({
        server,
        received,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

test.serial('UNIX socket: qmgr receives the request byte, then a NUL', async (t) => {
  await inScratchDir(async () => {
    const qmgr = await fakeQmgr(false);
    const captured = captureMsgs();
    try {
      await sendQueueTrigger('public/qmgr', 'F', 10);
      t.deepEqual(await qmgr.received, Buffer.from('F\0', 'latin1'));
      // qmgr closing early (EPIPE on the NUL, or a reset) is not worth a word.
      await new Promise((resolve) => setTimeout(resolve, 50));
      t.deepEqual(captured.lines, []);
    } finally {
      captured.stop();
      await qmgr.close();
    }
  });
});

test.serial('TriggerBatch: repeated requests become one trigger with each byte once, sent by flush', async (t) => {
  await inScratchDir(async () => {
    const qmgr = await fakeQmgr(false);
    let connections = 0;
    qmgr.server.on('connection', () => connections++);
    try {
      const batch = new TriggerBatch('public/qmgr', 10);
      t.false(batch.due(), 'nothing requested yet');
      batch.request('I');
      batch.request('I');
      batch.request('FI');
      await new Promise((resolve) => setTimeout(resolve, BATCH_DELAY_MS + 10));
      t.true(batch.due());
      t.is(connections, 0, 'nothing is sent before flush');
      await batch.flush();
      t.deepEqual(await qmgr.received, Buffer.from('IF\0', 'latin1'));
      t.false(batch.due());
      await batch.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      t.is(connections, 1, 'an empty batch sends nothing');
    } finally {
      await qmgr.close();
    }
  });
});

test.serial('UNIX socket: a server that never closes does not delay the caller', async (t) => {
  await inScratchDir(async () => {
    const qmgr = await fakeQmgr(true);
    try {
      const start = Date.now();
      await sendQueueTrigger('public/qmgr', 'I', 10);
      t.true(Date.now() - start < 1000);
      t.deepEqual(await qmgr.received, Buffer.from('I\0', 'latin1'));
    } finally {
      await qmgr.close();
    }
  });
});

test.serial('UNIX socket: the lingering connection does not keep a process alive', async (t) => {
  await inScratchDir(async (dir) => {
    const qmgr = await fakeQmgr(true);
    try {
      const script = `
        import { sendQueueTrigger } from ${JSON.stringify(triggerModule)};
        await sendQueueTrigger('public/qmgr', 'I', 10);
        console.log('sent');
      `;
      const start = Date.now();
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const status = await new Promise<number | null>((resolve) => {
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('exit', (code) => {
          clearTimeout(killer);
          resolve(code);
        });
      });
      t.is(status, 0);
      t.is(output.trim(), 'sent');
      t.true(Date.now() - start < 10_000, 'exited well before the 110 s linger limit');
      t.deepEqual(await qmgr.received, Buffer.from('I\0', 'latin1'));
    } finally {
      await qmgr.close();
    }
  });
});

test.serial('UNIX socket: nobody listening is silent unless verbose', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('public');
    // A socket file without a listener: bind it in a child that exits at once.
    execFileSync('python3', ['-c', 'import socket; socket.socket(socket.AF_UNIX).bind("public/qmgr")']);
    const captured = captureMsgs();
    try {
      await sendQueueTrigger('public/qmgr', 'F', 10);
      t.deepEqual(captured.lines, []);
      msg.verbose = 1;
      await sendQueueTrigger('public/qmgr', 'F', 10);
      t.deepEqual(captured.lines, ['warning: unix_trigger: connect to public/qmgr: Connection refused']);
    } finally {
      msg.verbose = 0;
      captured.stop();
    }
  });
});

/**
 * A python3 process listening on public/qmgr (created here) with `backlog`,
 * that then runs `after` (Python) and sleeps; resolves once it listens.
 */
async function pythonListener(backlog: number, after: string): Promise<ChildProcess> {
  mkdirSync('public');
  const listener = spawn('python3', ['-c', [
    'import socket, time',
    `s = socket.socket(socket.AF_UNIX); s.bind("public/qmgr"); s.listen(${backlog})`,
    `print("ready", flush=True); ${after}; time.sleep(60)`,
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => listener.stdout.once('data', resolve));
  return listener;
}

test.serial('UNIX socket: a full listen backlog fails at once, as C\'s timed connect does (EAGAIN)', async (t) => {
  await inScratchDir(async () => {
    // A listener that never accepts, with the smallest backlog, filled by our own connections.
    const listener = await pythonListener(0, 'pass');
    const fillers: number[] = [];
    const captured = captureMsgs();
    try {
      for (let fd = connectSocket('public/qmgr'); fd >= 0 && fillers.length < 100; fd = connectSocket('public/qmgr')) fillers.push(fd);
      t.true(fillers.length < 100, 'the backlog filled up');
      msg.verbose = 1;
      const start = Date.now();
      await sendQueueTrigger('public/qmgr', 'I', 10);
      t.true(Date.now() - start < 1000, 'no wait for room in the backlog');
      t.deepEqual(captured.lines, ['warning: unix_trigger: connect to public/qmgr: Resource temporarily unavailable']);
    } finally {
      msg.verbose = 0;
      captured.stop();
      for (const fd of fillers) closeSync(fd);
      listener.kill('SIGKILL');
    }
  });
});

test.serial('UNIX socket: a peer that stops reading makes the writes wait, then time out (reported with -v)', async (t) => {
  await inScratchDir(async () => {
    // Accepts one connection and never reads it; a request larger than the socket buffers must wait.
    const listener = await pythonListener(1, 'c, _ = s.accept()');
    const captured = captureMsgs();
    try {
      msg.verbose = 1;
      const start = Date.now();
      await sendQueueTrigger('public/qmgr', 'I'.repeat(8 << 20), 1);
      const elapsed = Date.now() - start;
      t.true(elapsed >= 900 && elapsed < 5000, `gave up after the 1 s timeout (${elapsed} ms)`);
      t.deepEqual(captured.lines, ['warning: unix_trigger: write to public/qmgr: Connection timed out']);
    } finally {
      msg.verbose = 0;
      captured.stop();
      listener.kill('SIGKILL');
    }
  });
});

test.serial('FIFO with a reader: exactly the request bytes, no NUL', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('public');
    execFileSync('mkfifo', ['-m', '0622', 'public/qmgr']);
    const reader = openSync('public/qmgr', constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await sendQueueTrigger('public/qmgr', 'I', 10);
      await sendQueueTrigger('public/qmgr', 'F', 10);
      const buffer = Buffer.alloc(16);
      const count = readSync(reader, buffer, 0, buffer.length, null);
      t.is(buffer.toString('latin1', 0, count), 'IF');
    } finally {
      closeSync(reader);
    }
  });
});

test.serial('FIFO without a reader: returns at once, reported only with -v', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('public');
    execFileSync('mkfifo', ['public/qmgr']);
    const captured = captureMsgs();
    try {
      const start = Date.now();
      await sendQueueTrigger('public/qmgr', 'I', 10);
      t.true(Date.now() - start < 1000);
      t.deepEqual(captured.lines, []);
      msg.verbose = 1;
      await sendQueueTrigger('public/qmgr', 'I', 10);
      t.deepEqual(captured.lines, ['info: fifo_trigger: open public/qmgr: cannot open file: No such device or address']);
    } finally {
      msg.verbose = 0;
      captured.stop();
    }
  });
});

test.serial('missing target and wrong file type are warnings', async (t) => {
  await inScratchDir(async () => {
    const captured = captureMsgs();
    try {
      await sendQueueTrigger('public/qmgr', 'F', 10);
      mkdirSync('public');
      writeFileSync('public/qmgr', '');
      await sendQueueTrigger('public/qmgr', 'F', 10);
    } finally {
      captured.stop();
    }
    t.deepEqual(captured.lines, [
      'warning: unable to look up public/qmgr: No such file or directory',
      'warning: public/qmgr is not a socket or a fifo',
    ]);
  });
});
