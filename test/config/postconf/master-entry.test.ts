/*
 * master-entry.test.ts - master.cf entry parsing, normalization, checks and
 * the printed layouts (spec-config.md §5.7, §5.8).
 */
import test from 'ava';
import {
  checkMasterEntry,
  editMasterField,
  editMasterParam,
  formatMasterEntry,
  formatMasterField,
  parseFieldName,
  parseMasterEntry,
  parseServicePattern,
  splitQuoted,
} from '../../../src/config/postconf/master-entry.js';
import { PostconfFatal } from '../../../src/config/postconf/diag.js';
import { collectWarnings } from './helpers.js';

function parse(text: string): string[] {
  const { warn } = collectWarnings();
  const argv = parseMasterEntry(text, warn);
  if (argv === 'bad field count') throw new Error('bad field count');
  return argv;
}

const SUBMISSION =
  'submission inet n       -       n       -       -       smtpd\n  -o syslog_name=postfix/submission\n' +
  '  -o { smtpd_tls_security_level = encrypt }\n  -o smtpd_sasl_auth_enable=yes';
const FILTER = '127.0.0.1:10025 inet n - n - - smtpd -o content_filter= -o { smtpd_banner = $myhostname ESMTP } arg1 {arg two} -v';

test('§5.7 fields split on blanks, braces group', (t) => {
  t.deepEqual(splitQuoted('a {b c} {d {e f}} g'), ['a', '{b c}', '{d {e f}}', 'g']);
  t.deepEqual(splitQuoted('  x\t\ty\n'), ['x', 'y']);
});

test('§5.8 normalization: bundles, -oname=value, braced -o values and arguments', (t) => {
  t.deepEqual(parse('b unix - - n - - smtp -voaaa=bbb -oxx=yy -D -o {zz = a b} -- -o q=r').slice(7), [
    'smtp', '-v', '-o', 'aaa=bbb', '-o', 'xx=yy', '-D', '-o', 'zz=a b', '--', '-o', 'q=r',
  ]);
  t.deepEqual(parse(FILTER).slice(7), ['smtpd', '-o', 'content_filter=', '-o', 'smtpd_banner=$myhostname ESMTP', 'arg1', 'arg two', '-v']);
});

test('§5.7 brace errors are warnings prefixed with master.cf:', (t) => {
  const { warn, warnings } = collectWarnings();
  const argv = parseMasterEntry('f unix - - n - - flush {a}b -o {a=b}c {x', warn);
  t.deepEqual(argv, ['f', 'unix', '-', '-', 'n', '-', '-', 'flush', 'a', '-o', 'a=b', 'x']);
  t.deepEqual(warnings, [
    `master.cf: syntax error after '}' in "{a}b"`,
    `master.cf: syntax error after '}' in "{a=b}c"`,
    `master.cf: missing '}' in "{x"`,
  ]);
});

test('§5.7 field checks', (t) => {
  const fatal = (text: string): string => t.throws(() => parse(text), { instanceOf: PostconfFatal })?.message ?? '';
  t.is(fatal('a bogus - - n - - x'), 'invalid type field "bogus" in "a bogus - - n - - x"');
  t.is(fatal('a unix yy - n - - x'), 'invalid private field "yy" in "a unix yy - n - - x"');
  t.is(fatal('a unix - q n - - x'), 'invalid unprivileged field "q" in "a unix - q n - - x"');
  t.is(fatal('a unix - - n 1x - x'), 'invalid wakeup field "1x" in "a unix - - n 1x - x"');
  t.is(fatal('a unix - - n - 1x x'), 'invalid process_limit field "1x" in "a unix - - n - 1x x"');
  t.is(fatal('a unix - - n -\n x x y'), 'invalid process_limit field "x" in "a unix - - n -  x x y"');
  // The postconf-only quirk: "?" and "-?" pass here although master rejects them.
  t.notThrows(() => checkMasterEntry(['a', 'unix', '-', '-', 'n', '-?', '-', 'x'], ''));
  t.notThrows(() => checkMasterEntry(['a', 'unix', '-', '-', 'n', '?', '-', 'x'], ''));
  t.is(parseMasterEntry('a unix - - n - -', () => {}), 'bad field count');
});

test('§5.8 -M layout: fixed columns, realignment after a long field', (t) => {
  t.is(formatMasterEntry(parse('flush     unix  n       -       n       1000?   0       flush'), false),
    'flush      unix  n       -       n       1000?   0       flush\n');
  t.is(formatMasterEntry(parse(FILTER), false),
    '127.0.0.1:10025 inet n   -       n       -       -       smtpd -o content_filter= -o {smtpd_banner=$myhostname ESMTP} arg1 {arg two} -v\n');
  t.is(formatMasterEntry(parse(SUBMISSION), false),
    'submission inet  n       -       n       -       -       smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes\n');
});

test('§5.8 -Mf layout: each -o on its own line, the rest wrapped', (t) => {
  t.is(formatMasterEntry(parse(SUBMISSION), true),
    'submission inet  n       -       n       -       -       smtpd\n    -o syslog_name=postfix/submission\n' +
    '    -o smtpd_tls_security_level=encrypt\n    -o smtpd_sasl_auth_enable=yes\n');
  t.is(formatMasterEntry(parse(FILTER), true),
    '127.0.0.1:10025 inet n   -       n       -       -       smtpd\n    -o content_filter=\n' +
    '    -o {smtpd_banner=$myhostname ESMTP}\n    arg1 {arg two} -v\n');
});

test('the first non-option argument is never braced (a Postfix quirk)', (t) => {
  t.is(formatMasterEntry(parse('v unix - - n - - cmd {a b} {} {x y}'), false), 'v          unix  -       -       n       -       -       cmd a b  {x y}\n');
});

test('a bare "-" takes the next argument as its value, like -o', (t) => {
  t.is(formatMasterEntry(parse('x unix - - n - - cmd - foo -o'), true), 'x          unix  -       -       n       -       -       cmd\n    - foo\n    -o\n');
});

test('§5.8 -F lines, -h and -H', (t) => {
  const flush = parse('flush     unix  n       -       n       1000?   0       flush');
  const how = { fold: false, hideName: false, hideValue: false, mapValue: (v: string) => v };
  t.is(formatMasterField(flush, 5, how), 'flush/unix/wakeup = 1000?\n');
  t.is(formatMasterField(flush, 5, { ...how, hideName: true }), '1000?\n');
  t.is(formatMasterField(flush, 0, { ...how, hideValue: true }), 'flush/unix/service\n');
  const other = parse('foo unix - - n - - other -o always_bcc=bar');
  t.is(formatMasterField(other, 7, { ...how, hideName: true }), 'other -o always_bcc=bar\n');
  t.is(formatMasterField(parse(SUBMISSION), 7, { ...how, fold: true }),
    'submission/inet/command = smtpd\n    -o syslog_name=postfix/submission\n' +
    '    -o smtpd_tls_security_level=encrypt\n    -o smtpd_sasl_auth_enable=yes\n');
});

test('§5.9 test43: a new command field is split and normalized again', (t) => {
  const argv = parse('bar unix - - n - - x');
  editMasterField(argv, 4, 'y', () => {});
  editMasterField(argv, 7, 'aa -stuffobb=cc dd', () => {});
  t.is(formatMasterEntry(argv, true), 'bar        unix  -       -       y       -       -       aa -stuff\n    -o bb=cc\n    dd\n');
  t.throws(() => editMasterField(argv, 4, 'x', () => {}), { instanceOf: PostconfFatal, message: 'invalid chroot field "x" in "x"' });
});

test('an empty command is refused (real postconf 3.7 crashes there)', (t) => {
  t.throws(() => editMasterField(parse('a unix - - n - - x'), 7, '', () => {}), { instanceOf: PostconfFatal });
});

test('§5.9 -P updates every match, adds at the end of the option region; -PX removes', (t) => {
  const argv = parse('s unix - - n - - cmd -o a=1 -v -o a=2 arg -o a=3');
  editMasterParam(argv, 'a', 'x');
  t.deepEqual(argv.slice(7), ['cmd', '-o', 'a=x', '-v', '-o', 'a=x', 'arg', '-o', 'a=3']);
  editMasterParam(argv, 'new', 'v');
  t.deepEqual(argv.slice(7), ['cmd', '-o', 'a=x', '-v', '-o', 'a=x', '-o', 'new=v', 'arg', '-o', 'a=3']);
  editMasterParam(argv, 'a', undefined);
  t.deepEqual(argv.slice(7), ['cmd', '-v', '-o', 'new=v', 'arg', '-o', 'a=3']);
});

test('service patterns', (t) => {
  t.deepEqual(parseServicePattern('smtp', 1, 2), ['smtp', '*']);
  t.deepEqual(parseServicePattern('smtp//inet', 1, 2), ['smtp', 'inet']);
  t.deepEqual(parseServicePattern('*/unix/x', 1, 3), ['*', 'unix', 'x']);
  t.is(parseServicePattern('/smtp', 1, 2), null);
  t.is(parseServicePattern('a*/b', 1, 2), null);
  t.is(parseServicePattern('a/b/c', 1, 2), null);
  t.is(parseFieldName('wakeup'), 5);
  t.throws(() => parseFieldName('Wakeup'), { message: 'invalid service attribute name: "Wakeup"' });
});
