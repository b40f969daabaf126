/*
 * install.test.ts - `fastflush install` / `uninstall` on throw-away Postfix
 * configuration directories (no Postfix needs to run): what is written where,
 * byte-identical restoration, idempotence, the refusals that leave master.cf
 * alone, and the roll-back when the master.cf edit fails. Plus the pure parts
 * (install-plan.ts): restoring around unrelated edits, and the launcher
 * script run by sh with awkward paths and no PATH.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import {
  chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { installedText, launcherScript, restoredText, findServiceEntries } from '../../src/cli/install-plan.js';
import { installFastflush } from '../../src/cli/install.js';
import { lookupUser } from '../../src/lifecycle/privileges.js';
import { FatalError } from '../../src/util/msg.js';
import { repoRoot } from '../helpers/paths.js';
import { captureLog, scratchDir } from './support.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');
const DAEMON = join(repoRoot, 'dist/bundle/flush/daemon.cjs');

/** Debian's layout around the flush line, with a continued entry and comments. */
const MASTER_CF = `#
# Postfix master process configuration file.
# ==========================================================================
# service type  private unpriv  chroot  wakeup  maxproc command + args
#               (yes)   (yes)   (no)    (never) (100)
# ==========================================================================
smtp      inet  n       -       y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
pickup    unix  n       -       y       60      1       pickup
qmgr      unix  n       -       n       300     1       qmgr
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/** A user that may own the queue: root cannot be mail_owner. */
const OWNER = userInfo().uid === 0 ? 'nobody' : userInfo().username;

interface Target {
  dir: string;
  etc: string;
  masterCf: string;
  libexec: string;
  launcher: string;
  backup: string;
}

function makeTarget(t: ExecutionContext, masterCf = MASTER_CF, mainCfExtra = ''): Target {
  const dir = scratchDir(t);
  const etc = join(dir, 'etc');
  const libexec = join(dir, 'libexec');
  const spool = join(dir, 'spool');
  for (const d of [etc, libexec, join(spool, 'flush')]) mkdirSync(d, { recursive: true });
  const owner = lookupUser(OWNER);
  if (owner !== undefined && userInfo().uid === 0) chownSync(join(spool, 'flush'), owner.uid, owner.gid);
  chmodSync(join(spool, 'flush'), 0o700);
  writeFileSync(join(etc, 'main.cf'), `compatibility_level = 3.6
daemon_directory = ${libexec}
command_directory = ${join(dir, 'no-commands')}
queue_directory = ${spool}
mail_owner = ${OWNER}
${mainCfExtra}`);
  writeFileSync(join(etc, 'master.cf'), masterCf, { encoding: 'latin1', mode: 0o644 });
  return {
    dir, etc, masterCf: join(etc, 'master.cf'), libexec,
    launcher: join(libexec, 'fastflush-flush'), backup: join(etc, 'master.cf.fastflush-backup'),
  };
}

/** Runs the command in a child process (asynchronously, so the tests run side by side). */
function cli(target: Target, ...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '-c', target.etc, ...args], { encoding: 'utf8' }, (error, _stdout, stderr) => {
      resolve({ status: error === null ? 0 : (error.code as number | null), stderr });
    });
  });
}

/** Every file under the target, with its contents: what a refusal must leave alone. */
function snapshot(target: Target): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of ['etc', 'libexec']) {
    for (const name of readdirSync(join(target.dir, sub))) out[`${sub}/${name}`] = readFileSync(join(target.dir, sub, name), 'latin1');
  }
  return out;
}

const flushLine = (text: string): string | undefined => text.split('\n').find((line) => line.startsWith('flush '));

test('install switches only the flush entry; uninstall restores the file byte for byte; both idempotent', async (t) => {
  const target = makeTarget(t);
  const installed = await cli(target, 'install');
  t.is(installed.status, 0, installed.stderr);
  t.regex(installed.stderr, /flush\/unix now runs fastflush-flush/);

  const after = readFileSync(target.masterCf, 'latin1');
  t.is(flushLine(after), 'flush      unix  n       -       y       1000?   0       fastflush-flush');
  t.deepEqual(after.split('\n').filter((l) => !l.startsWith('flush ')), MASTER_CF.split('\n').filter((l) => !l.startsWith('flush ')));
  t.is(readFileSync(target.backup, 'latin1'), MASTER_CF);
  t.is(statSync(target.backup).mode & 0o777, 0o644);
  const launcher = readFileSync(target.launcher, 'utf8');
  t.true(launcher.includes(`'${DAEMON}'`), launcher);
  t.is(statSync(target.launcher).mode & 0o777, 0o755);

  // Again, after the repository moved: only the launcher is brought up to date.
  writeFileSync(target.launcher, launcher.replace(DAEMON, '/old/place/daemon.js'));
  const again = await cli(target, 'install');
  t.is(again.status, 0, again.stderr);
  t.regex(again.stderr, /updated .*fastflush-flush[^]*already runs fastflush-flush/);
  t.is(readFileSync(target.launcher, 'utf8'), launcher);
  t.is(readFileSync(target.masterCf, 'latin1'), after);

  const removed = await cli(target, 'uninstall');
  t.is(removed.status, 0, removed.stderr);
  t.is(readFileSync(target.masterCf, 'latin1'), MASTER_CF);
  t.false(existsSync(target.backup));
  t.false(existsSync(target.launcher));

  const twice = await cli(target, 'uninstall');
  t.is(twice.status, 0, twice.stderr);
  t.regex(twice.stderr, /fastflush is not installed/);
  t.is(readFileSync(target.masterCf, 'latin1'), MASTER_CF);
});

test('a continued flush entry keeps its arguments, and comes back with its comments and layout', async (t) => {
  const original = MASTER_CF.replace(/^flush .*\n/m, `flush     unix  n       -       y       1000?   0       flush
# a comment inside the entry
    -o max_use=1000
\t-o { fast_flush_refresh_time = 1h }
`);
  const target = makeTarget(t, original);
  t.is((await cli(target, 'install')).status, 0);
  t.is(flushLine(readFileSync(target.masterCf, 'latin1')), 'flush      unix  n       -       y       1000?   0       fastflush-flush');
  const [entry] = findServiceEntries(readFileSync(target.masterCf, 'latin1'), 'master.cf', 'flush', 'unix');
  t.deepEqual(entry?.argv.slice(7), ['fastflush-flush', '-o', 'max_use=1000', '-o', 'fast_flush_refresh_time=1h']);
  t.is((await cli(target, 'uninstall')).status, 0);
  t.is(readFileSync(target.masterCf, 'latin1'), original);
});

test('uninstall keeps edits made elsewhere in master.cf after the install', async (t) => {
  const target = makeTarget(t);
  t.is((await cli(target, 'install')).status, 0);
  const edited = readFileSync(target.masterCf, 'latin1').replace('pickup    unix  n       -       y       60',
    'pickup    unix  n       -       n       60') + 'extra     unix  -       -       n       -       -       error\n';
  writeFileSync(target.masterCf, edited, 'latin1');
  t.is((await cli(target, 'uninstall')).status, 0);
  const restored = readFileSync(target.masterCf, 'latin1');
  t.is(flushLine(restored), 'flush     unix  n       -       y       1000?   0       flush');
  t.true(restored.includes('pickup    unix  n       -       n       60'));
  t.true(restored.endsWith('extra     unix  -       -       n       -       -       error\n'));
});

test('uninstall refuses when the installed entry itself was changed', async (t) => {
  const target = makeTarget(t);
  t.is((await cli(target, 'install')).status, 0);
  const changed = readFileSync(target.masterCf, 'latin1').replace('fastflush-flush', 'fastflush-flush -o max_use=5');
  writeFileSync(target.masterCf, changed, 'latin1');
  const r = await cli(target, 'uninstall');
  t.is(r.status, 1);
  t.regex(r.stderr, /fatal: .*the flush\/unix entry changed after fastflush install; restore it by hand from .*backup/);
  t.is(readFileSync(target.masterCf, 'latin1'), changed);
  t.true(existsSync(target.backup));
});

const refusals: Array<[string, (target: Target) => void, RegExp]> = [
  ['no main.cf', (target) => rmSync(join(target.etc, 'main.cf')), /is not a Postfix configuration directory: no main\.cf/],
  ['no master.cf', (target) => rmSync(target.masterCf), /is not a Postfix configuration directory: no master\.cf/],
  ['no flush entry', (target) => writeFileSync(target.masterCf, MASTER_CF.replace(/^flush .*\n/m, '')),
    /no flush\/unix service entry; is this Postfix's master\.cf\?/],
  ['two flush entries', (target) => writeFileSync(target.masterCf, `${MASTER_CF}flush unix n - n 1000? 0 flush\n`),
    /2 flush\/unix service entries \(lines 12, 19\)/],
  ['a broken flush entry', (target) => writeFileSync(target.masterCf, MASTER_CF.replace('1000?   0', 'often   0')),
    /invalid wakeup field "often"/],
  ['unknown mail_owner', (target) => writeFileSync(join(target.etc, 'main.cf'),
    `${readFileSync(join(target.etc, 'main.cf'), 'utf8')}mail_owner = no-such-user-here\n`),
  /parameter mail_owner: unknown user name value: no-such-user-here/],
  ['root as mail_owner', (target) => writeFileSync(join(target.etc, 'main.cf'),
    `${readFileSync(join(target.etc, 'main.cf'), 'utf8')}mail_owner = root\n`),
  /parameter mail_owner: user root has privileged user ID/],
  ['a flush directory mail_owner cannot write', (target) => chmodSync(join(target.dir, 'spool', 'flush'), 0o500),
    /spool\/flush is not a directory that mail_owner \S+ can write \(uid \d+, mode 500\); run: postfix -c .* set-permissions/],
  ['no queue directory', (target) => writeFileSync(join(target.etc, 'main.cf'),
    `${readFileSync(join(target.etc, 'main.cf'), 'utf8')}queue_directory = ${join(target.dir, 'nowhere')}\n`),
  /queue_directory .*nowhere: not a directory/],
  ['no daemon directory', (target) => writeFileSync(join(target.etc, 'main.cf'),
    `${readFileSync(join(target.etc, 'main.cf'), 'utf8')}daemon_directory = ${join(target.dir, 'nowhere')}\n`),
  /daemon_directory .*nowhere: not a directory/],
  ['somebody else\'s fastflush-flush', (target) => writeFileSync(join(target.libexec, 'fastflush-flush'), '#!/bin/sh\nexit 1\n'),
    /fastflush-flush exists and was not written by fastflush install; not replacing it/],
];

for (const [name, breakIt, message] of refusals) {
  test(`install refuses, changing nothing: ${name}`, async (t) => {
    const target = makeTarget(t);
    breakIt(target);
    const before = snapshot(target);
    const r = await cli(target, 'install');
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr, /^fastflush: fatal: /m);
    t.regex(r.stderr, message);
    t.deepEqual(snapshot(target), before);
  });
}

test('a failed master.cf edit takes back the launcher and the backup', async (t) => {
  const target = makeTarget(t);
  // postconf's editor writes master.cf.tmp first; a directory in its way makes it fail.
  mkdirSync(join(target.etc, 'master.cf.tmp'));
  const r = await cli(target, 'install');
  t.is(r.status, 1);
  t.regex(r.stderr, /fatal: open .*master\.cf\.tmp: Is a directory/);
  t.is(readFileSync(target.masterCf, 'latin1'), MASTER_CF);
  t.false(existsSync(target.backup));
  t.false(existsSync(target.launcher));
});

test.serial('without postconf(1), fastflush reads main.cf itself', async (t) => {
  const target = makeTarget(t);
  captureLog(t);
  installFastflush({ configDir: target.etc, postconfCandidates: [] });
  t.true(existsSync(target.launcher));
  t.is(flushLine(readFileSync(target.masterCf, 'latin1')), 'flush      unix  n       -       y       1000?   0       fastflush-flush');
  const error = t.throws(() => installFastflush({ configDir: join(target.dir, 'none'), postconfCandidates: [] }));
  t.true(error instanceof FatalError);
});

test('restoredText: the backup when nothing else changed, else only the replaced lines; null when they are gone', async (t) => {
  const backup = 'a unix - - n - - a\nflush unix n - y 1000? 0 flush\n  -o x=1\nz unix - - n - - z\n';
  const [entry] = findServiceEntries(backup, 'm', 'flush', 'unix');
  const installed = installedText(backup, 'm', entry!, () => {});
  t.is(installed, 'a unix - - n - - a\nflush      unix  n       -       y       1000?   0       fastflush-flush\n    -o x=1\nz unix - - n - - z\n');
  t.is(restoredText(installed, backup, installed), backup);
  t.is(restoredText(`# new\n${installed}more unix - - n - - more\n`, backup, installed),
    `# new\n${backup}more unix - - n - - more\n`);
  t.is(restoredText(installed.replace('x=1', 'x=2'), backup, installed), null);
  t.is(restoredText(installed + installed, backup, installed), null);
});

test('the launcher execs node by absolute path with its options, without PATH, passing the arguments and the process name', async (t) => {
  const dir = scratchDir(t);
  const odd = join(dir, "it's a dir");
  mkdirSync(odd);
  const fakeNode = join(odd, 'node');
  writeFileSync(fakeNode, '#!/bin/sh\nprintf "%s|" "$FASTFLUSH_PROCESS_NAME" "$@"\n', { mode: 0o755 });
  const launcher = join(dir, 'fastflush-flush');
  writeFileSync(launcher, launcherScript(fakeNode, ['--single-threaded-gc', '--a=b c'], join(odd, 'daemon.js')), { mode: 0o755 });
  const r = spawnSync(launcher, ['-z', '-n', 'flush', '-t', 'unix', '-u'], { env: {}, encoding: 'utf8' });
  t.is(r.stdout, `flush|--single-threaded-gc|--a=b c|${join(odd, 'daemon.js')}|-z|-n|flush|-t|unix|-u|`);
});
