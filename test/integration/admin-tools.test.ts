/*
 * admin-tools.test.ts - fastflush status, send --dry-run and compact on a real queue: a private
 * Postfix instance (fastflush as its flush daemon) with deferred mail for example.test and
 * sub.example.test, one message put on hold, plus crafted logfile lines (stale ids, repeats, a
 * malformed line) and a crafted logfile that lists only stale ids.
 *
 * The expected figures come from Postfix itself (postqueue -j: queue name and arrival time of
 * every message) and from the logfile bytes, never from fastflush's own code.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import Ajv from 'ajv';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { callFlush } from '../../src/cli/flush-client.js';
import { FLUSH_REQUEST } from '../../src/protocol/flush-messages.js';
import type { PostfixInstance } from '../helpers/postfix-instance.js';
import { startInstance } from '../helpers/postfix-instance.js';
import { deferMail } from '../helpers/postfix-scenario.js';
import { repoRoot } from '../helpers/paths.js';
import { withPostfix } from '../helpers/postfix-variants.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');
const STALE = ['B0GVS00001', 'B0GVS00002', 'B0GVS00003'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function fastflush(pf: PostfixInstance, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '-c', pf.etcDir, ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function postfixCommand(name: string): string {
  const dir = spawnSync('postconf', ['-dh', 'command_directory'], { encoding: 'utf8' }).stdout.trim();
  return join(dir, name);
}

/** Postfix's own view of the queue: queue id -> queue name and arrival time. */
async function postfixQueue(pf: PostfixInstance): Promise<Map<string, { queue: string; arrival: number }>> {
  const r = await pf.postqueue(['-j']);
  const out = new Map<string, { queue: string; arrival: number }>();
  for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
    const m = JSON.parse(line) as { queue_id: string; queue_name: string; arrival_time: number };
    out.set(m.queue_id, { queue: m.queue_name, arrival: m.arrival_time });
  }
  return out;
}

interface Expected {
  ids: number;
  unique_ids: number;
  malformed_lines: number;
  stale_ids: number;
  queued: Record<string, number>;
  oldest_arrival: number | null;
  newest_arrival: number | null;
  size_bytes: number;
}

/** The figures of one logfile, from its bytes and postqueue -j. */
function expectedFigures(path: string, queue: Map<string, { queue: string; arrival: number }>): Expected {
  const text = readNoAtime(path).toString('latin1');
  const lines = text.split('\n').filter((l) => l !== '');
  const valid = lines.filter((l) => /^[A-Za-z0-9_]+$/.test(l));
  const unique = [...new Set(valid)];
  const queued = { deferred: 0, incoming: 0, active: 0, hold: 0 } as Record<string, number>;
  const arrivals: number[] = [];
  for (const id of unique) {
    const q = queue.get(id);
    if (q === undefined) continue;
    queued[q.queue]!++;
    arrivals.push(q.arrival);
  }
  return {
    ids: lines.length,
    unique_ids: unique.length,
    malformed_lines: lines.length - valid.length,
    stale_ids: unique.filter((id) => !queue.has(id)).length,
    queued,
    oldest_arrival: arrivals.length ? Math.min(...arrivals) : null,
    newest_arrival: arrivals.length ? Math.max(...arrivals) : null,
    size_bytes: Buffer.byteLength(text, 'latin1'),
  };
}

/** The bytes of a file, read with O_NOATIME: the test itself must not move the atimes it compares. */
function readNoAtime(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOATIME);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every regular file below the queue's mail and flush directories: bytes and ns time stamps. */
function snapshot(spoolDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        out.set(path, `dir mtime=${statSync(path, { bigint: true }).mtimeNs}`);
      } else if (entry.isFile()) {
        const info = statSync(path, { bigint: true });
        const digest = createHash('sha256').update(readNoAtime(path)).digest('hex');
        out.set(path, `atime=${info.atimeNs} mtime=${info.mtimeNs} ctime=${info.ctimeNs} sha256=${digest}`);
      }
    }
  };
  for (const queue of ['flush', 'deferred', 'incoming', 'active', 'hold']) walk(join(spoolDir, queue));
  return out;
}

/** A queue built by Postfix, with crafted logfile lines on top. */
async function buildQueue(t: ExecutionContext): Promise<{ pf: PostfixInstance; main: string[]; sub: string[] }> {
  const pf = await startInstance(t, { flushProgram: 'fastflush' });
  const main = await deferMail(pf, 3, 'rcpt@example.test');
  const sub = await deferMail(pf, 2, 'rcpt@sub.example.test');
  const held = spawnSync(postfixCommand('postsuper'), ['-c', pf.etcDir, '-h', sub[0]!], { encoding: 'utf8' });
  t.is(held.status, 0, held.stderr);
  // Stale ids, repeats and a malformed line after what flush wrote.
  const mainLog = pf.logfile('example.test');
  const crafted = `${STALE[0]}\n${main[0]}\n${main[0]}\nnot/a-queue-id\n${STALE[0]}\n${STALE[1]}\n`;
  writeFileSync(mainLog, readFileSync(mainLog, 'latin1') + crafted, 'latin1');
  pf.writeLogfile('gone_example_test', `${STALE[1]}\n${STALE[2]}\n${STALE[2]}\n`);
  // A last read well before the last write: a plain read would move the atime (relatime).
  const old = new Date(Date.now() - 3 * 86400_000);
  for (const name of ['example_test', 'sub_example_test', 'gone_example_test']) {
    const p = join(pf.spoolDir, 'flush', name);
    spawnSync('touch', ['-a', '-d', old.toISOString(), p]);
  }
  return { pf, main, sub };
}

withPostfix.serial('status: the figures are what the queue and the logfiles hold; JSON fits its schema; OpenMetrics parses', async (t) => {
  const { pf, main, sub } = await buildQueue(t);
  const queue = await postfixQueue(pf);
  t.is(queue.get(sub[0]!)?.queue, 'hold');
  for (const id of [...main, sub[1]!]) t.is(queue.get(id)?.queue, 'deferred');

  const json = await fastflush(pf, ['status', '--json']);
  t.is(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { destinations: Array<Record<string, unknown>> };
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs/status.schema.json'), 'utf8')) as object;
  const validate = new Ajv.default({ allErrors: true, strict: true }).compile(schema);
  t.true(validate(report), JSON.stringify(validate.errors));

  t.deepEqual(report.destinations.map((d) => d['logfile']), ['example_test', 'sub_example_test', 'gone_example_test']);
  for (const destination of report.destinations) {
    const path = join(pf.spoolDir, 'flush', destination['logfile'] as string);
    const info = statSync(path);
    const expected = expectedFigures(path, queue);
    t.like(destination, { ...expected, last_flush: Math.floor(info.atimeMs / 1000), last_add: Math.floor(info.mtimeMs / 1000) }, path);
  }
  const dayAgo = Math.floor(Date.now() / 1000) - 86400;
  for (const destination of report.destinations) t.true((destination['last_flush'] as number) < dayAgo, 'status kept the atimes');
  t.like(report.destinations[0], { ids: 9, unique_ids: 5, stale_ids: 2, malformed_lines: 1, queued: { deferred: 3, incoming: 0, active: 0, hold: 0 } });
  t.like(report.destinations[1], { unique_ids: 2, stale_ids: 0, queued: { deferred: 1, hold: 1 } });
  t.like(report.destinations[2], { ids: 3, unique_ids: 2, stale_ids: 2, queued_total: 0, oldest_arrival: null });

  const named = await fastflush(pf, ['status', 'SUB.example.test', '--json']);
  const one = JSON.parse(named.stdout) as { destinations: Array<Record<string, unknown>> };
  t.deepEqual(one.destinations.map((d) => [d['site'], d['logfile']]), [['SUB.example.test', 'sub_example_test']]);

  const table = await fastflush(pf, ['status']);
  t.is(table.code, 0, table.stderr);
  const rows = table.stdout.trimEnd().split('\n');
  t.regex(rows[0]!, /^DESTINATION +QUEUED +DEFER/);
  t.regex(rows[1]!, /^example_test +3 +3 +0 +0 +0 +9 +5 +2 .* #{20}$/);
  t.regex(rows[2]!, /^sub_example_test +2 +1 +0 +0 +1 .* #{13}$/);
  t.regex(rows[3]!, /^gone_example_test +0 .* -  /);
  t.log(`fastflush status on the test queue:\n${table.stdout}`);

  const metrics = await fastflush(pf, ['status', '--openmetrics']);
  t.is(metrics.code, 0, metrics.stderr);
  t.true(metrics.stdout.endsWith('\n# EOF\n'));
  const families = parsePrometheusTextFormat(metrics.stdout);
  const family = (name: string) => families.find((f) => f.name === name);
  t.is(family('fastflush_queued_messages')?.type, 'GAUGE');
  const deferredMain = family('fastflush_queued_messages')?.metrics.find(
    (m) => m.labels?.['logfile'] === 'example_test' && m.labels?.['queue'] === 'deferred',
  );
  t.is(deferredMain?.value, '3');
  t.is(family('fastflush_logfile_stale_ids')?.metrics.find((m) => m.labels?.['logfile'] === 'gone_example_test')?.value, '2');
  t.is(
    family('fastflush_oldest_message_arrival_timestamp_seconds')?.metrics.length,
    2,
    'only logfiles with queued mail have an oldest arrival',
  );
  for (const f of families) t.regex(f.name, /^fastflush_[a-z_]+$/);
});

withPostfix.serial('send --dry-run lists what a send would do and changes no byte, atime or mtime', async (t) => {
  const { pf, main } = await buildQueue(t);
  const before = snapshot(pf.spoolDir);
  const run = await fastflush(pf, ['send', 'example.test', '--dry-run']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(snapshot(pf.spoolDir), before);

  const lines = run.stdout.trimEnd().split('\n');
  const logged = readNoAtime(pf.logfile('example.test')).toString('latin1').split('\n').filter((l) => l !== '');
  t.is(lines.length, logged.length + 1);
  const action = (id: string): string[] => lines.filter((l) => l.startsWith(`${id}\t`)).map((l) => l.slice(id.length + 1));
  for (const id of main.slice(1)) t.deepEqual(action(id), ['move deferred -> incoming']);
  t.deepEqual(action(main[0]!), ['move deferred -> incoming', 'skip (repeated)', 'skip (repeated)']);
  t.deepEqual(action(STALE[0]!), ['drop (no queue file)', 'skip (repeated)']);
  t.deepEqual(action('not/a-queue-id'), ['skip (not a queue id)']);
  t.regex(lines.at(-1)!, /^example\.test: 9 lines, 3 to move to incoming, 0 already in incoming; logfile flush\/example_test would be emptied; qmgr would be asked to scan incoming \(dry run: nothing changed\)$/);

  const none = await fastflush(pf, ['send', 'nothing.example.test', '--dry-run']);
  t.deepEqual(none, { code: 0, stdout: 'nothing.example.test: no logfile flush/nothing_example_test: nothing to send\n', stderr: '' });
  t.deepEqual(snapshot(pf.spoolDir), before);
});

withPostfix.serial('compact drops exactly the stale and repeated ids, keeps every queued one, also while the daemon adds', async (t) => {
  const { pf, main, sub } = await buildQueue(t);
  const queueBefore = await postfixQueue(pf);
  const subBefore = readFileSync(pf.logfile('sub.example.test'), 'latin1');
  const mainLog = pf.logfile('example.test');
  // The order the adds arrived in: qmgr hands the deferred mail to smtp in its own order.
  const linesBefore = readNoAtime(mainLog).toString('latin1').split('\n').filter((line) => line !== '');
  const timesBefore = statSync(mainLog);
  const goneLog = join(pf.spoolDir, 'flush', 'gone_example_test');
  const bytesBefore = statSync(mainLog).size + statSync(goneLog).size;

  const run = await fastflush(pf, ['compact']);
  t.is(run.code, 0, run.stderr);
  const saved = bytesBefore - statSync(mainLog).size - statSync(goneLog).size;
  const timesAfter = statSync(mainLog);
  // Whole seconds, as flush(8) reads them (event_time()); setting a time back through a
  // double may move it by a nanosecond, and so across a millisecond boundary.
  const seconds = (ms: number): number => Math.floor(ms / 1000);
  t.is(seconds(timesAfter.atimeMs), seconds(timesBefore.atimeMs), 'atime (last flush) kept');
  t.is(seconds(timesAfter.mtimeMs), seconds(timesBefore.mtimeMs), 'mtime (last add) kept');
  t.is(run.stdout, `compacted 2 of 3 logfiles: dropped 4 stale ids, 4 repeated and 1 malformed lines (${saved} bytes)\n`);
  // Flush's order, first occurrence of each id that has a queue file.
  const queuedInOrder = [...new Set(linesBefore.filter((id) => main.includes(id)))];
  t.deepEqual(queuedInOrder.slice().sort(), main.slice().sort());
  t.deepEqual(readFileSync(mainLog, 'latin1'), queuedInOrder.map((id) => `${id}\n`).join(''));
  t.is(readFileSync(pf.logfile('sub.example.test'), 'latin1'), subBefore);
  t.is(readFileSync(goneLog, 'latin1'), '');
  t.deepEqual(await postfixQueue(pf), queueBefore, 'no message moved');
  t.is(sub.length, 2);

  // Adds through the running daemon while compactions run in other processes. The added ids
  // name queue files made for the purpose (in hold/, where nothing delivers them), so every one
  // must survive; the stale ids added alongside must not.
  const holdIds = Array.from({ length: 120 }, (_, i) => `H0LD${String(i).padStart(6, '0')}`);
  const holdDir = join(pf.spoolDir, 'hold');
  mkdirSync(holdDir, { recursive: true });
  for (const id of holdIds) {
    writeFileSync(join(holdDir, id), '', { mode: 0o700 });
    chownSync(join(holdDir, id), pf.postfixUid, pf.postfixGid);
  }
  const target = { socketPath: join(pf.spoolDir, 'public', 'flush'), name: 'public/flush', timeoutSec: 30 };
  let adding = true;
  const adds = (async () => {
    try {
      for (const [i, id] of holdIds.entries()) {
        t.is(await callFlush({ request: FLUSH_REQUEST.ADD, site: 'example.test', queueId: id }, target), 0);
        t.is(await callFlush({ request: FLUSH_REQUEST.ADD, site: 'example.test', queueId: STALE[i % 3]! }, target), 0);
      }
    } finally {
      adding = false;
    }
  })();
  let compactions = 0;
  while (adding || compactions < 3) {
    const r = await fastflush(pf, ['compact', 'example.test', '--quiet']);
    t.is(r.code, 0, r.stderr);
    compactions++;
  }
  await adds;
  t.true(compactions >= 3);
  const final = await fastflush(pf, ['compact', 'example.test', '--quiet']);
  t.is(final.code, 0, final.stderr);
  const kept = readFileSync(mainLog, 'latin1').split('\n').filter((l) => l !== '');
  t.deepEqual([...kept].sort(), [...main, ...holdIds].sort());
});
