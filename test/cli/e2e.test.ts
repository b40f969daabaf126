/*
 * e2e.test.ts - the quick start for real: `fastflush master -c <copy of conf/>`
 * running bin/flush (the Node flush daemon), driven with the fastflush client
 * commands, checked on the queue files.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { scratchDir, waitFor } from './support.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');

function fastflush(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr });
    });
  });
}

/** A copy of conf/ next to a bin/ whose flush links to the repository's launcher, as an install would. */
function quickStart(t: ExecutionContext): { root: string; conf: string } {
  const root = scratchDir(t);
  const conf = join(root, 'conf');
  mkdirSync(conf);
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(repoRoot, 'conf/main.cf'), join(conf, 'main.cf'));
  copyFileSync(join(repoRoot, 'conf/master.cf'), join(conf, 'master.cf'));
  symlinkSync(join(repoRoot, 'bin/flush'), join(root, 'bin/flush'));
  return { root, conf };
}

test('quick start: master, flush daemon, client', async (t) => {
  const { root, conf } = quickStart(t);
  const master = spawn(process.execPath, [CLI, 'master', '-c', conf, '--child-stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  master.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => master.once('exit', resolve));
  t.teardown(async () => {
    if (master.exitCode === null) {
      master.kill('SIGTERM');
      await exited;
    }
  });
  await waitFor('the flush socket', () => existsSync(join(root, 'var/public/flush')));

  const c = ['-c', conf];
  t.deepEqual(await fastflush([...c, 'add', 'example.com', '3F2A1B4C5D']), { code: 0, stderr: '' }, log);
  t.is(readFileSync(join(root, 'var/flush/example_com'), 'utf8'), '3F2A1B4C5D\n');

  t.deepEqual(await fastflush([...c, 'add', 'other.net', '3F2A1B4C5D']), {
    code: 69,
    stderr: 'fastflush: fatal: Flush service is not configured for destination "other.net"\n',
  });
  t.is((await fastflush([...c, 'add', 'example.com', 'a/b'])).code, 64);

  // A deferred message (hash_queue_depth 1: deferred/<first char>/<id>) goes to incoming on send.
  mkdirSync(join(root, 'var/deferred/3'), { mode: 0o700 });
  writeFileSync(join(root, 'var/deferred/3/3F2A1B4C5D'), 'queue file', { mode: 0o700 });
  t.deepEqual(await fastflush([...c, 'send', 'example.com']), { code: 0, stderr: '' });
  await waitFor('the message in incoming', () => existsSync(join(root, 'var/incoming/3F2A1B4C5D')));
  t.is(readFileSync(join(root, 'var/flush/example_com'), 'utf8'), '');

  t.is((await fastflush([...c, 'send-file', 'NOSUCHID'])).code, 0);
  t.is((await fastflush([...c, 'refresh'])).code, 0);
  t.is((await fastflush([...c, 'purge'])).code, 0);

  master.kill('SIGTERM');
  t.is(await exited, 0);
  t.false(/warning: .*bad command startup/.test(log), log);
});
