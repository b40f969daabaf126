/*
 * log-sinks.test.ts - log record formats for stderr, postlogd and syslog, the
 * datagram sinks against a real UNIX datagram socket, and the syslog format
 * against glibc's own syslog(3).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createPostlogSink, createSyslogSink, firstLabel, formatPostlogRecord, formatStderrRecord, formatSyslogRecord,
  syslogFacility, syslogPriority,
} from '../../src/util/log-sinks.js';
import { repoRoot } from '../helpers/paths.js';
import { gatedTests } from '../helpers/requirements.js';
import { hasPython, startDgramReceiver } from './dgram-receiver.js';

const NOV_9 = new Date(2026, 10, 9, 8, 3, 1);
const NOV_19 = new Date(2026, 10, 19, 23, 59, 9);

test('stderr records: tag, severity prefix, no pid', (t) => {
  t.is(formatStderrRecord('postfix/flush', 'warning', 'text'), 'postfix/flush: warning: text\n');
  t.is(formatStderrRecord('postfix/flush', 'info', 'text'), 'postfix/flush: text\n');
  t.is(formatStderrRecord('flush', 'fatal', 'do not run this command by hand'), 'flush: fatal: do not run this command by hand\n');
});

test('postlog records: zero-padded day, host, tag[pid]', (t) => {
  t.is(formatPostlogRecord(NOV_9, 'test', 'postfix/flush', 22784, 'warning', 'w'),
    'Nov 09 08:03:01 test postfix/flush[22784]: warning: w');
  t.is(formatPostlogRecord(NOV_19, 'test', 'postfix/flush', 1, 'info', 'i'), 'Nov 19 23:59:09 test postfix/flush[1]: i');
  t.is(formatPostlogRecord(NOV_9, 'h', 't', 1, 'error', 'e'), 'Nov 09 08:03:01 h t[1]: error: e');
  t.is(formatPostlogRecord(NOV_9, 'h', 't', 1, 'panic', 'p'), 'Nov 09 08:03:01 h t[1]: panic: p');
});

test('syslog records: <PRI>, space-padded day as glibc writes it', (t) => {
  t.is(formatSyslogRecord(NOV_9, syslogPriority(2, 'warning'), 'postfix/flush', 42, 'warning', 'w'),
    '<20>Nov  9 08:03:01 postfix/flush[42]: warning: w');
  t.is(formatSyslogRecord(NOV_19, syslogPriority(2, 'info'), 'postfix/flush', 42, 'info', 'i'),
    '<22>Nov 19 23:59:09 postfix/flush[42]: i');
});

test('syslog priorities: facility * 8 + level (fatal and panic are crit)', (t) => {
  t.is(syslogFacility('mail'), 2);
  t.is(syslogFacility('local7'), 23);
  t.is(syslogFacility('authpriv'), 10);
  t.is(syslogFacility('Mail'), undefined);
  t.is(syslogPriority(2, 'info'), 22);
  t.is(syslogPriority(2, 'warning'), 20);
  t.is(syslogPriority(2, 'error'), 19);
  t.is(syslogPriority(2, 'fatal'), 18);
  t.is(syslogPriority(16, 'panic'), 130);
});

test('postlog host is the first label', (t) => {
  t.is(firstLabel('mx1.example.com'), 'mx1');
  t.is(firstLabel('amnesiac'), 'amnesiac');
});

test('a sink whose socket is missing drops records without throwing', (t) => {
  const sink = createSyslogSink({ tag: 't', pid: 1, facility: 2, path: '/nonexistent/log' });
  t.notThrows(() => sink('warning', 'lost'));
  const postlog = createPostlogSink({ path: '/nonexistent/postlog', host: 'h', tag: 't', pid: 1 });
  t.notThrows(() => postlog('info', 'lost'));
});

const withPython = hasPython ? test.serial : test.skip;

withPython('syslog and postlog sinks send one datagram per record', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sinks-'));
  const path = join(dir, 'log');
  const receiver = await startDgramReceiver(path);
  try {
    createSyslogSink({ tag: 'postfix/flush', pid: 42, facility: 16, path })('error', 'syslog text');
    createPostlogSink({ path, host: 'mx1.example.com', tag: 'postfix/flush', pid: 43 })('info', 'postlog text');
    const [syslog, postlog] = await receiver.next(2);
    t.regex(syslog as string, /^<131>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d postfix\/flush\[42\]: error: syslog text$/);
    t.regex(postlog as string, /^[A-Z][a-z]{2} [0-3]\d \d\d:\d\d:\d\d mx1 postfix\/flush\[43\]: postlog text$/);
  } finally {
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

withPython('a datagram sink reconnects after the log service restarts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sinks-'));
  const path = join(dir, 'postlog');
  let receiver = await startDgramReceiver(path);
  try {
    const sink = createPostlogSink({ path, host: 'h', tag: 't', pid: 1 });
    sink('info', 'first');
    t.regex((await receiver.next(1))[0] as string, /first$/);
    receiver.stop();
    rmSync(path);
    receiver = await startDgramReceiver(path);
    sink('info', 'second');
    t.regex((await receiver.next(1))[0] as string, /second$/);
  } finally {
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/*
 * glibc's syslog(3), driven from python3 in a private mount namespace whose /dev/log is a
 * socket we read, against our syslog sink in the same namespace: the same bytes apart from
 * the time stamp and the pid. Skipped where such a namespace cannot be made (no root).
 */
const GLIBC_SYSLOG = `
import socket, subprocess, sys, syslog
subprocess.run(["mount", "-t", "tmpfs", "none", "/dev"], check=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
syslog.openlog("postfix/flush", syslog.LOG_PID | syslog.LOG_NDELAY, syslog.LOG_MAIL)
syslog.syslog(syslog.LOG_LOCAL3 | syslog.LOG_WARNING, "warning: some text")
print(s.recv(4096).decode("latin-1"))
subprocess.run([sys.argv[1], "--input-type=module", "-e", sys.argv[2]], check=True)
print(s.recv(4096).decode("latin-1"))
`;
// The mount happens inside the new namespace only; the probe is the real operation.
const withUnshare = gatedTests({
  what: 'root with python3 and unshare -m',
  missing: () => {
    if (process.getuid?.() !== 0) return `not running as root (uid ${process.getuid?.()})`;
    if (!hasPython) return 'no python3';
    const probe = spawnSync('unshare', ['-m', 'mount', '-t', 'tmpfs', 'none', '/dev'], { encoding: 'utf8' });
    return probe.status === 0 ? null : `unshare -m cannot mount: ${probe.error?.message ?? probe.stderr.trim()}`;
  },
});

withUnshare.test('syslog records are the ones glibc syslog(3) writes', (t) => {
  const sinks = pathToFileURL(join(repoRoot, 'dist/src/util/log-sinks.js')).href;
  const ours = `import { createSyslogSink } from ${JSON.stringify(sinks)};
createSyslogSink({ tag: 'postfix/flush', pid: process.pid, facility: 19 })('warning', 'some text');`;
  const r = spawnSync('unshare', ['-m', 'python3', '-c', GLIBC_SYSLOG, process.execPath, ours], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const [glibc, node] = r.stdout.split('\n');
  const header = /^<156>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d postfix\/flush\[\d+\]: /;
  t.regex(glibc as string, header);
  t.is((node as string).replace(header, ''), (glibc as string).replace(header, ''));
  t.regex(node as string, header);
});
