/*
 * queue-file.test.ts - flushOneFile (spec §3.7): time stamps, the
 * unthrottle-after mode change, readiness, the deferred -> incoming move,
 * safe-open refusals, and Postfix's warning texts.
 */
import test from 'ava';
import { chmodSync, linkSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat, readFile, stat } from 'node:fs/promises';
import { flushOneFile } from '../../src/queue/queue-file.js';
import { queueHashing } from '../../src/queue/queue-path.js';
import { gatedTests, ROOT } from '../helpers/requirements.js';
import { captureMsgs, inScratchDir, type CapturedMsgs } from './helpers.js';

const hashing = queueHashing(['deferred', 'defer'], 1);
const NOW = 1_795_948_319; // a whole-second event-loop time, as flush uses
const ID = '3F2A1B4C5D';
const DEFERRED = `deferred/3/${ID}`;
const INCOMING = `incoming/${ID}`;
const isRoot = process.getuid?.() === 0;
/** Only root can own a symlink that another user may not have planted. */
const asRoot = gatedTests(ROOT);

function makeQueues(): void {
  mkdirSync('deferred/3', { recursive: true, mode: 0o700 });
  mkdirSync('incoming', { mode: 0o700 });
}

function queueFile(path: string, mode: number, content = 'queue file'): void {
  writeFileSync(path, content);
  chmodSync(path, mode);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Runs `body` in a scratch queue directory with msg output captured. */
async function inQueue(body: (captured: CapturedMsgs) => Promise<void>): Promise<void> {
  await inScratchDir(async () => {
    makeQueues();
    const captured = captureMsgs();
    try {
      await body(captured);
    } finally {
      captured.stop();
    }
  });
}

test.serial('unthrottle-before: time stamps = now, moved to incoming, mode kept 0700', async (t) => {
  await inQueue(async (captured) => {
    queueFile(DEFERRED, 0o700);
    t.true(await flushOneFile(ID, NOW, 'unthrottle-before', hashing));
    t.false(await exists(DEFERRED));
    const st = await stat(INCOMING);
    t.is(st.mode & 0o7777, 0o700);
    t.is(st.atimeMs, NOW * 1000);
    t.is(st.mtimeMs, NOW * 1000);
    t.is(await readFile(INCOMING, 'utf8'), 'queue file');
    t.deepEqual(captured.lines, []);
  });
});

test.serial('unthrottle-after: group-read added (0740), moved to incoming', async (t) => {
  await inQueue(async (captured) => {
    queueFile(DEFERRED, 0o700);
    t.true(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
    t.false(await exists(DEFERRED));
    const st = await stat(INCOMING);
    t.is(st.mode & 0o7777, 0o740);
    t.is(st.mtimeMs, NOW * 1000);
    t.deepEqual(captured.lines, []);
  });
});

test.serial('a file already in incoming gets its time stamps (and mode) updated and stays', async (t) => {
  await inQueue(async (captured) => {
    queueFile(INCOMING, 0o700);
    t.true(await flushOneFile(ID, NOW, 'unthrottle-before', hashing));
    t.is((await stat(INCOMING)).mtimeMs, NOW * 1000);
    t.is((await stat(INCOMING)).mode & 0o7777, 0o700);
    t.true(await flushOneFile(ID, NOW + 1, 'unthrottle-after', hashing));
    t.is((await stat(INCOMING)).mode & 0o7777, 0o740);
    t.is((await stat(INCOMING)).atimeMs, (NOW + 1) * 1000);
    t.deepEqual(captured.lines, []);
  });
});

test.serial('a missing file is no success and no warning', async (t) => {
  await inQueue(async (captured) => {
    t.false(await flushOneFile(ID, NOW, 'unthrottle-before', hashing));
    t.false(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
    t.deepEqual(captured.lines, []);
  });
});

test.serial('unthrottle-after leaves a file that is not ready (0600) where it is', async (t) => {
  await inQueue(async (captured) => {
    queueFile(DEFERRED, 0o600);
    t.false(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
    t.true(await exists(DEFERRED));
    t.false(await exists(INCOMING));
    const st = await stat(DEFERRED);
    t.is(st.mode & 0o7777, 0o600);
    t.is(st.mtimeMs, NOW * 1000); // the time stamps were updated first, as in Postfix
    t.deepEqual(captured.lines, []);
  });
});

test.serial('unthrottle-before does not check readiness', async (t) => {
  await inQueue(async () => {
    queueFile(DEFERRED, 0o600);
    t.true(await flushOneFile(ID, NOW, 'unthrottle-before', hashing));
    t.is((await stat(INCOMING)).mode & 0o7777, 0o600);
  });
});

test.serial('long queue IDs are found in their hashed deferred directory', async (t) => {
  await inQueue(async () => {
    const longId = '4dQ8Kc1mB4zJrQ';
    queueFile(`deferred/3/${longId}`, 0o700);
    t.true(await flushOneFile(longId, NOW, 'unthrottle-after', hashing));
    t.is((await stat(`incoming/${longId}`)).mode & 0o7777, 0o740);
  });
});

test.serial('missing hashed incoming directories are created for the rename', async (t) => {
  await inQueue(async () => {
    const deep = queueHashing(['deferred', 'incoming'], 2);
    mkdirSync('deferred/3/F', { recursive: true });
    queueFile(`deferred/3/F/${ID}`, 0o700);
    t.true(await flushOneFile(ID, NOW, 'unthrottle-before', deep));
    t.true(await exists(`incoming/3/F/${ID}`));
    t.is((await stat('incoming/3/F')).mode & 0o7777, 0o700);
  });
});

test.serial('unthrottle-after refuses a symlink owned by another user', async (t) => {
  if (!isRoot) {
    // Any symlink we can create is ours, so not root-owned: refused all the same.
    await inQueue(async (captured) => {
      queueFile('target', 0o700);
      symlinkSync('../../target', DEFERRED);
      t.false(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
      t.deepEqual(captured.lines, [`warning: flush_one_file: open ${DEFERRED}: file is a symbolic link`]);
    });
    return;
  }
  await inQueue(async (captured) => {
    queueFile('target', 0o700);
    symlinkSync('../../target', DEFERRED);
    lchownSync(DEFERRED, 65534, 65534);
    t.false(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
    t.true((await lstat(DEFERRED)).isSymbolicLink());
    t.false(await exists(INCOMING));
    t.is((await stat('target')).mode & 0o7777, 0o700);
    t.deepEqual(captured.lines, [`warning: flush_one_file: open ${DEFERRED}: file is a symbolic link`]);
  });
});

asRoot.serial('a root-owned symlink is trusted only in a root-owned directory others cannot write', async (t) => {
  await inQueue(async (captured) => {
    queueFile('target', 0o700);
    symlinkSync('../../target', DEFERRED);
    chmodSync('deferred/3', 0o770);
    t.false(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
    t.deepEqual(captured.lines, [`warning: flush_one_file: open ${DEFERRED}: file is a symbolic link`]);
    chmodSync('deferred/3', 0o700);
    t.true(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
    t.is((await stat('target')).mode & 0o7777, 0o740);
    t.true((await lstat(INCOMING)).isSymbolicLink());
  });
});

test.serial('unthrottle-after refuses a file with two hard links', async (t) => {
  await inQueue(async (captured) => {
    queueFile(DEFERRED, 0o700);
    linkSync(DEFERRED, 'second-link');
    t.false(await flushOneFile(ID, NOW, 'unthrottle-after', hashing));
    t.true(await exists(DEFERRED));
    t.is((await stat(DEFERRED)).mode & 0o7777, 0o700);
    t.deepEqual(captured.lines, [`warning: flush_one_file: open ${DEFERRED}: file has 2 hard links`]);
  });
});

test.serial('a failed rename is a warning but still counts as success', async (t) => {
  await inQueue(async (captured) => {
    queueFile(DEFERRED, 0o700);
    mkdirSync(`${INCOMING}/occupied`, { recursive: true });
    t.true(await flushOneFile(ID, NOW, 'unthrottle-before', hashing));
    t.true(await exists(DEFERRED));
    t.deepEqual(captured.lines, [`warning: ${DEFERRED}: rename from deferred to incoming: Is a directory`]);
  });
});

test.serial('a time stamp failure other than ENOENT is a warning; incoming is tried next', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('deferred');
    writeFileSync('deferred/3', 'not a directory');
    mkdirSync('incoming');
    queueFile(INCOMING, 0o700);
    const captured = captureMsgs();
    try {
      t.true(await flushOneFile(ID, NOW, 'unthrottle-before', hashing));
      t.false(await flushOneFile('3ABSENT', NOW, 'unthrottle-before', hashing));
    } finally {
      captured.stop();
    }
    t.is((await stat(INCOMING)).mtimeMs, NOW * 1000);
    t.deepEqual(captured.lines, [
      `warning: flush_one_file: update ${DEFERRED} time stamps: Not a directory`,
      'warning: flush_one_file: update deferred/3/3ABSENT time stamps: Not a directory',
    ]);
  });
});
