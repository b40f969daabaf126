/*
 * logfile-walk.test.ts - the one walk over the logfiles (refresh, purge, wakeup, `fastflush
 * status`): which names it visits and which it skips, as C's mail_scan_dir_next over
 * flush/ does, its one deviation (a one-character logfile), open failures, and pauses under a
 * used-up TimeSlice.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walkLogfiles, type LogfileEntry } from '../../src/queue/logfile-walk.js';
import { TimeSlice } from '../../src/queue/time-slice.js';

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ff-walk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const noFailure = (dir: string, error: unknown): never => {
  throw new Error(`unexpected open failure of ${dir}: ${String(error)}`);
};

async function collect(walk: AsyncGenerator<LogfileEntry>): Promise<LogfileEntry[]> {
  const entries: LogfileEntry[] = [];
  for await (const entry of walk) entries.push(entry);
  return entries;
}

test('visits valid names at every level, descends into one-character directories only', async (t) => {
  const dir = scratch(t);
  const flush = join(dir, 'flush');
  mkdirSync(join(flush, 'e', 'x'), { recursive: true });
  writeFileSync(join(flush, 'top_example'), 'A1\n');
  writeFileSync(join(flush, 'e', 'example_com'), '');
  writeFileSync(join(flush, 'e', 'x', 'deep_example'), '');
  writeFileSync(join(flush, 'bad.name'), ''); // not a queue id: skipped, as C's mail_queue_id_ok does
  mkdirSync(join(flush, 'longdir')); // a directory with a valid name: visited (C stat()s it), not descended into
  writeFileSync(join(flush, 'longdir', 'hidden_example'), '');
  symlinkSync('top_example', join(flush, 'link_example')); // visited as C would (stat follows it)
  writeFileSync(join(flush, 'y'), ''); // one-character logfile: C would die; here it is a logfile

  const entries = await collect(walkLogfiles(flush, noFailure));
  const names = entries.map((e) => e.name).sort();
  t.deepEqual(names, ['deep_example', 'example_com', 'link_example', 'longdir', 'top_example', 'y']);
  const regular = entries.filter((e) => e.dirent.isFile()).map((e) => e.name).sort();
  t.deepEqual(regular, ['deep_example', 'example_com', 'top_example', 'y']);
});

test('a directory that cannot be opened goes to onOpenFailure with its path', async (t) => {
  const dir = scratch(t);
  const failures: string[] = [];
  const walk = walkLogfiles(join(dir, 'missing'), (failed, error) => {
    failures.push(`${failed} ${(error as NodeJS.ErrnoException).code}`);
    throw new Error('stop');
  });
  await t.throwsAsync(collect(walk), { message: 'stop' });
  t.deepEqual(failures, [`${join(dir, 'missing')} ENOENT`]);
});

test('with a used-up TimeSlice the walk pauses and still visits every logfile', async (t) => {
  const dir = scratch(t);
  const flush = join(dir, 'flush');
  mkdirSync(flush);
  for (let i = 0; i < 50; i++) writeFileSync(join(flush, `site${i}_example`), '');
  const slice = new TimeSlice();
  let pauses = 0;
  const pause = slice.pause.bind(slice);
  slice.expired = () => true;
  slice.pause = async () => {
    pauses++;
    await pause();
  };
  const entries = await collect(walkLogfiles(flush, noFailure, slice));
  t.is(entries.length, 50);
  t.true(pauses >= 50);
});
