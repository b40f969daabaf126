/*
 * edit-file.test.ts - the safe replacement protocol (spec-config.md §5.6):
 * temporary file, exclusive flock shared with Postfix, mode, cleanup.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { editFileSafely } from '../../../src/config/postconf/edit-file.js';
import { PostconfFatal } from '../../../src/config/postconf/diag.js';
import { makeConfigDir, readConfigFile } from './helpers.js';

test('the file is replaced, its mode kept, no temporary file left', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'a = 1\n' });
  const path = join(dir, 'main.cf');
  chmodSync(path, 0o640);
  const before = statSync(path).ino;
  editFileSafely(path, (text) => text + 'b = 2\n');
  t.is(readConfigFile(dir, 'main.cf'), 'a = 1\nb = 2\n');
  t.is(statSync(path).mode & 0o7777, 0o640);
  t.not(statSync(path).ino, before);
  t.false(existsSync(`${path}.tmp`));
});

test('a failing edit leaves the original untouched and removes the temporary file', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'a = 1\n' });
  const path = join(dir, 'main.cf');
  const before = statSync(path).ino;
  t.throws(() => editFileSafely(path, () => {
    throw new PostconfFatal('boom');
  }), { message: 'boom' });
  t.is(readConfigFile(dir, 'main.cf'), 'a = 1\n');
  t.is(statSync(path).ino, before);
  t.false(existsSync(`${path}.tmp`));
});

test('a missing original is fatal and the temporary file is removed', (t) => {
  const dir = makeConfigDir(t, {});
  const path = join(dir, 'main.cf');
  t.throws(() => editFileSafely(path, (text) => text), { message: `open ${path} for reading: No such file or directory` });
  t.false(existsSync(`${path}.tmp`));
});

test('a leftover temporary file with the wrong mode is replaced, one with the right mode reused', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'a = 1\n' });
  const path = join(dir, 'main.cf');
  writeFileSync(`${path}.tmp`, 'junk from a crash, much longer than the result\n', { mode: 0o644 });
  editFileSafely(path, (text) => text.replace('1', '2'));
  t.is(readConfigFile(dir, 'main.cf'), 'a = 2\n');
  writeFileSync(`${path}.tmp`, 'junk from a crash, much longer than the result\n', { mode: 0o600 });
  chmodSync(`${path}.tmp`, 0o600);
  editFileSafely(path, (text) => text.replace('2', '3'));
  t.is(readConfigFile(dir, 'main.cf'), 'a = 3\n');
});

test('an editor waits for the lock another process holds on <file>.tmp', async (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'a = 1\n' });
  const path = join(dir, 'main.cf');
  const holder = spawn('flock', [`${path}.tmp`, 'sh', '-c', 'echo locked; sleep 0.6']);
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const started = Date.now();
  editFileSafely(path, (text) => text.replace('1', '2'));
  t.true(Date.now() - started >= 400, 'returned before the lock holder let go');
  t.is(readConfigFile(dir, 'main.cf'), 'a = 2\n');
  await new Promise((resolve) => holder.once('exit', resolve));
});
