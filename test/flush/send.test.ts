/*
 * send.test.ts - sendLogfile's queue work at scale: the listing-based send
 * ends exactly where C's one-probe-per-id loop ends (same files moved, same
 * warnings in the same order, same logfile), files moved or removed by
 * another process in the middle of a send are handled as C handles them, and
 * a long send yields so that another site's add completes meanwhile.
 */
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { sendLogfile, eventTime } from '../../src/flush/send.js';
import { appendQueueId } from '../../src/queue/logfile-store.js';
import { flushOneFile } from '../../src/queue/queue-file.js';
import { isValidQueueId } from '../../src/queue/queue-id.js';
import { msg } from '../../src/util/msg.js';
import { enterScratchQueue, makeSettings, type FakeQmgr } from './harness.js';
import { locateQueueFiles } from '../../src/queue/queue-listing.js';
import { queuePath } from '../../src/queue/queue-path.js';
import { TimeSlice } from '../../src/queue/time-slice.js';

let qmgr: FakeQmgr;
test.beforeEach(async () => {
  qmgr = await enterScratchQueue();
});
test.afterEach.always(async () => {
  await qmgr.close();
});

const settings = () => makeSettings('example.com');
const OLD = 1_000_000_000;

/** A short queue id whose first character (its deferred hash directory) is `dir`. */
function idIn(dir: string, n: number): string {
  return `${dir}${n.toString(16).toUpperCase().padStart(9, '0')}`;
}

function queueFile(path: string): void {
  mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true, mode: 0o700 });
  writeFileSync(path, 'queue file', { mode: 0o700 });
  utimesSync(path, OLD, OLD);
}

/** Files under `dir` (recursively), each with its mode and whether flush touched it. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      out.push(...snapshot(path));
    } else {
      const info = statSync(path);
      out.push(`${path} ${(info.mode & 0o7777).toString(8)} ${info.mtimeMs === OLD * 1000 ? 'old' : 'touched'}`);
    }
  }
  return out.sort();
}

/**
 * A queue where every case of a send occurs, in directory `root` (relative to
 * the cwd): files in listed and unlisted deferred directories, files only in
 * incoming, ids without a file (also in a deferred directory that does not
 * exist), a deferred "directory" that is a file (warnings), duplicates, bad
 * lines. Returns the logfile's lines.
 */
function buildQueue(root: string): string[] {
  for (const sub of ['flush', 'deferred', 'incoming']) mkdirSync(`${root}/${sub}`, { recursive: true, mode: 0o700 });
  const lines: string[] = [];
  for (const dir of ['3', '4', 'A']) {
    for (let n = 0; n < 150; n++) {
      const id = idIn(dir, n);
      if (n % 3 === 0) queueFile(`${root}/deferred/${dir}/${id}`);
      else if (n % 3 === 1) queueFile(`${root}/incoming/${id}`);
      lines.push(id); // n % 3 === 2: no queue file at all
    }
  }
  for (let n = 0; n < 3; n++) {
    queueFile(`${root}/deferred/5/${idIn('5', n)}`); // too few ids to list deferred/5
    lines.push(idIn('5', n), idIn('7', n)); // deferred/7 does not exist
  }
  for (let n = 0; n < 10; n++) lines.push(idIn('7', 100 + n));
  writeFileSync(`${root}/deferred/6`, 'not a directory');
  for (let n = 0; n < 9; n++) lines.push(idIn('6', n));
  queueFile(`${root}/incoming/${idIn('6', 4)}`);
  // Duplicates of each kind, and bad lines, spread through the file.
  const withNoise: string[] = [];
  lines.forEach((id, i) => {
    withNoise.push(id);
    if (i % 7 === 0) withNoise.push(lines[(i * 13) % lines.length] as string);
    if (i % 25 === 0) withNoise.push(['bad/id', '', 'x.y', 'toolong'.repeat(40)][(i / 25) % 4] as string);
  });
  writeFileSync(`${root}/flush/example_com`, withNoise.map((line) => `${line}\n`).join(''), { mode: 0o600 });
  return withNoise;
}

/** flush_send_path as C runs it: one flush_one_file (utime deferred, utime incoming, rename) per id. */
function perIdSend(lines: string[]): { count: number; warnings: string[] } {
  const warnings: string[] = [];
  const stop = msg.addSink((severity, text) => warnings.push(`${severity}: ${text}`));
  const now = eventTime();
  const seen = new Set<string>();
  let count = 0;
  try {
    for (const id of lines) {
      count++;
      if (!isValidQueueId(id)) {
        msg.warn(`bad queue id "${id.slice(0, 30)}..." in fast flush logfile example_com`);
        continue;
      }
      if (seen.size < 10000 && seen.has(id)) continue;
      if (seen.size <= 10000) seen.add(id);
      if (flushOneFile(id, now, 'unthrottle-before', settings().hashing)) count++;
    }
  } finally {
    stop();
  }
  if (count > 0) writeFileSync('flush/example_com', '');
  return { count, warnings };
}

async function captured<T>(body: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const stop = msg.addSink((severity, text) => {
    if (severity !== 'info') warnings.push(`${severity}: ${text}`);
  });
  try {
    return { result: await body(), warnings };
  } finally {
    stop();
  }
}

test.serial('a send with directory listings ends where the per-id C loop ends, and spares absent ids their probes', async (t) => {
  const scratch = process.cwd();
  const lines = buildQueue('reference');
  buildQueue('.');
  t.deepEqual(readFileSync('flush/example_com', 'latin1'), readFileSync('reference/flush/example_com', 'latin1'));

  // On a third copy: which ids the listings spare every probe at their turn.
  const ids = [...new Set(lines.filter((line) => isValidQueueId(line)))];
  buildQueue('located');
  process.chdir('located');
  let spared: string[];
  let withFile: Set<string>;
  try {
    const hashing = settings().hashing;
    withFile = new Set(ids.filter((id) => existsSync(queuePath('deferred', id, hashing)) || existsSync(queuePath('incoming', id, hashing))));
    const sightings = await locateQueueFiles(ids, hashing, eventTime(), new TimeSlice());
    spared = ids.filter((id) => sightings.startFor(id) === null);
  } finally {
    process.chdir(scratch);
  }
  const sent = await captured(() => sendLogfile('example_com', 'unthrottle-before', settings()));
  process.chdir('reference');
  let reference;
  try {
    reference = perIdSend(lines);
  } finally {
    process.chdir(scratch);
  }

  t.is(sent.result, 0);
  t.deepEqual(snapshot('deferred'), snapshot('reference/deferred').map((line) => line.slice('reference/'.length)));
  t.deepEqual(snapshot('incoming'), snapshot('reference/incoming').map((line) => line.slice('reference/'.length)));
  t.is(readFileSync('flush/example_com', 'latin1'), '');
  t.true(reference.count > 0);
  t.deepEqual(sent.warnings, reference.warnings);
  t.true(sent.warnings.includes('warning: flush_one_file: update deferred/6/6000000000 time stamps: Not a directory'));
  // Never an id that has a file; every id without one in the listed directories (3, 4 and A: 50 each).
  t.deepEqual(spared.filter((id) => withFile.has(id)), []);
  t.true(spared.length >= 150, `${spared.length} ids spared`);
  t.deepEqual(await qmgr.settle(2), ['F\0', 'I\0']);
});

/**
 * How locateQueueFiles took its deferred step for a directory: 'listed' (an id
 * with a file there is left for its turn) or 'probed' (that id was stamped
 * early, at its deferred utime).
 */
async function deferredStep(files: number, asked: number): Promise<'listed' | 'probed'> {
  rmSync('deferred', { recursive: true, force: true });
  const present = Array.from({ length: files }, (_, n) => idIn('C', n));
  for (const id of present) queueFile(`deferred/C/${id}`);
  const ids = [present[0] as string, ...Array.from({ length: asked - 1 }, (_, n) => idIn('C', 1_000_000 + n))];
  const sightings = await locateQueueFiles(ids, settings().hashing, eventTime(), new TimeSlice());
  return 'stampedIn' in (sightings.startFor(present[0] as string) ?? {}) ? 'probed' : 'listed';
}

test.serial('a deferred directory is listed when it holds few entries per id asked about, probed id by id otherwise', async (t) => {
  // A listing costs about as much per entry as a probe per id, plus an opening cost of many probes.
  t.is(await deferredStep(100, 600), 'listed');
  t.is(await deferredStep(500, 100), 'probed', 'five entries per id');
  t.is(await deferredStep(1, 20), 'probed', 'too few ids to be worth opening a listing');
});

test.serial('files another process moves or removes in the middle of a send are handled as C does', async (t) => {
  mkdirSync('flush', { recursive: true });
  const ids = Array.from({ length: 9_000 }, (_, n) => idIn('0123456789ABCDEF'[n % 16] as string, n));
  for (const id of ids) queueFile(`deferred/${id[0]}/${id}`);
  // Mail in the active queue: no file in deferred or incoming when the send starts.
  const active = Array.from({ length: 500 }, (_, n) => idIn('0123456789ABCDEF'[n % 16] as string, 100_000 + n));
  const lines = [...ids, ...active];
  writeFileSync('flush/example_com', lines.map((id) => `${id}\n`).join(''), { mode: 0o600 });

  let sendDone = false;
  const sending = captured(() => sendLogfile('example_com', 'unthrottle-before', settings())).finally(() => {
    sendDone = true;
  });
  // Another flush process moves files to incoming, delivery removes some, and
  // qmgr puts the active ones back into deferred, working from the end of the
  // list while our send works from its start.
  let next = ids.length - 1;
  let racedWhileSending = 0;
  const removed = new Set<string>();
  while (!sendDone && next >= 0) {
    await new Promise((resolve) => setImmediate(resolve));
    for (let k = 0; k < 300 && next >= 0; k++, next--) {
      const id = ids[next] as string;
      try {
        if (next % 5 === 0) {
          unlinkSync(`deferred/${id[0]}/${id}`);
          removed.add(id);
        } else {
          renameSync(`deferred/${id[0]}/${id}`, `incoming/${id}`);
        }
        racedWhileSending++;
      } catch {
        // our send got there first
      }
    }
    for (const id of active.splice(0, 25)) queueFile(`deferred/${id[0]}/${id}`);
  }
  const { result, warnings } = await sending;
  t.is(result, 0);
  t.deepEqual(warnings, []);
  t.true(racedWhileSending > 0, 'the other process got to work during the send');
  const exists = (path: string): boolean => statSync(path, { throwIfNoEntry: false }) !== undefined;
  t.deepEqual(
    ids.filter((id) => exists(`deferred/${id[0]}/${id}`)),
    [],
    'left in deferred',
  );
  t.deepEqual(
    ids.filter((id) => !removed.has(id) && !exists(`incoming/${id}`)),
    [],
    'lost',
  );
  // Put back into deferred during the send: moved to incoming or not, but never lost.
  const putBack = lines.slice(ids.length).filter((id) => !active.includes(id));
  t.true(putBack.length > 0);
  t.deepEqual(
    putBack.filter((id) => exists(`deferred/${id[0]}/${id}`) === exists(`incoming/${id}`)),
    [],
    'lost or duplicated',
  );
  t.is(readFileSync('flush/example_com', 'latin1'), '');
});

test.serial('a long send yields: an add to another site completes while a 100,000-id send still runs', async (t) => {
  mkdirSync('flush', { recursive: true });
  const ids = Array.from({ length: 100_000 }, (_, n) => idIn('0123456789ABCDEF'[n % 16] as string, n));
  writeFileSync('flush/example_com', ids.map((id) => `${id}\n`).join(''), { mode: 0o600 });
  // No qmgr endpoint: the triggers only warn, so the send never waits for I/O
  // and could only let the add in by yielding.
  const quiet = makeSettings('example.com', { queueTriggerPath: 'public/none' });
  const order: string[] = [];
  const sending = captured(() => sendLogfile('example_com', 'unthrottle-before', quiet)).then((outcome) => {
    order.push('send done');
    return outcome;
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.true(await appendQueueId('flush/example_org', 'OTHER1'));
  order.push('add done');
  const { result, warnings } = await sending;
  t.is(result, 0);
  t.deepEqual(order, ['add done', 'send done']);
  t.is(readFileSync('flush/example_org', 'latin1'), 'OTHER1\n');
  t.is(readFileSync('flush/example_com', 'latin1'), '');
  t.deepEqual(warnings, [
    'warning: unable to look up public/none: No such file or directory', // 'F'
    'warning: unable to look up public/none: No such file or directory', // 'I'
  ]);
});
