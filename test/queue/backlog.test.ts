/*
 * backlog.test.ts - the read-only logfile view and compaction on a queue directory made here
 * (hashed deferred queue, queue files with a REC_TYPE_TIME record, ids in hold/ and incoming/,
 * stale and repeated ids, a malformed line, a line longer than any queue id).
 * The same on a real Postfix queue, with the daemon adding meanwhile: test/integration/admin-tools.test.ts.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findQueueFile, readLogfileBacklog } from '../../src/queue/backlog.js';
import { compactLogfile } from '../../src/queue/compact.js';
import { queueHashing } from '../../src/queue/queue-path.js';

const hashing = queueHashing(['deferred', 'flush'], 1);

/** A queue file whose first records are C (size) and T (arrival "sec usec"), as cleanup writes them. */
function queueFile(dir: string, path: string, arrival: number): void {
  const record = (type: string, data: string): Buffer => Buffer.concat([Buffer.from(type), Buffer.from([data.length]), Buffer.from(data)]);
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), Buffer.concat([record('C', '   402   654   1   0   402   0'), record('T', `${arrival} 123456`), record('M', '')]));
}

function makeQueue(t: { teardown(fn: () => void): void }): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ff-backlog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  queueFile(dir, 'deferred/A/AAAA000001', 1_700_000_100);
  queueFile(dir, 'deferred/A/AAAA000002', 1_700_000_300);
  queueFile(dir, 'incoming/BBBB000001', 1_700_000_200);
  queueFile(dir, 'hold/CCCC000001', 1_700_000_050);
  const lines = ['AAAA000001', 'DEAD000001', 'AAAA000002', 'AAAA000001', 'bad/line', 'x'.repeat(300), 'BBBB000001', 'CCCC000001', 'DEAD000001'];
  const log = join(dir, 'flush/e/example_com');
  mkdirSync(join(dir, 'flush/e'), { recursive: true });
  writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
  writeFileSync(join(dir, 'flush/e/empty_example'), '');
  utimesSync(log, 1_700_001_000, 1_700_002_000);
  return { dir, log };
}

test('figures of one logfile: lines, distinct ids, where each one waits, arrivals, times', async (t) => {
  const { dir, log } = makeQueue(t);
  const seen: string[] = [];
  const backlog = await readLogfileBacklog(dir, 'example_com', hashing, (id, state, repeat) => {
    seen.push(`${id.slice(0, 12)} ${repeat ? 'repeat' : state === undefined ? 'malformed' : state === null ? 'stale' : state.queue}`);
  });
  t.deepEqual(backlog, {
    name: 'example_com',
    path: 'flush/e/example_com',
    sizeBytes: statSync(log).size,
    lastFlushSec: 1_700_001_000,
    lastAddSec: 1_700_002_000,
    ids: 9,
    uniqueIds: 5,
    malformed: 2,
    queued: { deferred: 2, incoming: 1, active: 0, hold: 1 },
    stale: 1,
    oldestArrivalSec: 1_700_000_050,
    newestArrivalSec: 1_700_000_300,
  });
  t.deepEqual(seen, [
    'AAAA000001 deferred', 'DEAD000001 stale', 'AAAA000002 deferred', 'AAAA000001 repeat', 'bad/line malformed',
    'xxxxxxxxxxxx malformed', 'BBBB000001 incoming', 'CCCC000001 hold', 'DEAD000001 repeat',
  ]);
  t.is(statSync(log).atimeMs, 1_700_001_000_000, 'reading kept the atime');
  t.is(await readLogfileBacklog(dir, 'nothing_here', hashing), null);
  t.deepEqual(findQueueFile(dir, 'AAAA000002', hashing), { queue: 'deferred', arrivalSec: 1_700_000_300 });
});

test('compact keeps the first line of every id that has a queue file, in order, and the times', async (t) => {
  const { dir, log } = makeQueue(t);
  const result = await compactLogfile(dir, 'example_com', hashing);
  t.like(result, { before: 9, kept: 4, stale: 1, duplicates: 2, malformed: 2 });
  // Times first: the test's own read below may move the atime.
  t.is(statSync(log).atimeMs, 1_700_001_000_000);
  t.is(statSync(log).mtimeMs, 1_700_002_000_000);
  t.is(readFileSync(log, 'latin1'), 'AAAA000001\nAAAA000002\nBBBB000001\nCCCC000001\n');
  t.is(result!.bytesAfter, 44);
  const again = await compactLogfile(dir, 'example_com', hashing);
  t.like(again, { before: 4, kept: 4, bytesBefore: 44, bytesAfter: 44 }, 'a compact logfile is left alone');
  t.is(await compactLogfile(dir, 'nothing_here', hashing), null);
});
