/*
 * production.test.ts - fastflush as an administrator deploys it, on a private real-Postfix
 * instance whose flush entry has the columns of Debian's packaged master.cf (chroot y):
 *   - `fastflush install --restart` switches the entry to the launcher; deferrals, postqueue -s
 *     and reload-driven recycling work; the daemon runs in the queue directory jail as
 *     mail_owner; its warnings reach the maillog through postlogd exactly as the C daemon's;
 *     `fastflush uninstall --restart` gives back the C daemon with master.cf byte-identical.
 *   - Under strace, the chrooted daemon uses no absolute path after its chroot() and no open
 *     fails there except for queue files that do not exist.
 *   - Bad setups: install refuses without touching anything; a daemon that cannot work logs
 *     a fatal line, exits non-zero, and master's throttling keeps it from being respawned.
 * The instance has its own daemon_directory (copies of Postfix's programs), so the launcher
 * never lands in the system's.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { PostfixInstance } from '../helpers/postfix-instance.js';
import { sleep, startInstance, waitFor } from '../helpers/postfix-instance.js';
import { deferMail, waitActivations, waitRelogged } from '../helpers/postfix-scenario.js';
import { repoRoot } from '../helpers/paths.js';
import { REAL_POSTFIX, withPostfix } from '../helpers/postfix-variants.js';
import { gatedTests } from '../helpers/requirements.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');
/** What master runs through the launcher: the one-file daemon bundle. */
const DAEMON = join(repoRoot, 'dist/bundle/flush/daemon.cjs');
const SITE = 'example.test';
/** Debian's packaged flush entry: unprivileged, chrooted. */
const DEBIAN_FLUSH = { flushChroot: 'y', privateDaemonDirectory: true } as const;

/** `fastflush -c etcDir args...` */
function fastflush(etcDir: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '-c', etcDir, ...args], { encoding: 'utf8' }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : (error.code as number), stderr });
    });
  });
}

function masterCf(pf: PostfixInstance): string {
  return readFileSync(join(pf.etcDir, 'master.cf'), 'latin1');
}

interface DaemonProcess {
  pid: number;
  root: string;
  /** Real, effective, saved and file-system ids, as /proc/PID/status lists them. */
  uids: number[];
  gids: number[];
  groups: number[];
}

function statusIds(status: string, field: string): number[] {
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`)) ?? '';
  return line.slice(field.length + 1).trim().split(/\s+/).filter(Boolean).map(Number);
}

/** fastflush daemons of this instance: node running daemon.js with the spool as cwd or root. */
function fastflushDaemons(pf: PostfixInstance): DaemonProcess[] {
  const found: DaemonProcess[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').includes(DAEMON)) continue;
      const root = readlinkSync(`/proc/${entry}/root`);
      if (root !== pf.spoolDir && readlinkSync(`/proc/${entry}/cwd`) !== pf.spoolDir) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'latin1');
      found.push({
        pid: Number(entry), root, uids: statusIds(status, 'Uid'), gids: statusIds(status, 'Gid'), groups: statusIds(status, 'Groups'),
      });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** A maillog line without its time stamp and pid, for comparing two programs' records of one event. */
function withoutTimeAndPid(line: string): string {
  return line.replace(/^[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d /, '').replace(/\[\d+\]: /, '[]: ');
}

function maillogLines(pf: PostfixInstance, pattern: RegExp): string[] {
  return pf.maillog().split('\n').filter((line) => pattern.test(line));
}

/** A send_site request that makes the flush daemon warn about a bad queue id in its logfile. */
async function provokeBadIdWarning(t: ExecutionContext, pf: PostfixInstance, marker: string): Promise<string> {
  pf.writeLogfile('warn_example_test', 'bad/id\n');
  const r = await pf.postqueue(['-s', `warn.${SITE}`]);
  t.is(r.code, 0, r.stderr);
  await pf.logMarker(marker);
  const lines = maillogLines(pf, /\/flush\[\d+\]: warning: bad queue id/);
  t.is(lines.length > 0, true, 'the flush daemon logged the bad queue id');
  return lines[lines.length - 1] as string;
}

/**
 * Changes a main.cf setting in place. (A second setting of the same name would make every
 * daemon warn; postlogd sends its own warnings to its own socket, and can wedge on them.)
 */
function setMainCf(etcDir: string, name: string, value: string): void {
  const path = join(etcDir, 'main.cf');
  const text = readFileSync(path, 'utf8');
  const line = new RegExp(`^${name} = .*$`, 'm');
  writeFileSync(path, line.test(text) ? text.replace(line, `${name} = ${value}`) : `${text}${name} = ${value}\n`);
}

/** attr0 "add site queue_id". */
function addRequest(site: string, queueId: string): Buffer {
  return Buffer.from(`request\0add\0site\0${site}\0queue_id\0${queueId}\0\0`);
}

const STATUS_OK = Buffer.from('status\x000\0\0');
const STATUS_DENY = Buffer.from('status\x004\0\0');

withPostfix.serial('install into a chrooted flush entry: jail, flows, recycling, C-identical log lines, uninstall', async (t) => {
  const pf = await startInstance(t, { ...DEBIAN_FLUSH, sinkMode: 'defer' });
  const original = masterCf(pf);
  const launcher = join(pf.daemonDirectory, 'fastflush-flush');

  const cLine = await provokeBadIdWarning(t, pf, 'c-warning-done');

  const installed = await fastflush(pf.etcDir, 'install', '--restart');
  t.is(installed.code, 0, installed.stderr);
  t.true(existsSync(launcher));
  const changed = masterCf(pf).split('\n').filter((line, i) => line !== original.split('\n')[i]);
  t.deepEqual(changed, ['flush      unix  n       -       y       1000?   0       fastflush-flush']);

  // Deferral: smtp's "add" lands in the logfile; postqueue -s re-queues the mail.
  const ids = await deferMail(pf, 2, `rcpt@${SITE}`);
  const r = await pf.postqueue(['-s', SITE]);
  t.is(r.code, 0, r.stderr);
  await waitActivations(pf, ids, 2);
  await waitRelogged(pf, SITE, ids, 1);

  // The jail: root directory = queue directory, every id = mail_owner's, its groups only.
  const groups = spawnSync('id', ['-G', 'postfix'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number).sort();
  const daemons = await waitFor(() => {
    const found = fastflushDaemons(pf);
    return found.length > 0 && found.every((d) => d.root === pf.spoolDir) ? found : null;
  }, 10_000, 'fastflush daemons in their chroot jail');
  for (const d of daemons) {
    t.deepEqual(d.uids, [pf.postfixUid, pf.postfixUid, pf.postfixUid, pf.postfixUid], `uids of ${d.pid}`);
    t.deepEqual(d.gids, [pf.postfixGid, pf.postfixGid, pf.postfixGid, pf.postfixGid], `gids of ${d.pid}`);
    t.deepEqual([...d.groups].sort(), groups, `supplementary groups of ${d.pid}`);
  }

  // A warning reaches the maillog through postlogd exactly as the C daemon's.
  const ourLine = await provokeBadIdWarning(t, pf, 'fastflush-warning-done');
  t.not(ourLine, cLine);
  t.is(withoutTimeAndPid(ourLine), withoutTimeAndPid(cLine));

  // Recycling: a reload makes the running daemons exit cleanly; new ones read the new main.cf.
  t.deepEqual((await pf.rawFlush(addRequest('other.test', 'ABCDEF1'))).reply, STATUS_DENY);
  const before = fastflushDaemons(pf).map((d) => d.pid);
  setMainCf(pf.etcDir, 'fast_flush_domains', `${SITE}, other.test`);
  await pf.reload();
  await waitFor(() => before.every((pid) => !existsSync(`/proc/${pid}/status`) || /State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'latin1'))),
    10_000, 'the daemons of the old generation to exit');
  t.deepEqual((await pf.rawFlush(addRequest('other.test', 'ABCDEF1'))).reply, STATUS_OK);
  t.deepEqual(pf.logfileIds('other.test'), ['ABCDEF1']);
  await pf.logMarker('reload-done');
  t.deepEqual(maillogLines(pf, /fastflush-flush(?: pid \d+ exit status|: bad command startup)|\/flush\[\d+\]: (fatal|panic)/), [],
    'no daemon ended abnormally');

  const removed = await fastflush(pf.etcDir, 'uninstall', '--restart');
  t.is(removed.code, 0, removed.stderr);
  t.is(masterCf(pf), original, 'master.cf byte-identical');
  t.false(existsSync(launcher));
  t.false(existsSync(join(pf.etcDir, 'master.cf.fastflush-backup')));

  // The C daemon serves again.
  const again = await pf.postqueue(['-s', SITE]);
  t.is(again.code, 0, again.stderr);
  await waitActivations(pf, ids, 3);
  t.deepEqual(fastflushDaemons(pf), []);
});

/**
 * A flush command that runs the daemon under strace: file-name system calls and connects, one
 * file per thread (so no call is split in two), trace.<daemon pid>.<thread id>, with times.
 */
function straceWrapper(pf: PostfixInstance, traceDir: string): string {
  const wrapper = join(pf.daemonDirectory, 'fastflush-strace');
  writeFileSync(wrapper, `#!/bin/sh
FASTFLUSH_PROCESS_NAME=flush
export FASTFLUSH_PROCESS_NAME
exec /usr/bin/strace -D -ff -qq -tt -e trace=%file,connect -o ${traceDir}/trace.$$ ${process.execPath} ${DAEMON} "$@"
`, { mode: 0o755 });
  return 'fastflush-strace';
}

/**
 * What the threads of one daemon did after its chroot() that is not allowed: use an absolute
 * path (other than the chdir("/") that completes the chroot), or fail on anything but a queue
 * path that may legitimately be missing. Times are "HH:MM:SS.micro" of one day.
 */
function problemsAfterChroot(threads: string[]): { chrooted: boolean; problems: string[] } {
  const lines = threads.flatMap((text) => text.split('\n')).filter((l) => l !== '');
  const chroot = lines.find((l) => / chroot\(/.test(l));
  if (chroot === undefined) return { chrooted: false, problems: [] };
  const since = chroot.slice(0, chroot.indexOf(' '));
  const problems = lines.filter((line) => {
    if (line.slice(0, line.indexOf(' ')) <= since) return false;
    const path = /"([^"]*)"/.exec(line)?.[1];
    if (path === undefined) return false;
    if (path.startsWith('/')) return !/ chdir\("\/"\)\s+= 0$/.test(line);
    return / = -1 E/.test(line) && !/^(flush|deferred|incoming)\//.test(path);
  });
  return { chrooted: true, problems };
}

const withStrace = gatedTests({
  what: 'real Postfix with strace',
  missing: () => REAL_POSTFIX.missing() ?? (existsSync('/usr/bin/strace') ? null : '/usr/bin/strace is not installed'),
});

withStrace.serial('after its chroot the daemon needs nothing outside the jail (strace)', async (t) => {
  const pf = await startInstance(t, { ...DEBIAN_FLUSH, sinkMode: 'defer' });
  const traceDir = join(pf.dir, 'log', 'strace');
  mkdirSync(traceDir);
  chmodSync(traceDir, 0o777);
  const command = straceWrapper(pf, traceDir);
  writeFileSync(join(pf.etcDir, 'master.cf'), masterCf(pf).replace(/^(flush .*?)flush$/m, `$1${command}`));
  await pf.restartAsIs();

  // add (deferral), send_site with and without a logfile, IDNA, a warning, send_file, refresh.
  const ids = await deferMail(pf, 1, `rcpt@${SITE}`);
  t.is((await pf.postqueue(['-s', SITE])).code, 0);
  t.is((await pf.postqueue(['-s', `nolog.${SITE}`])).code, 0);
  t.is((await pf.postqueue(['-i', ids[0] as string])).code, 0);
  const utf8Site = Buffer.concat([Buffer.from('request\0send_site\0site\0'), Buffer.from(`bücher.${SITE}`), Buffer.from('\0\0')]);
  t.deepEqual((await pf.rawFlush(utf8Site)).reply, STATUS_OK);
  t.deepEqual((await pf.rawFlush(addRequest('xn--a.example.test', 'ABCDEF2'))).reply, STATUS_DENY);
  t.deepEqual((await pf.rawFlush(Buffer.from('request\0rfrsh\0\0'))).reply, STATUS_OK);
  await pf.logMarker('strace-requests-done');
  t.true(maillogLines(pf, /\/flush\[\d+\]: warning: midna_domain_to_ascii_create/).length > 0, 'a warning was logged');

  const byDaemon = new Map<string, string[]>();
  for (const name of readdirSync(traceDir)) {
    const daemon = name.split('.')[1] as string;
    byDaemon.set(daemon, [...byDaemon.get(daemon) ?? [], readFileSync(join(traceDir, name), 'latin1')]);
  }
  const results = [...byDaemon.values()].map(problemsAfterChroot);
  t.true(results.some((r) => r.chrooted), `a daemon chrooted (${byDaemon.size} traced)`);
  t.deepEqual(results.flatMap((r) => r.problems), []);
});

/** Connect to public/flush and send `bytes`; the daemon may die before or while it answers. */
async function poke(pf: PostfixInstance, bytes: Buffer, timeoutMs: number): Promise<void> {
  try {
    await pf.rawFlush(bytes, { timeoutMs });
  } catch {
    // No announcement: the daemon died at start-up, which is what some cases expect.
  }
}

/**
 * The daemon fails: a fatal line, a non-zero exit, and master throttles the service instead of
 * starting it again and again: while throttled it spawns no daemon, whatever the clients do.
 * Daemons spawned before the throttle may still serve (and fail) one connection each: master
 * spawns one for its wakeup connection while the first is busy with ours.
 */
async function expectFatalAndThrottle(t: ExecutionContext, pf: PostfixInstance, fatal: string, bytes: Buffer): Promise<void> {
  const pidsOf = (pattern: RegExp): number[] => maillogLines(pf, pattern).map((line) => Number(pattern.exec(line)?.[1]));
  const fatalPids = (): number[] => pidsOf(/\/flush\[(\d+)\]: fatal: /);
  const exitPids = (): number[] => pidsOf(/fastflush-flush pid (\d+) exit status 1$/);
  const throttles = (): number => maillogLines(pf, /fastflush-flush: bad command startup -- throttling$/).length;
  const before = { fatals: fatalPids().length, throttles: throttles() };
  await poke(pf, bytes, 2000);
  await waitFor(() => throttles() > before.throttles, 15_000, 'master to throttle the flush service');
  const spawned = new Set([...fatalPids(), ...fastflushDaemons(pf).map((d) => d.pid)]);

  await poke(pf, bytes, 1000);
  // A fatal error pauses one second before the exit.
  await sleep(1500);
  const lines = maillogLines(pf, /\/flush\[\d+\]: fatal: /).slice(before.fatals);
  t.true(lines.length >= 1, 'a fatal line');
  t.true(lines.every((line) => line.endsWith(`: fatal: ${fatal}`)), lines.join('\n'));
  const failed = fatalPids().slice(before.fatals);
  t.true(failed.every((pid) => exitPids().includes(pid)), 'each failed daemon exited with status 1');
  t.true(failed.every((pid) => spawned.has(pid)), 'no daemon spawned while throttled');
}

withPostfix.serial('bad setups: install refuses and changes nothing; a failing daemon logs a fatal line and is throttled', async (t) => {
  // No wakeup column: master's first wakeup would race the request, and a wakeup the daemon
  // survives counts as a use, so the failing request would no longer be a bad start-up.
  const pf = await startInstance(t, { ...DEBIAN_FLUSH, flushWakeup: '0' });
  const original = masterCf(pf);
  const flushDir = join(pf.spoolDir, 'flush');

  // A copy of the configuration with a bad mail_owner, which the running Postfix must not see.
  const badEtc = join(pf.dir, 'etc-bad-owner');
  mkdirSync(badEtc);
  for (const file of ['main.cf', 'master.cf']) writeFileSync(join(badEtc, file), readFileSync(join(pf.etcDir, file)));
  setMainCf(badEtc, 'mail_owner', 'no-such-user');
  let r = await fastflush(badEtc, 'install');
  t.is(r.code, 1);
  t.regex(r.stderr, /fatal: file .*\/main\.cf: parameter mail_owner: unknown user name value: no-such-user/);
  t.is(readFileSync(join(badEtc, 'master.cf'), 'latin1'), original);
  t.deepEqual(readdirSync(badEtc).sort(), ['main.cf', 'master.cf']);

  chownSync(flushDir, 0, 0);
  r = await fastflush(pf.etcDir, 'install');
  t.is(r.code, 1);
  t.regex(r.stderr, /fatal: .*\/flush is not a directory that mail_owner postfix can write/);
  chownSync(flushDir, pf.postfixUid, pf.postfixGid);
  t.is(masterCf(pf), original);
  t.deepEqual(readdirSync(pf.etcDir).sort(), ['main.cf', 'master.cf']);
  t.false(existsSync(join(pf.daemonDirectory, 'fastflush-flush')));

  r = await fastflush(pf.etcDir, 'install');
  t.is(r.code, 0, r.stderr);
  const installed = masterCf(pf);
  const withOption = (option: string): string => installed.replace(/fastflush-flush$/m, `fastflush-flush -o ${option}`);

  // mail_owner unknown to this flush service only (master itself needs a valid one).
  writeFileSync(join(pf.etcDir, 'master.cf'), withOption('mail_owner=no-such-user'));
  await pf.restartAsIs();
  await expectFatalAndThrottle(t, pf, `file ${pf.etcDir}/main.cf: parameter mail_owner: unknown user name value: no-such-user`, Buffer.alloc(0));

  // The queue's flush directory is not writable by mail_owner.
  writeFileSync(join(pf.etcDir, 'master.cf'), installed);
  await pf.restartAsIs();
  chownSync(flushDir, 0, 0);
  chmodSync(flushDir, 0o755);
  await expectFatalAndThrottle(t, pf, 'flush_add_path: open fast flush logfile example_test: Permission denied', addRequest(SITE, 'ABCDEF3'));
  chownSync(flushDir, pf.postfixUid, pf.postfixGid);
  chmodSync(flushDir, 0o700);

  // The chroot jail (the queue directory) lacks the flush directory.
  await pf.restartAsIs();
  renameSync(flushDir, `${flushDir}.away`);
  await expectFatalAndThrottle(t, pf, 'flush_add_path: open fast flush logfile example_test: No such file or directory',
    addRequest(SITE, 'ABCDEF4'));
  renameSync(`${flushDir}.away`, flushDir);

  r = await fastflush(pf.etcDir, 'uninstall');
  t.is(r.code, 0, r.stderr);
  t.is(masterCf(pf), original);
});
