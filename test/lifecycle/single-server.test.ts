/*
 * single-server.test.ts - the skeleton serving connections under a fake
 * master(8): status records, max_use, max_idle, master going away, timeouts,
 * reads and writes that must wait, accept(2) out of descriptors, the accept
 * lock, -s, privileges, postlog logging and -S.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasPython, startDgramReceiver } from './dgram-receiver.js';
import { createListenSocket, masterView, socketPair, type FakeChild } from './fake-master.js';
import { makeInstance, request, type Instance } from './instance.js';
import { gatedTests, ROOT } from '../helpers/requirements.js';

/** setuid and chroot need root. */
const asRoot = gatedTests(ROOT);

const MASTER_ARGS = ['-z', '-t', 'unix'];

interface Reply {
  line: string;
  pid: number;
  uid: number;
  gid: number;
  cwd: string;
}

function parseReply(text: string): Reply {
  return JSON.parse(text) as Reply;
}

async function withInstance(mainCf: string, body: (instance: Instance) => Promise<void>): Promise<void> {
  const instance = await makeInstance(mainCf);
  try {
    await body(instance);
  } finally {
    instance.cleanup();
  }
}

/**
 * Ends a child that a failed assertion left behind; shows what a child that
 * had to be killed or died unexpectedly logged.
 */
function reap(t: ExecutionContext, child: FakeChild, expectedCode = 0): void {
  const running = child.child.exitCode === null && child.child.signalCode === null;
  if (running) child.child.kill('SIGKILL');
  if (running || child.child.exitCode !== expectedCode) {
    t.log(`child ${String(child.child.pid)} stderr:\n${child.stderr}`);
  }
}

test('each completed connection is one use for master, with pid and octal generation; fd 5 EOF ends the process', async (t) => {
  await withInstance('', async (instance) => {
    const child = instance.spawn(MASTER_ARGS, { generation: '045' });
    const pid = child.child.pid as number;
    try {
      for (let index = 0; index < 3; index += 1) {
        const result = await request(instance.listen.path, `hello ${index}\n`);
        t.is(result.error, undefined);
        const reply = parseReply(result.reply);
        t.is(reply.line, `hello ${index}`);
        t.is(reply.pid, pid);
        t.is(reply.cwd, instance.spool);
      }
      // Quick requests may make it ask for a successor (a TAKEN that stays), hence no exact list.
      const view = await child.waitForUses(3);
      t.is(view.uses, 3);
      t.is(view.panic, undefined);
      for (const record of child.statuses) t.like(record, { pid, generation: 37 });
      child.closeStatus();
      t.deepEqual(await child.exit, { code: 0, signal: null });
      // The accept lock file is created as master's children create it.
      t.is(statSync(join(instance.spool, 'pid', 'unix.flush')).mode & 0o777, 0o600);
    } finally {
      reap(t, child);
    }
  });
});

test('max_use: the process stops listening first, so none of 20 simultaneous clients is reset', async (t) => {
  await withInstance('max_use = 5\n', async (instance) => {
    const results = Array.from({ length: 20 }, (_, index) => request(instance.listen.path, `delay 20 ${index}\n`));
    const exits = [];
    let served = 0;
    const all = Promise.all(results);
    for (let round = 0; round < 10 && served < 20; round += 1) {
      const child = instance.spawn(MASTER_ARGS);
      try {
        const exit = await child.exit;
        exits.push(exit);
        // Five uses, and available at exit, as a C child after its last use.
        t.deepEqual(masterView(child.statuses), { uses: 5, available: true });
      } finally {
        reap(t, child);
      }
      served += 5;
    }
    const replies = await all;
    t.deepEqual(exits, Array.from({ length: 4 }, () => ({ code: 0, signal: null })));
    for (const result of replies) t.is(result.error, undefined);
    const pids = new Map<number, number>();
    for (const result of replies) {
      const { pid } = parseReply(result.reply);
      pids.set(pid, (pids.get(pid) ?? 0) + 1);
    }
    t.deepEqual([...pids.values()], [5, 5, 5, 5]);
  });
});

test('near max_use under load a process says TAKEN while still serving, so master starts its successor early', async (t) => {
  await withInstance('max_use = 10\n', async (instance) => {
    // Clients queued in the backlog before the process starts: they arrive at once, as at a takeover.
    const replies = Array.from({ length: 10 }, () => request(instance.listen.path, 'delay 2000\n'));
    await sleep(200);
    const child = instance.spawn(MASTER_ARGS);
    try {
      await child.waitForStatuses(1);
      // Unavailable long before anything completes: master watches the socket again.
      t.deepEqual(masterView(child.statuses), { uses: 0, available: false });
      for (const result of await Promise.all(replies)) t.is(result.error, undefined);
      t.deepEqual(await child.exit, { code: 0, signal: null });
      t.deepEqual(masterView(child.statuses), { uses: 10, available: true });
    } finally {
      reap(t, child);
    }
  });
});

test('a process that served one connection and then dies has a use on record: master does not throttle', async (t) => {
  await withInstance('', async (instance) => {
    const child = instance.spawn(MASTER_ARGS);
    try {
      const slow = request(instance.listen.path, 'delay 5000\n');
      t.is(parseReply((await request(instance.listen.path, 'quick\n')).reply).line, 'quick');
      // The slow one still runs: C would be TAKEN here with use_count 0 for this process.
      t.is((await child.waitForUses(1)).uses, 1);
      child.child.kill('SIGKILL');
      t.is((await child.exit).signal, 'SIGKILL');
      t.is((await slow).reply, '');
    } finally {
      reap(t, child);
    }
  });
});

test('a use is on master\'s record before the client sees its connection end: killed at once, still no throttle', async (t) => {
  // master counts uses only from status records and reaps a dead child without reading on; so
  // the record must already be in its channel when the client (or anyone watching) sees the end.
  for (let round = 0; round < 5; round += 1) {
    await withInstance('', async (instance) => {
      const child = instance.spawn(MASTER_ARGS);
      try {
        const result = await request(instance.listen.path, 'quick\n');
        child.child.kill('SIGKILL');
        t.is(parseReply(result.reply).line, 'quick');
        t.is((await child.exit).signal, 'SIGKILL');
        t.is(masterView(child.statuses).uses, 1, `round ${round}: ${JSON.stringify(child.statuses)}`);
      } finally {
        reap(t, child);
      }
    });
  }
});

test('a retire reason (a changed table) at an accept: that client is served, then the process exits 0', async (t) => {
  await withInstance('', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-V']);
    try {
      t.is(parseReply((await request(instance.listen.path, 'before\n')).reply).line, 'before');
      writeFileSync(join(instance.spool, 'retire-reason'), 'table hash:/etc/postfix/flush has changed\n');
      t.is(parseReply((await request(instance.listen.path, 'after\n')).reply).line, 'after');
      t.deepEqual(await child.exit, { code: 0, signal: null });
      t.regex(child.stderr, /^postfix\/flush: table hash:\/etc\/postfix\/flush has changed -- restarting$/m);
      t.deepEqual(masterView(child.statuses), { uses: 2, available: true });
    } finally {
      reap(t, child);
    }
  });
});

test('max_idle: a process with nothing to do exits 0', async (t) => {
  await withInstance('max_idle = 1s\n', async (instance) => {
    const started = Date.now();
    const child = instance.spawn(MASTER_ARGS);
    try {
      t.deepEqual(await child.exit, { code: 0, signal: null });
      const elapsed = Date.now() - started;
      t.true(elapsed >= 1000 && elapsed < 6000, `exited after ${elapsed} ms`);
      t.deepEqual(child.statuses, []);
    } finally {
      reap(t, child);
    }
  });
});

test('master going away during a request: the request completes, then exit 0', async (t) => {
  await withInstance('', async (instance) => {
    const child = instance.spawn(MASTER_ARGS);
    try {
      const pending = request(instance.listen.path, 'delay 700\n');
      await child.waitForStatuses(1);
      child.closeStatus();
      const result = await pending;
      t.is(result.error, undefined);
      t.is(parseReply(result.reply).line, 'delay 700');
      t.deepEqual(await child.exit, { code: 0, signal: null });
    } finally {
      reap(t, child);
    }
  });
});

test('ipc_timeout ends a client that sends nothing; the process serves the next one', async (t) => {
  await withInstance('ipc_timeout = 1s\n', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-V']);
    try {
      const started = Date.now();
      const stalled = await request(instance.listen.path, null);
      const elapsed = Date.now() - started;
      t.deepEqual(stalled, { reply: '' });
      t.true(elapsed >= 900 && elapsed < 5000, `closed after ${elapsed} ms`);
      await child.waitForStderr(/^postfix\/flush: warning: flush socket: Connection timed out$/m);
      const next = await request(instance.listen.path, 'next\n');
      t.is(parseReply(next.reply).line, 'next');
      t.deepEqual(await child.waitForUses(2), { uses: 2, available: true });
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      reap(t, child);
    }
  });
});

/** Sends the pieces with a pause between them (ending the sending side after the last when asked); the whole reply. */
function requestInPieces(path: string, pieces: string[], pauseMs: number, endAfter: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path, allowHalfOpen: true });
    let reply = '';
    socket.on('data', (data: Buffer) => { reply += data.toString('latin1'); });
    socket.on('end', () => {
      socket.end();
      resolve(reply);
    });
    socket.on('error', reject);
    void (async () => {
      for (const [index, piece] of pieces.entries()) {
        if (index > 0) await sleep(pauseMs);
        socket.write(piece);
      }
      if (endAfter) socket.end();
    })();
  });
}

test('a request that arrives in pieces is read as it comes; a client that shut down its sending side still gets its reply', async (t) => {
  await withInstance('', async (instance) => {
    const child = instance.spawn(MASTER_ARGS);
    try {
      const slow = await requestInPieces(instance.listen.path, ['pi', 'ec', 'es\n'], 300, false);
      t.is(parseReply(slow).line, 'pieces');
      const halfClosed = await requestInPieces(instance.listen.path, ['half', '-closed\n'], 100, true);
      t.is(parseReply(halfClosed).line, 'half-closed');
      t.deepEqual(await child.waitForUses(2), { uses: 2, available: true });
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      reap(t, child);
    }
  });
});

test('a reply larger than the socket buffer: the write waits for a slow reader and completes; a client that never reads is ended by ipc_timeout', async (t) => {
  await withInstance('ipc_timeout = 2s\n', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-V']);
    let stuck: net.Socket | undefined;
    try {
      const size = 8 * 1024 * 1024;
      const whole = await request(instance.listen.path, `big ${size}\n`);
      t.is(whole.error, undefined);
      t.is(whole.reply, `${'x'.repeat(size)}\n`);

      // This client never reads: the server's write waits, then gives up after ipc_timeout.
      stuck = net.connect(instance.listen.path);
      stuck.pause();
      stuck.write(`big ${size}\n`);
      await child.waitForStderr(/^postfix\/flush: warning: flush socket: Connection timed out$/m);
      t.is(parseReply((await request(instance.listen.path, 'next\n')).reply).line, 'next');
      t.deepEqual(await child.waitForUses(3), { uses: 3, available: true });
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      stuck?.destroy();
      reap(t, child);
    }
  });
});

test('accept(2) out of descriptors: the error is logged as C logs it, the clients wait in the backlog and are all served', async (t) => {
  await withInstance('', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-V']);
    try {
      t.is(parseReply((await request(instance.listen.path, 'ready\n')).reply).line, 'ready');
      const pid = child.child.pid as number;
      // Room for two connections; the next accept(2) fails with EMFILE.
      const limit = readdirSync(`/proc/${pid}/fd`).length + 2;
      const prlimit = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
      t.is(prlimit.status, 0, prlimit.stderr?.toString());
      const replies = await Promise.all(Array.from({ length: 8 }, (_, index) => request(instance.listen.path, `delay 300 ${index}\n`)));
      t.deepEqual(replies.map((result) => result.error), Array.from({ length: 8 }, () => undefined));
      t.deepEqual(replies.map((result) => parseReply(result.reply).line).sort(),
        Array.from({ length: 8 }, (_, index) => `delay 300 ${index}`));
      t.regex(child.stderr, /^postfix\/flush: error: accept connection: Too many open files$/m);
      t.deepEqual(await child.waitForUses(9), { uses: 9, available: true });
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      reap(t, child);
    }
  });
});

test('watchdog: a request that never finishes is fatal after daemon_timeout', async (t) => {
  await withInstance('daemon_timeout = 3s\n', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-V']);
    try {
      const started = Date.now();
      const hung = request(instance.listen.path, 'hang\n');
      t.deepEqual(await child.exit, { code: 1, signal: null });
      const elapsed = Date.now() - started;
      t.true(elapsed >= 3000 && elapsed < 9000, `died after ${elapsed} ms`);
      t.regex(child.stderr, /^postfix\/flush: fatal: watchdog timeout$/m);
      t.is((await hung).reply, '');
    } finally {
      reap(t, child, 1);
    }
  });
});

test('a failing serve() is a warning; a fatal error ends the process with status 1', async (t) => {
  await withInstance('', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-V']);
    try {
      t.is((await request(instance.listen.path, 'throw\n')).reply, '');
      await child.waitForStderr(/^postfix\/flush: warning: flush socket: fixture failure$/m);
      t.is(parseReply((await request(instance.listen.path, 'still here\n')).reply).line, 'still here');
      await request(instance.listen.path, 'fatal\n');
      t.deepEqual(await child.exit, { code: 1, signal: null });
      t.regex(child.stderr, /^postfix\/flush: fatal: fixture fatal$/m);
    } finally {
      reap(t, child, 1);
    }
  });
});

test('-s 2 serves the listen sockets on fd 6 and fd 7', async (t) => {
  await withInstance('', async (instance) => {
    const second = await createListenSocket(join(instance.spool, 'public', 'second'));
    const child = instance.spawn([...MASTER_ARGS, '-s', '2'], { listen: [instance.listen, second] });
    try {
      t.is(parseReply((await request(instance.listen.path, 'one\n')).reply).line, 'one');
      t.is(parseReply((await request(second.path, 'two\n')).reply).line, 'two');
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      reap(t, child);
      second.close();
    }
  });
});

test('accept lock: a second process waits, then takes over when the first one retires', async (t) => {
  await withInstance('max_use = 2\n', async (instance) => {
    const first = instance.spawn(MASTER_ARGS);
    const second = instance.spawn(MASTER_ARGS);
    try {
      const a = parseReply((await request(instance.listen.path, 'a\n')).reply);
      const b = parseReply((await request(instance.listen.path, 'b\n')).reply);
      // Whichever got the lock first serves both, then retires and hands over.
      t.is(a.pid, b.pid);
      const c = parseReply((await request(instance.listen.path, 'c\n')).reply);
      t.not(c.pid, a.pid);
      const [winner, waiter] = a.pid === first.child.pid ? [first, second] : [second, first];
      t.is((await winner.exit).code, 0);
      t.deepEqual(await waiter.waitForUses(1), { uses: 1, available: true });
      t.deepEqual(masterView(winner.statuses), { uses: 2, available: true });
      waiter.closeStatus();
      t.is((await waiter.exit).code, 0);
    } finally {
      reap(t, first);
      reap(t, second);
    }
  });
});

asRoot.test('-u drops to mail_owner and -c chroots into queue_directory', async (t) => {
  await withInstance('mail_owner = nobody\n', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-u', '-c']);
    try {
      const reply = parseReply((await request(instance.listen.path, 'who\n')).reply);
      t.is(reply.uid, 65534);
      t.is(reply.gid, 65534);
      t.is(reply.cwd, '/');
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      reap(t, child);
    }
  });
});

test('-D runs debugger_command through the shell before serving', async (t) => {
  await withInstance('debugger_command = echo attached > debugger.out\n', async (instance) => {
    const child = instance.spawn([...MASTER_ARGS, '-D']);
    try {
      t.is(parseReply((await request(instance.listen.path, 'x\n')).reply).line, 'x');
      t.is(readFileSync(join(instance.spool, 'debugger.out'), 'utf8'), 'attached\n');
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      reap(t, child);
    }
  });
});

/* The debug package is loaded only when tracing is asked for (it costs every start the tty module). */
for (const [how, args, env] of [
  ['-v', ['-v'], {}],
  ['DEBUG=fastflush:*', [], { DEBUG: 'fastflush:*' }],
  ['neither', [], {}],
] as const) {
  test(`lifecycle tracing on stderr with ${how}`, async (t) => {
    await withInstance('', async (instance) => {
      const child = instance.spawn([...MASTER_ARGS, ...args], { env: { ...env } });
      try {
        t.is(parseReply((await request(instance.listen.path, 'x\n')).reply).line, 'x');
        child.closeStatus();
        t.is((await child.exit).code, 0);
        const traced = /fastflush:lifecycle listening on 1 socket\(s\)/.test(child.stderr);
        t.is(traced, how !== 'neither', child.stderr);
      } finally {
        reap(t, child);
      }
    });
  });
}

(hasPython ? test : test.skip)('maillog_file: records go to postlogd at queue_directory/public/postlog', async (t) => {
  await withInstance('maillog_file = /var/log/fastflush.log\nmyhostname = mx1.example.com\n', async (instance) => {
    const receiver = await startDgramReceiver(join(instance.spool, 'public', 'postlog'));
    const child = instance.spawn(MASTER_ARGS);
    try {
      await request(instance.listen.path, 'warn hello postlog\n');
      const [record] = await receiver.next(1);
      t.regex(record as string,
        new RegExp(`^[A-Z][a-z]{2} [0-3]\\d \\d\\d:\\d\\d:\\d\\d mx1 postfix/flush\\[${child.child.pid}\\]: warning: hello postlog$`));
      child.closeStatus();
      t.is((await child.exit).code, 0);
    } finally {
      receiver.stop();
      reap(t, child);
    }
  });
});

test('-S serves one client on a socket that is both stdin and stdout', async (t) => {
  await withInstance('', async (instance) => {
    const [ours, theirs] = await socketPair();
    const child = spawn(process.execPath, [instance.program, '-S'], {
      cwd: instance.spool, env: { MAIL_CONFIG: instance.configDir }, stdio: [theirs, theirs, 'inherit'],
    });
    theirs.destroy();
    let reply = '';
    ours.on('data', (data: Buffer) => { reply += data.toString(); });
    const ended = new Promise((resolve) => ours.on('end', resolve));
    ours.write('standalone\n');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    await ended;
    ours.destroy();
    t.is(code, 0);
    t.is(parseReply(reply).line, 'standalone');
  });
});

test('-S with stdin and stdout as files (Node\'s stdio streams, not the socket path)', async (t) => {
  await withInstance('', async (instance) => {
    writeFileSync(join(instance.spool, 'request.in'), 'from a file\n');
    const result = spawnSync('/bin/sh', ['-c', `"$NODE" "$PROGRAM" -S <request.in >reply.out`], {
      cwd: instance.spool,
      env: { MAIL_CONFIG: instance.configDir, NODE: process.execPath, PROGRAM: instance.program, PATH: process.env.PATH },
      encoding: 'utf8',
    });
    t.is(result.status, 0, result.stderr);
    t.is(parseReply(readFileSync(join(instance.spool, 'reply.out'), 'utf8')).line, 'from a file');
  });
});

test('-S also works with stdin and stdout as two pipes', async (t) => {
  await withInstance('', async (instance) => {
    const result = spawnSync('/bin/sh', ['-c', `printf 'piped\\n' | "$NODE" "$PROGRAM" -S | cat`], {
      cwd: instance.spool,
      env: { MAIL_CONFIG: instance.configDir, NODE: process.execPath, PROGRAM: instance.program, PATH: process.env.PATH },
      encoding: 'utf8',
    });
    t.is(result.status, 0);
    t.is(parseReply(result.stdout).line, 'piped');
  });
});
