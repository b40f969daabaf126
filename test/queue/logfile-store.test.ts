/*
 * logfile-store.test.ts - appendQueueId and openLogfileForSend: file and
 * directory modes, round trips, line splitting of corrupt content, large
 * files, bounded memory on a pathological line, locking against other
 * processes and within the process, group commit of concurrent adds, the
 * rollback of failed writes (injected, and on a full tmpfs when we may mount
 * one), and Postfix's log texts.
 */
import test from 'ava';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
  ftruncateSync,
  writeSync,
  unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile, stat, utimes } from 'node:fs/promises';
import { appendQueueId, openLogfileForSend, MAX_KEPT_LINE, type LogfileHandle } from '../../src/queue/logfile-store.js';
import { FatalError } from '../../src/util/msg.js';
import { gatedTests, type Requirement } from '../helpers/requirements.js';
import { captureMsgs, holdLocks, inScratchDir, spyOnFs } from './helpers.js';

function readAllLines(handle: LogfileHandle): string[] {
  return [...handle.lines()];
}

async function sendLines(relPath: string): Promise<string[]> {
  const handle = await openLogfileForSend(relPath);
  if (handle === null) throw new Error(`${relPath} absent`);
  try {
    return readAllLines(handle);
  } finally {
    handle.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function lockIsFree(path: string): Promise<boolean> {
  return new Promise((resolve) => execFile('/usr/bin/flock', ['-n', '-x', path, 'true'], (error) => resolve(error === null)));
}

test.serial('append creates the logfile 0600 and missing hash directories 0700', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush', { mode: 0o700 });
    const previousUmask = process.umask(0o077); // master gives its children umask 077
    try {
      await appendQueueId('flush/example_com', '3F2A1B4C5D');
      await appendQueueId('flush/e/x/example_com', '3F2A1B4C5D');
    } finally {
      process.umask(previousUmask);
    }
    t.is((await stat('flush/example_com')).mode & 0o7777, 0o600);
    t.is((await stat('flush/e/x/example_com')).mode & 0o7777, 0o600);
    t.is((await stat('flush/e')).mode & 0o7777, 0o700);
    t.is((await stat('flush/e/x')).mode & 0o7777, 0o700);
    t.is(await readFile('flush/e/x/example_com', 'latin1'), '3F2A1B4C5D\n');
  });
});

test.serial('append then send: round trip, duplicates kept, truncate, touch, unlock', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    const ids = ['8612B2120E8', '841E12120E6', '8612B2120E8', '4dQ8Kc1mB4zJrQ'];
    for (const id of ids) await appendQueueId('flush/example_test', id);
    t.is(await readFile('flush/example_test', 'latin1'), ids.map((id) => `${id}\n`).join(''));

    const old = new Date('2020-01-01T00:00:00Z');
    await utimes('flush/example_test', old, old);
    const handle = await openLogfileForSend('flush/example_test');
    if (handle === null) return t.fail('logfile absent');
    t.is(handle.name, 'example_test');
    t.false(await lockIsFree('flush/example_test'));
    t.deepEqual(readAllLines(handle), ids);
    handle.truncate();
    handle.touch();
    handle.close();
    t.true(await lockIsFree('flush/example_test'));
    const after = await stat('flush/example_test');
    t.is(after.size, 0);
    t.true(Math.abs(after.atimeMs - Date.now()) < 5000);
    t.true(Math.abs(after.mtimeMs - Date.now()) < 5000);
  });
});

test.serial('send on a missing logfile reports absence without creating it', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    t.is(await openLogfileForSend('flush/nothing_here'), null);
    t.is(await openLogfileForSend('flush/n/o/nothing_here'), null);
    await t.throwsAsync(stat('flush/nothing_here'));
  });
});

test.serial('touch without reading still updates the time stamps of an empty logfile', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    writeFileSync('flush/empty', '');
    const old = new Date('2020-01-01T00:00:00Z');
    await utimes('flush/empty', old, old);
    const handle = await openLogfileForSend('flush/empty');
    if (handle === null) return t.fail('logfile absent');
    t.deepEqual(readAllLines(handle), []);
    handle.touch();
    handle.close();
    t.true((await stat('flush/empty')).atime.getFullYear() > 2020);
  });
});

test.serial('corrupt content: empty lines, CR kept, NUL ends a line, last line without LF', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    writeFileSync('flush/corrupt', Buffer.from('A1\n\nB 2\r\nC3\0junk\n\xe9t\xe9\nbad.id\n\0\nlast_no_lf', 'latin1'));
    t.deepEqual(await sendLines('flush/corrupt'), ['A1', '', 'B 2\r', 'C3', '\xe9t\xe9', 'bad.id', '', 'last_no_lf']);
    writeFileSync('flush/onlylf', '\n');
    t.deepEqual(await sendLines('flush/onlylf'), ['']);
  });
});

test.serial('long lines are cut at MAX_KEPT_LINE bytes, also across read chunks', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    const long = 'Q'.repeat(200_000);
    writeFileSync('flush/long', `${long}\nAFTER\n${'R'.repeat(256)}\n${'S'.repeat(255)}\n`);
    const lines = await sendLines('flush/long');
    t.deepEqual(lines, ['Q'.repeat(MAX_KEPT_LINE), 'AFTER', 'R'.repeat(256), 'S'.repeat(255)]);
    t.is(MAX_KEPT_LINE, 256);
  });
});

/** The lines as LogfileHandle.lines() documents them, from the whole text at once. */
function referenceLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => {
    const nul = line.indexOf('\0');
    return (nul < 0 ? line : line.slice(0, nul)).slice(0, MAX_KEPT_LINE);
  });
}

test.serial('any content, across read chunks, reads as the documented lines (property)', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    const piece = fc.oneof(
      fc.constantFrom('\n', '\0', '\r', '\xe9', 'A'),
      fc.string({ unit: fc.constantFrom('B', '7', '\0'), maxLength: 40 }),
      fc.nat({ max: 400 }).map((length) => 'L'.repeat(length)),
    );
    await fc.assert(fc.asyncProperty(fc.array(piece, { maxLength: 600 }), async (pieces) => {
      // Repeated so that most runs cross the 64 KiB read chunk, at varying offsets.
      const text = pieces.join('').repeat(pieces.length % 7 === 0 ? 1 : 40);
      writeFileSync('flush/prop', Buffer.from(text, 'latin1'));
      t.deepEqual(await sendLines('flush/prop'), referenceLines(text));
    }), { numRuns: 60, seed: 20261203 });
  });
});

test.serial('10,000 lines stream in order', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    const ids = Array.from({ length: 10_000 }, (_, i) => `${(0x10000 + i).toString(16).toUpperCase()}ABC${i}`);
    writeFileSync('flush/big', ids.map((id) => `${id}\n`).join(''));
    const lines = await sendLines('flush/big');
    t.is(lines.length, 10_000);
    t.deepEqual(lines, ids);
  });
});

test.serial('a pathological 1 GB line is streamed in bounded memory', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    // A sparse file: 300 'P's, then ~1 GB of NUL bytes (no disk use), then one more line.
    const size = 1024 * 1024 * 1024;
    const fd = openSync('flush/huge', 'w');
    writeSync(fd, 'P'.repeat(300));
    ftruncateSync(fd, size);
    writeSync(fd, '\nTAIL_ID\n', size);
    closeSync(fd);
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const lines = await sendLines('flush/huge');
    clearInterval(sampler);
    t.deepEqual(lines, ['P'.repeat(MAX_KEPT_LINE), 'TAIL_ID']);
    t.true(peakRss - rssBefore < 100 * 1024 * 1024, `RSS grew by ${(peakRss - rssBefore) >> 20} MB`);
  });
});

test.serial('append waits for a C-style lock held by another process', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    writeFileSync('flush/example_com', 'OLD1\n');
    const holder = await holdLocks(['flush/example_com']);
    let done = false;
    const appending = appendQueueId('flush/example_com', 'NEW2').then(() => {
      done = true;
    });
    let timerFired = false;
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        timerFired = true;
        resolve();
      }, 200),
    );
    t.true(timerFired);
    t.false(done);
    t.is(await readFile('flush/example_com', 'latin1'), 'OLD1\n');
    await holder.release();
    await appending;
    t.is(await readFile('flush/example_com', 'latin1'), 'OLD1\nNEW2\n');
  });
});

test.serial('an append in the same process waits until a send has closed the logfile', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    writeFileSync('flush/site', 'ID1\n');
    const handle = await openLogfileForSend('flush/site');
    if (handle === null) return t.fail('logfile absent');
    const appending = appendQueueId('flush/site', 'ID2');
    t.deepEqual(readAllLines(handle), ['ID1']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    handle.truncate();
    handle.close();
    await appending;
    // The new ID was appended after the truncation, so it is not lost.
    t.is(await readFile('flush/site', 'latin1'), 'ID2\n');
  });
});

test.serial('open failures are fatal with Postfix texts and the bare logfile name', async (t) => {
  await inScratchDir(async () => {
    writeFileSync('flush', 'not a directory');
    await t.throwsAsync(appendQueueId('flush/example_com', 'ABC'), {
      instanceOf: FatalError,
      message: 'flush_add_path: open fast flush logfile example_com: Not a directory',
    });
    await t.throwsAsync(openLogfileForSend('flush/example_com'), {
      instanceOf: FatalError,
      message: 'flush_send_path: open fast flush logfile example_com: Not a directory',
    });
  });
  await inScratchDir(async () => {
    mkdirSync('flush/adir', { recursive: true });
    await t.throwsAsync(openLogfileForSend('flush/adir'), {
      instanceOf: FatalError,
      message: 'flush_send_path: open fast flush logfile adir: Is a directory',
    });
  });
});

test.serial('a failed write is a warning and the append still unlocks and closes', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    symlinkSync('/dev/full', 'flush/full');
    const captured = captureMsgs();
    try {
      t.false(await appendQueueId('flush/full', 'ABC'));
    } finally {
      captured.stop();
    }
    t.deepEqual(captured.lines, ['warning: write fast flush logfile full: No space left on device']);
    // Unlocked and closed: the next add gets the lock at once.
    t.false(await appendQueueId('flush/full', 'DEF'));
  });
});

test.serial('an id is not lost when the logfile is removed between our open and our lock', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush', { mode: 0o700 });
    writeFileSync('flush/example_com', '', { mode: 0o600 });
    // A C flush (flock(1) here) holds the lock while a refresh unlinks the empty file.
    const holder = await holdLocks(['flush/example_com']);
    const appending = appendQueueId('flush/example_com', 'SAVED1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    unlinkSync('flush/example_com');
    await holder.release();
    await appending;
    t.is(await readFile('flush/example_com', 'latin1'), 'SAVED1\n');
  });
});

test.serial('concurrent adds to one logfile share one open and one write, lines in arrival order', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    const ids = Array.from({ length: 32 }, (_, i) => `GROUP${i}`);
    const opens = spyOnFs('openSync');
    const writes = spyOnFs('writeSync');
    let results: boolean[];
    try {
      results = await Promise.all(ids.map((id) => appendQueueId('flush/site', id)));
    } finally {
      opens.restore();
      writes.restore();
    }
    t.deepEqual(results, ids.map(() => true));
    t.is(readFileSync('flush/site', 'latin1'), ids.map((id) => `${id}\n`).join(''));
    t.deepEqual(opens.calls, ['flush/site']);
    t.is(writes.calls.length, 1);
  });
});

test.serial('adds from separate callbacks of one event-loop turn share one commit; the next turn starts a new one', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    const writes = spyOnFs('writeSync');
    let results: boolean[];
    let later: boolean;
    try {
      // As when several client sockets become readable together: each request is handled in
      // its own callback, with the promise reactions of the one before already run.
      const first = appendQueueId('flush/site', 'TURN1');
      for (let i = 0; i < 5; i++) await Promise.resolve();
      const second = appendQueueId('flush/site', 'TURN2');
      results = await Promise.all([first, second]);
      later = await appendQueueId('flush/site', 'NEXT1');
    } finally {
      writes.restore();
    }
    t.deepEqual(results, [true, true]);
    t.true(later);
    t.is(readFileSync('flush/site', 'latin1'), 'TURN1\nTURN2\nNEXT1\n');
    t.is(writes.calls.length, 2);
  });
});

test.serial('adds arriving while another process holds the lock go in together, each answered after its line is in', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    writeFileSync('flush/site', 'OLD1\n');
    const holder = await holdLocks(['flush/site']);
    const writes = spyOnFs('writeSync');
    const answered: string[] = [];
    const appends: Promise<void>[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const id = `WAIT${i}`;
        appends.push(
          appendQueueId('flush/site', id).then((written) => {
            t.true(written);
            // The reply may only go out once this id is really in the file.
            t.true(readFileSync('flush/site', 'latin1').includes(`${id}\n`));
            answered.push(id);
          }),
        );
        await sleep(20); // separate arrivals, as from separate clients
      }
      await sleep(100);
      t.deepEqual(answered, []);
      t.is(readFileSync('flush/site', 'latin1'), 'OLD1\n');
      await holder.release();
      await Promise.all(appends);
    } finally {
      writes.restore();
    }
    t.deepEqual(answered, ['WAIT0', 'WAIT1', 'WAIT2', 'WAIT3', 'WAIT4']);
    t.is(readFileSync('flush/site', 'latin1'), 'OLD1\nWAIT0\nWAIT1\nWAIT2\nWAIT3\nWAIT4\n');
    t.is(writes.calls.length, 1);
  });
});

test.serial('adds during a send of this process go in as one batch after the truncate', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    writeFileSync('flush/site', 'SENT1\n');
    const handle = await openLogfileForSend('flush/site');
    if (handle === null) return t.fail('logfile absent');
    const writes = spyOnFs('writeSync');
    try {
      const appending = Promise.all(['NEW1', 'NEW2', 'NEW3'].map((id) => appendQueueId('flush/site', id)));
      await sleep(50);
      t.deepEqual(readAllLines(handle), ['SENT1']);
      handle.truncate();
      handle.close();
      t.deepEqual(await appending, [true, true, true]);
    } finally {
      writes.restore();
    }
    t.is(readFileSync('flush/site', 'latin1'), 'NEW1\nNEW2\nNEW3\n');
    t.is(writes.calls.length, 1);
  });
});

test.serial('a short write followed by a failure is cut back to the old size; the adds answer false', async (t) => {
  await inScratchDir(async () => {
    mkdirSync('flush');
    writeFileSync('flush/site', 'OLD1\n');
    let attempts = 0;
    const writes = spyOnFs('writeSync', (original, args) => {
      attempts++;
      const [fd, buffer, offset, length] = args as [number, Buffer, number, number];
      if (attempts === 1) return original(fd, buffer, offset, Math.min(length, 7)); // "PART1\nP"
      throw Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' });
    });
    const captured = captureMsgs();
    let results: boolean[];
    try {
      results = await Promise.all(['PART1', 'PART2'].map((id) => appendQueueId('flush/site', id)));
    } finally {
      writes.restore();
      captured.stop();
    }
    t.deepEqual(results, [false, false]);
    t.is(attempts, 2);
    t.is(readFileSync('flush/site', 'latin1'), 'OLD1\n');
    t.deepEqual(captured.lines, ['warning: write fast flush logfile site: Disk quota exceeded']);
    t.true(await appendQueueId('flush/site', 'LATER1'));
    t.is(readFileSync('flush/site', 'latin1'), 'OLD1\nLATER1\n');
  });
});

const tmpfsMount: Requirement = {
  what: 'mounting a tmpfs (root)',
  missing(): string | null {
    if (process.getuid?.() !== 0) return 'not running as root';
    const dir = mkdtempSync(join(tmpdir(), 'ff-tmpfs-probe-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
      execFileSync('umount', [dir], { stdio: 'pipe' });
      return null;
    } catch (error) {
      return `mount -t tmpfs failed: ${(error as Error).message}`;
    } finally {
      rmdirSync(dir);
    }
  },
};
const withTmpfs = gatedTests(tmpfsMount);

withTmpfs.serial('on a full file system an add leaves no partial line behind and answers false', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ff-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
  const previous = process.cwd();
  try {
    process.chdir(dir);
    mkdirSync('flush');
    // 4000 bytes: the logfile's page has 96 bytes left, and the file system none.
    const before = 'OLD1\n'.repeat(800);
    writeFileSync('flush/site', before);
    const filler = openSync('filler', 'w');
    const page = Buffer.alloc(4096, 0x46);
    t.throws(
      () => {
        for (;;) writeSync(filler, page);
      },
      { code: 'ENOSPC' },
    );
    closeSync(filler);
    // 20 lines of 11 bytes: the first 96 bytes fit, the rest does not.
    const ids = Array.from({ length: 20 }, (_, i) => `FULL${String(i).padStart(6, '0')}`);
    const captured = captureMsgs();
    let results: boolean[];
    try {
      results = await Promise.all(ids.map((id) => appendQueueId('flush/site', id)));
    } finally {
      captured.stop();
    }
    t.deepEqual(results, ids.map(() => false));
    t.is(readFileSync('flush/site', 'latin1'), before);
    t.deepEqual(captured.lines, ['warning: write fast flush logfile site: No space left on device']);
    unlinkSync('filler');
    t.true(await appendQueueId('flush/site', 'ROOM1'));
    t.is(readFileSync('flush/site', 'latin1'), `${before}ROOM1\n`);
  } finally {
    process.chdir(previous);
    execFileSync('umount', [dir], { stdio: 'pipe' });
    rmdirSync(dir);
  }
});
