/*
 * master-cf.test.ts - master.cf reading (src/cli/master/master-cf.ts,
 * split.ts): logical lines, field defaults, the wakeup `?`, `{ }` arguments,
 * and master_ent.c's fatal and warning messages.
 */
import test from 'ava';
import { FatalError } from '../../src/util/msg.js';
import { parseMasterCf, readLogicalLines, serviceEndpoint } from '../../src/cli/master/master-cf.js';
import { splitBraced } from '../../src/cli/master/split.js';
import { captureLog } from './support.js';

const ctx = { path: '/etc/postfix/master.cf', defaultProcessLimit: 100, compatibilityLevel: '3.11' };

test.serial('logical lines follow readllines (spec-config §1.1 vectors)', (t) => {
  const log = captureLog(t);
  const vectors: Array<[string, string[]]> = [
    [' abcde\nfghij\n', ['fghij']],
    [' #abcde\nfghij\n', ['fghij']],
    ['#abc\ndef', ['def']],
    ['abc def', ['abc def']],
    ['#abc def', []],
    ['abc\n def\n', ['abc def']],
    ['abc\n #def\n ghi', ['abc ghi']],
    ['abc\n#def\n ghi', ['abc ghi']],
    ['abc\n \n ghi', ['abc ghi']],
    ['abc\n\n ghi', ['abc ghi']],
    ['abc\n #def\n', ['abc']],
    ['\n', []],
    ['\n \n', []],
    ['abc\n ', ['abc']],
  ];
  for (const [input, expected] of vectors) {
    t.deepEqual(
      readLogicalLines(input, 'f').map((l) => l.text),
      expected,
      JSON.stringify(input),
    );
  }
  t.deepEqual(
    log.filter((l) => l.severity === 'warning').map((l) => l.text),
    ['f: logical line must not start with whitespace: " abcde"'],
  );
});

test('line numbers are those of the first physical line', (t) => {
  const lines = readLogicalLines('# c\n\nfirst a\n  b\n# x\nsecond\n', 'f');
  t.deepEqual(lines, [
    { text: 'first a  b', line: 3 },
    { text: 'second', line: 6 },
  ]);
});

test('stock flush entry', (t) => {
  const [flush] = parseMasterCf('flush     unix  n       -       n       1000?   0       flush\n', ctx);
  t.deepEqual(flush, {
    service: 'flush',
    type: 'unix',
    private: false,
    unprivileged: true,
    chroot: false,
    wakeupTime: 1000,
    conditionalWakeup: true,
    maxProc: 0,
    command: 'flush',
    args: [],
    line: 1,
  });
  t.is(serviceEndpoint(flush!), 'public/flush');
});

test('dash defaults, continuation lines and grouped arguments', (t) => {
  const text = [
    '# comment',
    'relay     unix  -       -       -       -       -       smtp',
    '    -o syslog_name=postfix/$service_name',
    '#   -o ignored=yes',
    '    -o { smtp_helo_name = a b c }',
    '127.0.0.1:10025 inet n - n 60 1 smtpd -o {x=1} {  spaced  }',
  ].join('\n');
  const [relay, smtpd] = parseMasterCf(text, ctx);
  t.like(relay, { private: true, unprivileged: true, chroot: false, wakeupTime: 0, conditionalWakeup: false, maxProc: 100 });
  t.deepEqual(relay!.args, ['-o', 'syslog_name=postfix/$service_name', '-o', 'smtp_helo_name = a b c']);
  t.is(relay!.line, 2);
  t.is(serviceEndpoint(relay!), 'private/relay');
  t.like(smtpd, { service: '127.0.0.1:10025', type: 'inet', wakeupTime: 60, conditionalWakeup: false, maxProc: 1 });
  t.deepEqual(smtpd!.args, ['-o', 'x=1', 'spaced']);
  t.is(serviceEndpoint(smtpd!), '127.0.0.1:10025');
});

test('wakeup and process limit use the leading digits; `?` only counts with a wakeup', (t) => {
  const [a, b, c] = parseMasterCf('a unix - - - 10x? 7z a\nb unix - - - 0? - b\nc unix - - - 5 0 c\n', ctx);
  t.like(a, { wakeupTime: 10, conditionalWakeup: true, maxProc: 7 });
  t.like(b, { wakeupTime: 0, conditionalWakeup: false });
  t.like(c, { wakeupTime: 5, conditionalWakeup: false, maxProc: 0 });
});

test('chroot defaults to y below compatibility level 1, with the compatibility message', (t) => {
  const log = captureLog(t);
  const [legacy] = parseMasterCf('x unix - - - - - x\n', { ...ctx, compatibilityLevel: '0' });
  t.true(legacy!.chroot);
  t.true(log.some((l) => l.severity === 'info' && l.text === '/etc/postfix/master.cf: line 1: using backwards-compatible default setting chroot=y'));
  const [explicit] = parseMasterCf('x unix - - n - - x\n', { ...ctx, compatibilityLevel: '0' });
  t.false(explicit!.chroot);
  const [modern] = parseMasterCf('x unix - - - - - x\n', { ...ctx, compatibilityLevel: '1' });
  t.false(modern!.chroot);
});

test.serial('duplicate service: warning, last entry wins', (t) => {
  const log = captureLog(t);
  const entries = parseMasterCf('flush unix n - n 1000? 0 flush\nflush unix n - n 10 0 other\nflush unix - - n - 0 priv\n', ctx);
  t.deepEqual(
    entries.map((e) => e.command),
    ['other', 'priv'],
  );
  t.true(log.some((l) => l.text === 'duplicate master.cf entry for service "flush" (public/flush) -- using the last entry'));
});

test.serial('fatal errors name file and line', (t) => {
  const log = captureLog(t);
  const cases: Array<[string, string]> = [
    ['x', 'missing "transport type" field'],
    ['x - n - n - - x', 'field "transport type" has no default value'],
    ['x tcp n - n - - x', 'bad transport type: tcp'],
    ['x unix', 'missing "private" field'],
    ['x unix yes - n - - x', 'field "private": bad value: "yes"'],
    ['x unix n Y n - - x', 'field "unprivileged": bad value: "Y"'],
    ['x unix n - maybe - - x', 'field "chroot": bad value: "maybe"'],
    ['x unix n - n ? - x', 'field "wakeup_time": bad value: "?"'],
    ['x unix n - n -? - x', 'field "wakeup_time": bad value: "-?"'],
    ['x unix n - n - -1 x', 'field "max_proc": bad value: "-1"'],
    ['x unix n - n - -', 'missing "command" field'],
    ['x unix n - n - - -', 'field "command" has no default value'],
    ['25 inet y - n - - smtpd', 'inet service cannot be private'],
    ['x unix n - n - - x -o {a=b', `missing '}' in "{a=b"`],
    ['x unix n - n - - x {a}b', `syntax error after '}' in "{a}b"`],
  ];
  for (const [line, message] of cases) {
    const err = t.throws(() => parseMasterCf(`# first\n${line}\n`, ctx), { instanceOf: FatalError }, line);
    t.is(err?.message, `/etc/postfix/master.cf: line 2: ${message}`, line);
  }
  t.is(log.filter((l) => l.severity === 'fatal').length, cases.length);
});

test('brace splitting (extpar)', (t) => {
  t.deepEqual(splitBraced('a {b c} {  d e  } {{x} y} f', ' '), { words: ['a', 'b c', 'd e', '{x} y', 'f'] });
  t.deepEqual(splitBraced('x{a b}y z', ' '), { words: ['x{a b}y', 'z'] });
  t.deepEqual(splitBraced('A, B=1,{ C = two words }', ', '), { words: ['A', 'B=1', 'C = two words'] });
  t.deepEqual(splitBraced('{}', ' '), { words: [''] });
  t.deepEqual(splitBraced('{a', ' '), { error: `missing '}' in "{a"` });
});
