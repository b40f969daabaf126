/*
 * fastflush-cli.test.ts - the fastflush command as a process: subcommands,
 * exit statuses and messages as postqueue has them, usage errors.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { scratchDir } from './support.js';
import { startFakeFlushServer } from './flush-server-fake.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('status to exit status and message, like postqueue -s', async (t) => {
  const cases: Array<[number, number, string]> = [
    [0, 0, ''],
    [3, 64, 'fastflush: fatal: Invalid request: "example.com"\n'],
    [4, 69, 'fastflush: fatal: Flush service is not configured for destination "example.com"\n'],
    [-1, 69, 'fastflush: fatal: Cannot flush mail queue - mail system is down\n'],
    [9, 70, 'fastflush: fatal: Unknown flush server reply status 9\n'],
  ];
  for (const [status, code, stderr] of cases) {
    const fake = await startFakeFlushServer(t, { kind: 'status', status });
    const run = await runCli(['send', 'example.com', '--socket', fake.path]);
    t.deepEqual(run, { code, stdout: '', stderr }, `status ${status}`);
    t.is(fake.received[0]!.bytes.toString('latin1'), 'request\0send_site\0site\0example.com\0\0');
  }
});

test('send-file has no DENY case; add names both arguments', async (t) => {
  const deny = await startFakeFlushServer(t, { kind: 'status', status: 4 });
  t.like(await runCli(['send-file', 'ABC', '--socket', deny.path]), {
    code: 70,
    stderr: 'fastflush: fatal: Unknown flush server reply status 4\n',
  });
  const bad = await startFakeFlushServer(t, { kind: 'status', status: 3 });
  t.like(await runCli(['add', 'example.com', 'a/b', '--socket', bad.path]), {
    code: 64,
    stderr: 'fastflush: fatal: Invalid request: "example.com a/b"\n',
  });
  t.is(bad.received[0]!.bytes.toString('latin1'), 'request\0add\0site\0example.com\0queue_id\0a/b\0\0');
});

test('refresh and purge', async (t) => {
  const fake = await startFakeFlushServer(t, { kind: 'status', status: 0 });
  t.is((await runCli(['refresh', '--socket', fake.path])).code, 0);
  t.is((await runCli(['purge', '--socket', fake.path, '-v'])).code, 0);
  t.deepEqual(
    fake.received.map((r) => r.bytes.toString('latin1')),
    ['request\0rfrsh\0\0', 'request\0purge\0\0'],
  );
});

test('mail system down', async (t) => {
  const missing = join(scratchDir(t), 'flush');
  const run = await runCli(['send', 'example.com', '--socket', missing]);
  t.deepEqual(run, {
    code: 69,
    stdout: '',
    stderr: `fastflush: warning: connect to ${missing}: No such file or directory\nfastflush: fatal: Cannot flush mail queue - mail system is down\n`,
  });
});

test('timeout', async (t) => {
  const fake = await startFakeFlushServer(t, { kind: 'silent' });
  const run = await runCli(['refresh', '--socket', fake.path, '--timeout', '1']);
  t.is(run.code, 69);
  t.true(run.stderr.includes(`fastflush: warning: write/read ${fake.path} socket: Connection timed out\n`));
});

test('usage errors exit 64', async (t) => {
  t.is((await runCli(['send'])).code, 64);
  t.is((await runCli(['frobnicate'])).code, 64);
  t.is((await runCli(['add', 'only-site'])).code, 64);
  t.is((await runCli(['refresh', '--timeout', 'soon'])).code, 64);
  const help = await runCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /send-file \[options\] <queue_id>/);
});
