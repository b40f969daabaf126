/*
 * master-edit.test.ts - postconf -Me/-M#/-MX/-Fe/-Pe/-PX on master.cf
 * (spec-config.md §5.9), including the quirks real postconf has.
 */
import test from 'ava';
import { editMasterCf, parseMasterEditArgs, type MasterEditAction, type MasterEditKind } from '../../../src/config/postconf/master-edit.js';
import { PostconfFatal } from '../../../src/config/postconf/diag.js';
import { collectWarnings, makeConfigDir, readConfigFile, runOurs } from './helpers.js';

const MASTER =
  '# header\n' +
  'smtp      inet  n       -       y       -       -       smtpd\n' +
  'flush     unix  n       -       n       1000?   0       flush\n' +
  '# trailing comment\n' +
  '\n' +
  'submission inet n       -       n       -       -       smtpd\n' +
  '  -o syslog_name=postfix/submission\n' +
  '  # inner comment\n' +
  '  -o { smtpd_tls_security_level = encrypt }\n' +
  '  -o smtpd_sasl_auth_enable=yes\n';

function edit(kind: MasterEditKind, action: MasterEditAction, args: string[], text = MASTER): { text: string; warnings: string[] } {
  const { warn, warnings } = collectWarnings();
  const requests = parseMasterEditArgs(kind, action, args, warn);
  return { text: editMasterCf(text, kind, action, requests, './master.cf', warn), warnings };
}

test('§5.9 -Me of a new service appends it, folded', (t) => {
  const { text } = edit('entry', 'edit', ['relay/unix=relay unix - - n - - smtp -o syslog_name=postfix/$service_name']);
  t.is(text, MASTER + 'relay      unix  -       -       n       -       -       smtp\n    -o syslog_name=postfix/$service_name\n');
});

test('§5.9 -Me replaces in place, matching by the pattern or the new entry\'s own name', (t) => {
  t.is(edit('entry', 'edit', ['flush/unix=flush unix n - n 2000? 0 flush']).text,
    MASTER.replace('flush     unix  n       -       n       1000?   0       flush', 'flush      unix  n       -       n       2000?   0       flush'));
  // smtp/inet is replaced by the new flush entry; the old flush entry then goes away.
  const lines = edit('entry', 'edit', ['smtp/inet=flush unix n - n 2000? 0 flush']).text.split('\n');
  t.deepEqual(lines.slice(0, 3), ['# header', 'flush      unix  n       -       n       2000?   0       flush', '# trailing comment']);
});

test('§5.9 quirk: -M */unix=... replaces the first unix service and deletes the others', (t) => {
  const text = 'a unix - - n - - x\nb inet n - n - - y\nc unix - - n - - z\n  -o q=r\n';
  t.is(edit('entry', 'edit', ['*/unix=xx unix n - n 2000? 0 flush'], text).text,
    'xx         unix  n       -       n       2000?   0       flush\nb inet n - n - - y\n');
});

test('-Me: the last request that first matches a line wins there', (t) => {
  const text = 'flush unix - - n - - flush\nmid unix - - n - - x\n';
  t.is(edit('entry', 'edit', ['mid/unix=bbb unix n - n 3000? 0 x', '*/unix=aaa unix n - n 2000? 0 flush'], text).text,
    'aaa        unix  n       -       n       2000?   0       flush\nbbb        unix  n       -       n       3000?   0       x\n');
});

test('§5.9 -M# prefixes every physical line of the entry; comment lines inside stay', (t) => {
  t.is(edit('entry', 'comment', ['submission/inet']).text,
    MASTER.replace('submission inet', '#submission inet')
      .replace('  -o syslog_name', '#  -o syslog_name')
      .replace('  -o {', '#  -o {')
      .replace('  -o smtpd_sasl', '#  -o smtpd_sasl'));
});

test('§5.9 -MX drops entries and continuation lines but keeps interior comments; unmatched is silent', (t) => {
  const { text, warnings } = edit('entry', 'exclude', ['submission/inet', 'flush/unix', 'nothere/unix']);
  t.is(text, '# header\nsmtp      inet  n       -       y       -       -       smtpd\n# trailing comment\n\n  # inner comment\n');
  t.deepEqual(warnings, []);
});

test('§5.9 -Fe: comments after or inside the entry move above it', (t) => {
  const text = 'flush     unix  n       -       n       1000?   0       flush\n# trailing comment\n\nsubmission inet n - n - - smtpd\n';
  t.is(edit('field', 'edit', ['flush/unix/wakeup=2000?'], text).text,
    '# trailing comment\n\nflush      unix  n       -       n       2000?   0       flush\nsubmission inet n - n - - smtpd\n');
});

test('§5.9 -Pe updates, adds, and reprints the entry folded', (t) => {
  const { text } = edit('param', 'edit', ['submission/inet/syslog_name=sub2', 'submission/inet/new_param=v', 'smtp/inet/foo=bar']);
  t.is(text,
    '# header\nsmtp       inet  n       -       y       -       -       smtpd\n    -o foo=bar\n' +
    'flush     unix  n       -       n       1000?   0       flush\n# trailing comment\n\n' +
    '  # inner comment\nsubmission inet  n       -       n       -       -       smtpd\n    -o syslog_name=sub2\n' +
    '    -o smtpd_tls_security_level=encrypt\n    -o smtpd_sasl_auth_enable=yes\n    -o new_param=v\n');
});

test('§5.9 -PX removes -o settings; unmatched services are warned about', (t) => {
  const { text, warnings } = edit('param', 'exclude', ['submission/inet/syslog_name', 'bogus/unix/x']);
  t.true(text.endsWith('submission inet  n       -       n       -       -       smtpd\n    -o smtpd_tls_security_level=encrypt\n    -o smtpd_sasl_auth_enable=yes\n'));
  t.deepEqual(warnings, ['unmatched service_name/type: "bogus/unix/x"']);
});

test('§5.9 argument checks', (t) => {
  const fatal = (kind: MasterEditKind, action: MasterEditAction, args: string[]): string =>
    t.throws(() => parseMasterEditArgs(kind, action, args, () => {}), { instanceOf: PostconfFatal })?.message ?? '';
  t.is(fatal('entry', 'comment', ['a/b\nc']), '-Me, -Fe, -Pe, -X, or -# accept no multi-line input');
  t.is(fatal('entry', 'comment', [' #a/b']), '-Me, -Fe, -Pe, -X, or -# accept no comment input');
  t.is(fatal('entry', 'edit', ['flush/unix']), `missing '=' after attribute name: "flush/unix"`);
  t.is(fatal('entry', 'edit', ['flush=x']), '-Me, -MX or -M# requires service_name/type');
  t.is(fatal('entry', 'edit', ['flush/unix=flush unix n - n']), 'bad field count: "flush/unix=flush unix n - n"');
  t.is(fatal('entry', 'edit', ['f/unix=flush bogus n - n - - x']), 'invalid type field "bogus" in "flush bogus n - n - - x"');
  t.is(fatal('field', 'edit', ['flush/unix/*=y']), '-Fe does not accept wild-card field name');
  t.is(fatal('field', 'edit', ['flush/unix/wakeup=a b']), '-Fe does not accept whitespace in non-command field');
  t.is(fatal('field', 'edit', ['flush/unix=1']), '-Fe or -FX requires service_name/type/field_name');
  t.is(fatal('param', 'edit', ['flush/unix/*=a']), '-Pe does not accept wild-card parameter name');
  t.is(fatal('param', 'edit', ['flush/unix/x=a b']), '-Pe does not accept whitespace in parameter value');
  t.is(fatal('param', 'exclude', ['flush/unix/x=a']), '-X or -# requires names without value');
});

test('walking the file: service name and type must be on the head line', (t) => {
  const fatal = (text: string): string =>
    t.throws(() => edit('entry', 'exclude', ['x/unix'], text), { instanceOf: PostconfFatal })?.message ?? '';
  t.is(fatal('flush\n unix - - n - - flush\n'), 'file ./master.cf: line 1: specify service name and type on the same line');
  t.is(fatal('#c\nfl=ush unix - - n - - x\n'), 'file ./master.cf: line 2: service name syntax "fl=ush" is unsupported with -Me, -Fe, -Pe, -X, or -#');
  t.is(fatal('flush un/ix - - n - - x\n'), 'file ./master.cf: line 1: service type syntax "un/ix" is unsupported with -Me, -Fe, -Pe, -X, or -#');
});

test('-F on an entry with too few fields names the head line (later lines are miscounted like Postfix)', (t) => {
  const text = '# c\nbad unix - -\n#x\n  - n\nlast unix - - n - - flush\n';
  t.throws(() => edit('field', 'edit', ['bad/unix/chroot=y'], text), { message: 'file ./master.cf: line 2: bad field count' });
  const gobbled = 'a unix - - n - - x\n  -o b=c\n  -o d=e\nbroken\n';
  t.throws(() => edit('field', 'edit', ['a/unix/chroot=y', 'zz/unix/chroot=y'], gobbled), { message: 'file ./master.cf: line 2: specify service name and type on the same line' });
});

test('the command replaces master.cf atomically and keeps it on errors', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': '', 'master.cf': MASTER });
  const bad = runOurs(dir, ['-F', 'flush/unix/chroot=x']);
  t.is(bad.status, 1);
  t.is(bad.stderr, 'postconf: fatal: invalid chroot field "x" in "x"\n');
  t.is(readConfigFile(dir, 'master.cf'), MASTER);
  const good = runOurs(dir, ['-F', 'flush/unix/chroot=y']);
  t.is(good.status, 0);
  t.true(readConfigFile(dir, 'master.cf').includes('flush      unix  n       -       y       1000?   0       flush\n'));
});
