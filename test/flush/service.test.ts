/*
 * The flush service against the conformance checklist of
 * spec-protocol-master.md §8 and the robustness matrix of §2.3, driven
 * in-process (no sockets to the service; a recording qmgr on public/qmgr).
 */
import test from 'ava';
import { readFileSync, renameSync, statSync, symlinkSync, writeFileSync, mkdirSync, utimesSync, existsSync } from 'node:fs';
import {
  converse,
  enterScratchQueue,
  makeSettings,
  request,
  STATUS_BAD,
  STATUS_DENY,
  STATUS_FAIL,
  STATUS_OK,
  type FakeQmgr,
} from './harness.js';
import { FLUSH_ANNOUNCEMENT } from '../../src/protocol/flush-messages.js';

let qmgr: FakeQmgr;
test.beforeEach(async () => {
  qmgr = await enterScratchQueue();
});
test.afterEach.always(async () => {
  await qmgr.close();
});

const settings = () => makeSettings('example.com, example.test');

function makeDeferred(id: string, mode = 0o700, seconds = 1_000_000_000): string {
  const dir = `deferred/${id[0]}`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = `${dir}/${id}`;
  writeFileSync(path, 'queue file', { mode });
  utimesSync(path, seconds, seconds);
  return path;
}

test.serial('every conversation starts with the 31-byte announcement', async (t) => {
  const { output } = await converse(settings(), [request('request', 'purge')]);
  t.deepEqual(output.subarray(0, 31), FLUSH_ANNOUNCEMENT);
});

test.serial('add appends the queue id to flush/<site> with mode 0600, duplicates kept', async (t) => {
  const first = await converse(settings(), [request('request', 'add', 'site', 'example.com', 'queue_id', '3F2A1B4C5D')]);
  t.deepEqual(first.reply, STATUS_OK);
  const again = await converse(settings(), [request('request', 'add', 'site', 'Example.COM', 'queue_id', '3F2A1B4C5D')]);
  t.deepEqual(again.reply, STATUS_OK);
  t.is(readFileSync('flush/example_com', 'latin1'), '3F2A1B4C5D\n3F2A1B4C5D\n');
  t.is(statSync('flush/example_com').mode & 0o777, 0o600);
});

test.serial('add for a subdomain uses its own logfile (parent-style match)', async (t) => {
  const { reply } = await converse(settings(), [request('request', 'add', 'site', 'sub.example.com', 'queue_id', 'ABC')]);
  t.deepEqual(reply, STATUS_OK);
  t.is(readFileSync('flush/sub_example_com', 'latin1'), 'ABC\n');
});

const addRefusals: Array<[string, Buffer, Buffer]> = [
  ['a site not in fast_flush_domains', request('request', 'add', 'site', 'other.net', 'queue_id', 'ABC'), STATUS_DENY],
  ['a queue id with a slash', request('request', 'add', 'site', 'example.com', 'queue_id', 'ab/cd'), STATUS_BAD],
  ['a queue id with a dot', request('request', 'add', 'site', 'example.com', 'queue_id', 'AB.C'), STATUS_BAD],
  ['a missing queue id', request('request', 'add', 'site', 'example.com'), STATUS_BAD],
  ['a 256-character queue id', request('request', 'add', 'site', 'example.com', 'queue_id', 'A'.repeat(256)), STATUS_BAD],
  ['an empty site', request('request', 'add', 'site', '', 'queue_id', 'ABC'), STATUS_DENY],
  ['queue_id before site', request('request', 'add', 'queue_id', 'ABC', 'site', 'example.com'), STATUS_BAD],
  ['request given twice', request('request', 'add', 'request', 'add', 'site', 'example.com', 'queue_id', 'A'), STATUS_BAD],
  ['a leading surplus attribute', request('foo', 'bar', 'request', 'add'), STATUS_BAD],
];

for (const [what, bytes, expected] of addRefusals) {
  test.serial(`add with ${what} is refused and writes nothing`, async (t) => {
    const { reply } = await converse(settings(), [bytes]);
    t.deepEqual(reply, expected);
    t.false(existsSync('flush/example_com'));
  });
}

test.serial('add accepts a 255-character queue id', async (t) => {
  const { reply } = await converse(settings(), [request('request', 'add', 'site', 'example.com', 'queue_id', 'A'.repeat(255))]);
  t.deepEqual(reply, STATUS_OK);
});

test.serial('an eligible address literal is denied by the IDNA step, with the midna warning', async (t) => {
  const { reply, warnings } = await converse(makeSettings('[1.2.3.4]'), [
    request('request', 'add', 'site', '[1.2.3.4]', 'queue_id', 'ABC'),
  ]);
  t.deepEqual(reply, STATUS_DENY);
  t.true(warnings.some((w) => w.startsWith('warning: midna_domain_to_ascii_create: Problem translating domain "[1.2.3.4]"')));
});

test.serial('a domain-list table failure answers FLUSH_STAT_FAIL as 4294967295', async (t) => {
  const { reply } = await converse(makeSettings('fail:x'), [request('request', 'add', 'site', 'a.com', 'queue_id', 'ABC')]);
  t.deepEqual(reply, STATUS_FAIL);
});

test.serial('a surplus trailing attribute is tolerated with a warning and the add happens', async (t) => {
  const { reply, warnings } = await converse(settings(), [
    request('request', 'add', 'site', 'example.com', 'queue_id', 'ABC', 'foo', 'bar'),
  ]);
  t.deepEqual(reply, STATUS_OK);
  t.is(readFileSync('flush/example_com', 'latin1'), 'ABC\n');
  t.true(warnings.includes('warning: unexpected attribute foo from flush socket (expecting: (list terminator))'));
});

test.serial('an add whose logfile write fails answers FLUSH_STAT_FAIL, with Postfix\'s warning', async (t) => {
  symlinkSync('/dev/full', 'flush/example_com');
  const { reply, warnings } = await converse(settings(), [
    request('request', 'add', 'site', 'example.com', 'queue_id', 'ABC'),
  ]);
  t.deepEqual(reply, STATUS_FAIL);
  t.deepEqual(warnings, ['warning: write fast flush logfile example_com: No space left on device']);
});

test.serial('send_site moves listed deferred files to incoming, truncates the logfile, triggers F then I', async (t) => {
  const first = makeDeferred('3F2A1B4C5D');
  const second = makeDeferred('4ABCDEF012');
  writeFileSync('flush/example_com', '3F2A1B4C5D\n4ABCDEF012\n', { mode: 0o600 });
  const before = Math.floor(Date.now() / 1000);
  const { reply } = await converse(settings(), [request('request', 'send_site', 'site', 'example.com')]);
  t.deepEqual(reply, STATUS_OK);
  t.false(existsSync(first));
  t.false(existsSync(second));
  const moved = statSync('incoming/3F2A1B4C5D');
  t.is(moved.mode & 0o777, 0o700);
  t.true(moved.mtimeMs / 1000 >= before);
  t.is(moved.atimeMs, moved.mtimeMs);
  t.is(statSync('flush/example_com').size, 0);
  t.deepEqual(await qmgr.settle(2), ['F\0', 'I\0']);
});

test.serial('send_site with an empty logfile still sends F but not I', async (t) => {
  writeFileSync('flush/example_com', '', { mode: 0o600 });
  utimesSync('flush/example_com', 1_000_000_000, 1_000_000_000);
  const { reply } = await converse(settings(), [request('request', 'send_site', 'site', 'example.com')]);
  t.deepEqual(reply, STATUS_OK);
  t.deepEqual(await qmgr.settle(1), ['F\0']);
  t.true(statSync('flush/example_com').atimeMs / 1000 > 1_000_000_000, 'logfile touched');
});

test.serial('send_site without a logfile answers 0 and triggers nothing', async (t) => {
  const { reply } = await converse(settings(), [request('request', 'send_site', 'site', 'example.com')]);
  t.deepEqual(reply, STATUS_OK);
  t.deepEqual(await qmgr.settle(0), []);
});

test.serial('send_site warns about corrupt logfile lines and still processes the good ones', async (t) => {
  makeDeferred('ABCDEF');
  writeFileSync('flush/example_com', 'bad/id\n\nABCDEF\n', { mode: 0o600 });
  const { reply, warnings } = await converse(settings(), [request('request', 'send_site', 'site', 'example.com')]);
  t.deepEqual(reply, STATUS_OK);
  t.true(existsSync('incoming/ABCDEF'));
  t.true(warnings.includes('warning: bad queue id "bad/id..." in fast flush logfile example_com'));
  t.true(warnings.includes('warning: bad queue id "..." in fast flush logfile example_com'));
});

test.serial('send_site for a site not listed is denied', async (t) => {
  const { reply } = await converse(settings(), [request('request', 'send_site', 'site', 'noflush.test')]);
  t.deepEqual(reply, STATUS_DENY);
});

test.serial('send_file moves one deferred file with the unthrottle bit (0740) and triggers I only', async (t) => {
  makeDeferred('3F2A1B4C5D');
  const { reply } = await converse(settings(), [request('request', 'send_file', 'queue_id', '3F2A1B4C5D')]);
  t.deepEqual(reply, STATUS_OK);
  t.is(statSync('incoming/3F2A1B4C5D').mode & 0o777, 0o740);
  t.deepEqual(await qmgr.settle(1), ['I\0']);
});

test.serial('send_file for a missing file answers 0 without a trigger; a bad id answers 3', async (t) => {
  t.deepEqual((await converse(settings(), [request('request', 'send_file', 'queue_id', 'NOSUCH')])).reply, STATUS_OK);
  t.deepEqual((await converse(settings(), [request('request', 'send_file', 'queue_id', 'a.b')])).reply, STATUS_BAD);
  t.deepEqual(await qmgr.settle(0), []);
});

test.serial('rfrsh answers first, flushes old non-empty logfiles and removes old empty ones', async (t) => {
  const old = 1_000_000_000;
  makeDeferred('AAAA1');
  writeFileSync('flush/old_nonempty', 'AAAA1\n', { mode: 0o600 });
  utimesSync('flush/old_nonempty', old, old);
  writeFileSync('flush/recent_nonempty', 'BBBB2\n', { mode: 0o600 });
  writeFileSync('flush/empty_old', '', { mode: 0o600 });
  utimesSync('flush/empty_old', old, old);
  writeFileSync('flush/empty_recent', '', { mode: 0o600 });
  writeFileSync('flush/old_mtime_only', 'CCCC3\n', { mode: 0o600 });
  utimesSync('flush/old_mtime_only', Date.now() / 1000, old);
  const { reply } = await converse(settings(), [request('request', 'rfrsh')]);
  t.deepEqual(reply, STATUS_OK);
  t.true(existsSync('incoming/AAAA1'));
  t.is(statSync('flush/old_nonempty').size, 0);
  t.false(existsSync('flush/empty_old'));
  t.true(existsSync('flush/empty_recent'));
  t.is(readFileSync('flush/recent_nonempty', 'latin1'), 'BBBB2\n');
  t.is(readFileSync('flush/old_mtime_only', 'latin1'), 'CCCC3\n');
  t.deepEqual(await qmgr.settle(1), ['I\0']);
});

test.serial('purge flushes every non-empty logfile last flushed before this second', async (t) => {
  makeDeferred('AAAA1');
  writeFileSync('flush/a_site', 'AAAA1\n', { mode: 0o600 });
  const now = Math.floor(Date.now() / 1000);
  utimesSync('flush/a_site', now - 5, now - 5);
  writeFileSync('flush/fresh_site', 'BBBB2\n', { mode: 0o600 });
  // Flushed in this second (or later): an atime ahead of the clock stays so however slow the test runs.
  utimesSync('flush/fresh_site', now + 3600, now + 3600);
  const { reply } = await converse(settings(), [request('request', 'purge')]);
  t.deepEqual(reply, STATUS_OK);
  t.true(existsSync('incoming/AAAA1'));
  t.is(readFileSync('flush/fresh_site', 'latin1'), 'BBBB2\n');
});

test.serial("master's wakeup W\\0, written as two 1-byte writes, runs the refresh", async (t) => {
  const old = 1_000_000_000;
  writeFileSync('flush/empty_old', '', { mode: 0o600 });
  utimesSync('flush/empty_old', old, old);
  const { reply } = await converse(settings(), [Buffer.from('W'), Buffer.from([0])]);
  t.deepEqual(reply, STATUS_OK);
  t.false(existsSync('flush/empty_old'));
});

test.serial('W in attribute form is a wakeup too', async (t) => {
  const { reply } = await converse(settings(), [request('request', 'W')]);
  t.deepEqual(reply, STATUS_OK);
});

test.serial('a one-character logfile does not stop the refresh walk', async (t) => {
  makeDeferred('AAAA1');
  writeFileSync('flush/x', 'AAAA1\n', { mode: 0o600 });
  utimesSync('flush/x', 1_000_000_000, 1_000_000_000);
  const { reply } = await converse(settings(), [request('request', 'rfrsh')]);
  t.deepEqual(reply, STATUS_OK);
  t.true(existsSync('incoming/AAAA1'));
});

const noReply: Array<[string, Buffer[]]> = [
  ['an unknown request', [request('request', 'nope')]],
  ['RFRSH in capitals', [request('request', 'RFRSH')]],
  ['"refresh" spelled out', [request('request', 'refresh')]],
  ['a 2-byte trigger other than W', [Buffer.from('X\0', 'latin1')]],
  ['a request split after 2 bytes', [Buffer.from('re'), request('quest', 'purge')]],
];

for (const [what, chunks] of noReply) {
  test.serial(`${what} gets no reply at all`, async (t) => {
    const { reply } = await converse(settings(), chunks);
    t.is(reply.length, 0);
  });
}

test.serial('an empty connection gets the end-of-input warning and the bytes C sends then, 3\\0\\0', async (t) => {
  const { reply, warnings } = await converse(settings(), []);
  t.deepEqual(reply, Buffer.from('3\0\0', 'latin1'));
  t.deepEqual(warnings, ['warning: end-of-input while reading request from flush socket: Application error']);
});

test.serial('an unterminated last string answers 3', async (t) => {
  const { reply } = await converse(settings(), [Buffer.from('request\0add\0site\0example.com\0queue_id\0ABC', 'latin1')]);
  t.deepEqual(reply, STATUS_BAD);
});

test.serial('rfrsh without its list terminator still answers 0', async (t) => {
  const { reply } = await converse(settings(), [Buffer.from('request\0rfrsh\0', 'latin1')]);
  t.deepEqual(reply, STATUS_OK);
});

test.serial('a 10 MB site is consumed in bounded memory and denied', async (t) => {
  const chunk = Buffer.alloc(65536, 'a');
  const chunks = [Buffer.from('request\0add\0site\0', 'latin1')];
  for (let i = 0; i < 160; i++) chunks.push(chunk);
  chunks.push(Buffer.from('.example.com\0queue_id\0ABC\0\0', 'latin1'));
  const { reply } = await converse(settings(), chunks);
  t.deepEqual(reply, STATUS_DENY);
  t.false(existsSync('flush/example_com'));
});

test.serial('a flush directory that cannot be read is fatal for the refresh walk, after the reply, as in C', async (t) => {
  renameSync('flush', 'flush.away');
  try {
    await t.throwsAsync(converse(settings(), [request('request', 'rfrsh')]), {
      message: /scan_dir_push: open directory flush: No such file or directory/,
    });
  } finally {
    renameSync('flush.away', 'flush');
  }
});

test.serial('with fastflush_compact_on_refresh a refresh first drops stale and repeated ids, then flushes as usual', async (t) => {
  makeDeferred('AAAA1');
  writeFileSync('flush/young_site', 'GONE1\nAAAA1\nGONE2\nAAAA1\n', { mode: 0o600 });
  const { reply } = await converse(makeSettings('example.com', { compactOnRefresh: true }), [request('request', 'rfrsh')]);
  t.deepEqual(reply, STATUS_OK);
  // Young (just written): not flushed, only compacted.
  t.is(readFileSync('flush/young_site', 'latin1'), 'AAAA1\n');
  t.true(existsSync('deferred/A/AAAA1'));
});
