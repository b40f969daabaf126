/*
 * master-cli.test.ts - `fastflush master` as a process, with the shipped
 * conf/main.cf and a master.cf that runs the fake daemon: queue directories,
 * the pid lock, MAIL_CONFIG for children, log lines, SIGHUP, SIGTERM and
 * --once-self-check.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { FAKE_DAEMON, readRecords, scratchDir, waitFor, writeWrapper } from './support.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');

interface MasterRun {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runMaster(t: ExecutionContext, args: string[]): MasterRun {
  const proc = spawn(process.execPath, [CLI, 'master', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  });
  return { proc, stdout: () => stdout, stderr: () => stderr, exited };
}

/** conf/main.cf as shipped, a master.cf running the fake daemon as the flush service. */
function instance(t: ExecutionContext, mode = 'serve'): { root: string; conf: string; record: string } {
  const root = scratchDir(t);
  const conf = join(root, 'conf');
  mkdirSync(conf);
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(repoRoot, 'conf/main.cf'), join(conf, 'main.cf'));
  const record = join(root, 'record.jsonl');
  writeFileSync(join(conf, 'master.cf'), `flush unix n n n 1000? 0 fake --record ${record} --mode ${mode}\n`);
  writeWrapper(join(root, 'bin/fake'), FAKE_DAEMON);
  return { root, conf, record };
}

test('start-up, SIGHUP and SIGTERM', async (t) => {
  const { root, conf, record } = instance(t);
  const run = runMaster(t, ['-c', conf]);
  const starts = () => readRecords(record).filter((r) => r.event === 'start');
  await waitFor('a child', () => starts().length === 1);

  for (const dir of ['public', 'private', 'pid', 'flush', 'deferred', 'incoming']) t.true(existsSync(join(root, 'var', dir)), dir);
  t.is(statSync(join(root, 'var/public/flush')).mode & 0o777, 0o666);
  t.is(readFileSync(join(root, 'var/pid/master.pid'), 'utf8'), `${String(run.proc.pid).padStart(10)}\n`);
  // -c is made absolute and handed to the children as MAIL_CONFIG.
  t.like(starts()[0]!.env, { MAIL_CONFIG: conf, LANG: 'C', MAIL_LOGTAG: 'postfix', GENERATION: '1' });
  t.deepEqual((starts()[0]!.argv as string[]).slice(0, 3), ['-z', '-n', 'flush']);
  await waitFor('start-up log', () => run.stderr().includes(`postfix/master[${run.proc.pid}]: daemon started -- version fastflush `));

  run.proc.kill('SIGHUP');
  await waitFor('fd 5 closed by the reload', () => readRecords(record).some((r) => r.event === 'fd5-eof'));
  await waitFor('a new generation', () => starts().some((r) => (r.env as Record<string, string>)['GENERATION'] === '2'));
  t.true(run.stderr().includes(`postfix/master[${run.proc.pid}]: reload -- version fastflush `));

  const pids = starts().map((r) => r.pid);
  run.proc.kill('SIGTERM');
  t.is(await run.exited, 0);
  t.true(run.stderr().includes(`postfix/master[${run.proc.pid}]: terminating on signal 15\n`));
  for (const pid of pids) t.throws(() => process.kill(pid, 0));
  t.true(existsSync(join(root, 'var/public/flush')), 'nothing is removed on exit');
});

test('a second supervisor on the same queue refuses to start', async (t) => {
  const { conf, record } = instance(t);
  runMaster(t, ['-c', conf]);
  await waitFor('a child', () => readRecords(record).some((r) => r.event === 'start'));
  const second = runMaster(t, ['-c', conf]);
  t.is(await second.exited, 1);
  t.regex(second.stderr(), /postfix\/master\[\d+\]: fatal: the mail system is already running\n/);
});

test('a bad master.cf is fatal, naming file and line', async (t) => {
  const { conf } = instance(t);
  writeFileSync(join(conf, 'master.cf'), '# x\nflush unix n n n 1000? zero fake\n');
  const run = runMaster(t, ['-c', conf]);
  t.is(await run.exited, 1);
  t.is(run.stderr(), `postfix/master[${run.proc.pid}]: fatal: ${conf}/master.cf: line 2: field "max_proc": bad value: "zero"\n`);
});

test('--once-self-check sends add and send_site to the flush service and keeps running', async (t) => {
  const { conf, record } = instance(t, 'flush');
  const run = runMaster(t, ['-c', conf, '--once-self-check']);
  await waitFor('self-check output', () => run.stdout().split('\n').length >= 3);
  t.regex(run.stdout(), /^self-check: add example\.com [0-9A-F]{10} -> status 0 \(OK\)\nself-check: send_site example\.com -> status 0 \(OK\)\n$/);
  const requests = () =>
    readRecords(record)
      .filter((r) => r.event === 'conn')
      .map((r) => Buffer.from(r.data as string, 'hex').toString('latin1'));
  await waitFor('both requests recorded', () => requests().includes('request\0send_site\0site\0example.com\0\0'));
  t.true(requests().some((r) => r.startsWith('request\0add\0site\0example.com\0queue_id\0')));
  t.is(run.proc.exitCode, null);
});
