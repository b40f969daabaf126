/*
 * supervisor.test.ts - the master(8)-compatible supervisor running the fake
 * daemon (test/cli/fixtures/fake-daemon.ts): what a child gets (argv,
 * environment, cwd, umask, descriptors), status messages, respawn,
 * throttling, process limits, wakeups, reload and stop.
 *
 * Serial: the log capture is process-wide.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Supervisor, type MasterSettings } from '../../src/cli/master/supervisor.js';
import { captureLog, readRecords, scratchDir, supervisorSettings, talkToFake, waitFor, type FakeRecord } from './support.js';

// Postfix's master runs with umask 077 and its children inherit it; run.ts sets it for the real command.
process.umask(0o077);

interface Instance {
  root: string;
  record: string;
  settings: MasterSettings;
  supervisor: Supervisor;
  socket: string;
  events: Array<{ kind: string; [key: string]: unknown }>;
}

function startSupervisor(
  t: ExecutionContext,
  masterCf: (record: string) => string,
  overrides: Partial<MasterSettings> = {},
  environment: NodeJS.ProcessEnv = { MAIL_CONFIG: '/srv/etc', PATH: '/usr/bin:/bin', SECRET: 'x' },
): Instance {
  const root = scratchDir(t);
  const record = join(root, 'record.jsonl');
  let settings = supervisorSettings(root, masterCf(record), overrides);
  const supervisor = new Supervisor({
    settings,
    loadSettings: () => settings,
    environment,
    debug: false,
    verbose: false,
    childStderr: false,
  });
  const events: Instance['events'] = [];
  for (const kind of ['spawn', 'status', 'exit', 'wakeup']) {
    supervisor.on(kind, (data: Record<string, unknown>) => events.push({ kind, ...data }));
  }
  t.teardown(() => supervisor.stop());
  supervisor.start();
  const instance: Instance = { root, record, settings, supervisor, socket: join(root, 'var/public/fake'), events };
  Object.defineProperty(instance, 'settings', {
    get: () => settings,
    set: (next: MasterSettings) => (settings = next),
  });
  return instance;
}

const records = (inst: Instance, event: string): FakeRecord[] => readRecords(inst.record).filter((r) => r.event === event);
const spawns = (inst: Instance) => inst.events.filter((e) => e.kind === 'spawn');

test.serial('a child gets argv, environment, cwd, umask and descriptors as from Postfix master', async (t) => {
  const inst = startSupervisor(t, (rec) => `fake unix n - n - 0 fake --record ${rec}\n`);
  const [start] = await waitFor('start record', () => records(inst, 'start').length > 0 && records(inst, 'start'));
  t.deepEqual(start!.argv, ['-z', '-t', 'unix', '-u', '--record', inst.record]);
  t.deepEqual(start!.env, { MAIL_CONFIG: '/srv/etc', LANG: 'C', MAIL_LOGTAG: 'postfix', GENERATION: '1' });
  t.is(start!.cwd, join(inst.root, 'var'));
  t.is(start!.umask, '0077');

  type FdInfo = { target: string; flags: string; fifo: boolean; socket: Record<string, string> | null };
  const fds = start!.fds as Record<string, FdInfo | null>;
  for (const fd of ['0', '1', '2']) t.is(fds[fd]?.target, '/dev/null', `fd ${fd}`);
  // 3/4: the two ends of one pipe (an unlinked FIFO), read-only and write-only, non-blocking.
  t.true(fds['3']!.fifo && fds['4']!.fifo);
  t.is(fds['3']!.target, fds['4']!.target);
  t.is(Number.parseInt(fds['3']!.flags, 8) & 0o3, 0);
  t.is(Number.parseInt(fds['4']!.flags, 8) & 0o3, 1);
  t.truthy(Number.parseInt(fds['4']!.flags, 8) & 0o4000);
  // 5: a connected UNIX stream socket (socketpair); 6: the listening socket, non-blocking.
  t.like(fds['5']!.socket, { type: '0001', state: '03', path: '' });
  t.like(fds['6']!.socket, { type: '0001', flags: '00010000', path: inst.socket });
  t.truthy(Number.parseInt(fds['6']!.flags, 8) & 0o4000);
  t.is(statSync(inst.socket).mode & 0o777, 0o666);
});

test.serial('status messages: TAKEN and AVAIL are read, a busy service gets a new standby child', async (t) => {
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 0 fake --record ${rec}\n`);
  await waitFor('first spawn', () => spawns(inst).length === 1);
  const reply = await talkToFake(inst.socket, 'hi');
  t.regex(reply, /^hello \d+\n$/);
  await waitFor('AVAIL', () => inst.events.some((e) => e.kind === 'status' && e.status === 1));
  const first = spawns(inst)[0]!;
  t.deepEqual(
    inst.events.filter((e) => e.kind === 'status').map((e) => [e.pid, e.generation, e.status]),
    [
      [first.pid, 1, 0],
      [first.pid, 1, 1],
    ],
  );
  // TAKEN left no child available, so a second one was started at once.
  t.is(spawns(inst).length, 2);
  const [snap] = inst.supervisor.snapshot();
  t.is(snap!.available, 2);
  t.deepEqual(
    snap!.children.find((c) => c.pid === first.pid),
    { pid: first.pid as number, generation: 1, available: true, useCount: 1 },
  );
  t.is(records(inst, 'conn')[0]!.data, Buffer.from('hi').toString('hex'));
});

test.serial('a child that exits after max_use is replaced, without throttling', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 0 fake --record ${rec} --max-use 1\n`);
  await waitFor('first spawn', () => spawns(inst).length === 1);
  await talkToFake(inst.socket, 'a');
  await waitFor('first exit', () => inst.events.some((e) => e.kind === 'exit'));
  await talkToFake(inst.socket, 'b');
  await waitFor('second exit', () => inst.events.filter((e) => e.kind === 'exit').length === 2);
  await waitFor('a standby child', () => inst.supervisor.snapshot()[0]!.available === 1);
  t.true(inst.events.filter((e) => e.kind === 'exit').every((e) => e.code === 0));
  t.deepEqual(
    spawns(inst).map((e) => e.generation),
    [1, 2, 3],
  );
  t.false(inst.supervisor.snapshot()[0]!.throttled);
  t.false(log.some((l) => l.severity === 'warning'));
});

test.serial('bad command startup throttles the service for service_throttle_time', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 0 fake --record ${rec} --mode crash\n`, { serviceThrottleTime: 1 });
  const path = join(inst.root, 'bin/fake');
  await waitFor('throttle', () => log.some((l) => l.text === `${path}: bad command startup -- throttling`));
  const firstSpawn = Date.now();
  t.true(log.some((l) => l.severity === 'warning' && /^process .*\/bin\/fake pid \d+ exit status 1$/.test(l.text)));
  t.true(inst.supervisor.snapshot()[0]!.throttled);
  t.is(spawns(inst).length, 1);
  await waitFor('respawn after the throttle', () => spawns(inst).length === 2, 5000);
  t.true(Date.now() - firstSpawn >= 800);
});

test.serial('an abnormal exit after a completed connection does not throttle', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 0 fake --record ${rec} --mode crash-after-serve\n`, {
    serviceThrottleTime: 60,
  });
  await waitFor('first spawn', () => spawns(inst).length === 1);
  await talkToFake(inst.socket, 'x');
  await waitFor('exit', () => inst.events.some((e) => e.kind === 'exit'));
  t.true(log.some((l) => /exit status 3$/.test(l.text)));
  t.false(log.some((l) => /bad command startup/.test(l.text)));
  t.false(inst.supervisor.snapshot()[0]!.throttled);
});

test.serial('exec failure is a bad startup too', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, () => 'missing unix n n n - 0 nosuchprogram\n');
  const path = join(inst.root, 'bin/nosuchprogram');
  await waitFor('throttle', () => log.some((l) => l.text === `${path}: bad command startup -- throttling`));
  t.true(log.some((l) => l.text === `master_spawn: exec ${path}: No such file or directory`));
  t.true(inst.supervisor.snapshot()[0]!.throttled);
});

test.serial('the process limit caps the children', async (t) => {
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 1 fake --record ${rec}\n`);
  const [start] = await waitFor('start', () => records(inst, 'start').length > 0 && records(inst, 'start'));
  t.deepEqual(start!.argv, ['-l', '-t', 'unix', '--record', inst.record]);
  let release!: () => void;
  const held = talkToFake(inst.socket, 'held', new Promise<void>((resolve) => (release = resolve)));
  await waitFor('TAKEN', () => inst.events.some((e) => e.kind === 'status' && e.status === 0));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(spawns(inst).length, 1);
  release();
  await held;
});

test.serial('conditional wakeup: none before the first use, then at once and every NNN seconds', async (t) => {
  const inst = startSupervisor(t, (rec) => `fake unix n n n 3? 0 fake --record ${rec}\n`);
  await waitFor('first spawn', () => spawns(inst).length === 1);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is(records(inst, 'conn').length, 0, 'no wakeup before the service was used');
  const used = Date.now();
  await talkToFake(inst.socket, 'use');
  const wakeups = () => records(inst, 'conn').filter((r) => r.data === '5700').length;
  await waitFor('first wakeup', () => wakeups() === 1, 2000);
  t.true(Date.now() - used < 2000, 'the first wakeup comes at once, not after the period');
  await waitFor('second wakeup', () => wakeups() === 2, 5000);
  t.true(Date.now() - used >= 2500);
});

test.serial('unconditional wakeup starts with the service', async (t) => {
  const inst = startSupervisor(t, (rec) => `fake unix n n n 1 0 fake --record ${rec}\n`);
  await waitFor('wakeup', () => records(inst, 'conn').some((r) => r.data === '5700'), 1000);
  t.true(inst.events.some((e) => e.kind === 'wakeup'));
});

test.serial('no wakeups while throttled', async (t) => {
  const inst = startSupervisor(t, (rec) => `fake unix n n n 1 0 fake --record ${rec} --mode crash\n`, { serviceThrottleTime: 60 });
  await waitFor('throttled', () => inst.supervisor.snapshot()[0]!.throttled);
  const before = inst.events.filter((e) => e.kind === 'wakeup').length;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.is(inst.events.filter((e) => e.kind === 'wakeup').length, before);
});

test.serial('reload closes fd 5 of every child and starts a new generation', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 0 fake --record ${rec}\n`);
  await waitFor('start', () => records(inst, 'start').length === 1);
  const oldPid = spawns(inst)[0]!.pid;
  inst.supervisor.reload();
  await waitFor('fd 5 EOF in the old child', () => records(inst, 'fd5-eof').some((r) => r.pid === oldPid));
  await waitFor('a new child', () => spawns(inst).length === 2);
  t.is(spawns(inst)[1]!.generation, 2);
  await waitFor('old child reaped', () => inst.supervisor.snapshot()[0]!.children.every((c) => c.pid !== oldPid));
  t.false(log.some((l) => l.severity === 'warning'));
  t.regex(await talkToFake(inst.socket, 'after reload'), /^hello /);
});

test.serial('reload adds and removes services', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 0 fake --record ${rec}\n`);
  await waitFor('start', () => records(inst, 'start').length === 1);
  const oldPid = spawns(inst)[0]!.pid;
  inst.settings = supervisorSettings(inst.root, `other unix - n n - 0 fake --record ${inst.record}\n`);
  inst.supervisor.reload();
  await waitFor('old service gone', () => !existsSync(inst.socket));
  await waitFor('old child reaped', () => inst.events.some((e) => e.kind === 'exit' && e.pid === oldPid));
  const newSocket = join(inst.root, 'var/private/other');
  await waitFor('new socket', () => existsSync(newSocket));
  t.deepEqual(
    inst.supervisor.snapshot().map((s) => s.endpoint),
    ['private/other'],
  );
  t.regex(await talkToFake(newSocket, 'x'), /^hello /);
  // Children master kills on purpose are not reported.
  t.false(log.some((l) => l.severity === 'warning'));
});

test.serial('stop terminates every child', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, (rec) => `fake unix n n n - 0 fake --record ${rec}\n`);
  await waitFor('spawn', () => spawns(inst).length === 1);
  const pid = spawns(inst)[0]!.pid as number;
  await inst.supervisor.stop();
  t.throws(() => process.kill(pid, 0));
  t.false(log.some((l) => l.severity === 'warning'));
});

test.serial('unsupported service types are skipped with a warning', async (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, (rec) => `postlog unix-dgram n - n - 1 postlogd\nfake unix n n n - 0 fake --record ${rec}\n`);
  t.deepEqual(
    inst.supervisor.snapshot().map((s) => s.service),
    ['fake'],
  );
  t.true(log.some((l) => l.text === 'service "postlog": transport type unix-dgram is not supported -- skipping'));
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test.serial('inet service on a loopback address', async (t) => {
  const port = await freePort();
  const inst = startSupervisor(t, (rec) => `127.0.0.1:${port} inet n n n 1 0 fake --record ${rec}\n`);
  const [start] = await waitFor('start', () => records(inst, 'start').length > 0 && records(inst, 'start'));
  // Loopback only: no "-o stress=".
  t.deepEqual(start!.argv, ['-z', '-n', `127.0.0.1:${port}`, '-t', 'inet', '--record', inst.record]);
  await waitFor('wakeup over TCP', () => records(inst, 'conn').some((r) => r.data === '5700'));
  t.regex(await talkToFake({ host: '127.0.0.1', port }, 'tcp'), /^hello \d+\n$/);
});

test.serial('inet services other hosts could reach are skipped', (t) => {
  const log = captureLog(t);
  const inst = startSupervisor(t, () => 'smtp inet n - n - - smtpd\n192.0.2.1:25 inet n - n - - smtpd\n');
  t.deepEqual(inst.supervisor.snapshot(), []);
  t.is(log.filter((l) => l.text.endsWith('only a numeric port on a loopback address is supported -- skipping')).length, 2);
});
