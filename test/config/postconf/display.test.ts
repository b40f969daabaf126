/*
 * display.test.ts - postconf display through the command (spec-config.md
 * §5.1-§5.4, §5.8): parameter selection, -d/-n/-h/-H/-x/-f, folding, the
 * warnings and their order, master.cf display, option rules.
 */
import test from 'ava';
import { hostname } from 'node:os';
import { formatLine } from '../../../src/config/postconf/print-line.js';
import { makeConfigDir, runOurs } from './helpers.js';

const MASTER =
  'smtp      inet  n       -       y       -       -       smtpd\n' +
  'flush     unix  n       -       n       1000?   0       flush\n' +
  'submission inet n       -       n       -       -       smtpd\n' +
  '  -o syslog_name=postfix/submission\n' +
  '  # inner comment\n' +
  '  -o { smtpd_tls_security_level = encrypt }\n' +
  '  -o smtpd_sasl_auth_enable=yes\n';

test('§5.3 whitespace is normalized and -f folds before column 80', (t) => {
  t.is(formatLine('foo = a,   b  c', false), 'foo = a, b c\n');
  t.is(formatLine('name = ', false), 'name =\n');
  t.is(
    formatLine('forward_path = xxxxxxxxxxxxx xxxxxxxxxxxxxx xxxxxxxxxxxx xxxxxxxxxxxxx xxxxxxxxxxxxxx', true),
    'forward_path = xxxxxxxxxxxxx xxxxxxxxxxxxxx xxxxxxxxxxxx xxxxxxxxxxxxx\n    xxxxxxxxxxxxxx\n',
  );
  t.is(
    formatLine('mydestination = $myhostname, localhost.$mydomain, localhost, aaaaaaaaaaaaaaaaaaaaaaa.example.com, bbbbbbbbbbbbbbbbbbbbbb.example.com', true),
    'mydestination = $myhostname, localhost.$mydomain, localhost,\n    aaaaaaaaaaaaaaaaaaaaaaa.example.com, bbbbbbbbbbbbbbbbbbbbbb.example.com\n',
  );
});

test('§5.2 -n shows settings (and config_directory with -c), continuation joined and normalized', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'relay_domains = a,\n   b\n# c\n\n  c   \nmydestination =\n', 'master.cf': '' });
  const result = runOurs(dir, ['-n']);
  t.is(result.status, 0);
  t.is(result.stdout, `config_directory = ${dir}\nmydestination =\nrelay_domains = a, b c\n`);
  t.is(result.stderr, '');
});

test('§5.2 named parameters: unknown ones warn with exit status 0; -h prints an empty line for empty', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'maillog_file =\n', 'master.cf': '' });
  const result = runOurs(dir, ['-h', 'mail_version', 'bogus_name', 'maillog_file']);
  t.is(result.status, 0);
  t.is(result.stdout, '3.7.11\n\n');
  t.is(result.stderr, 'postconf: warning: bogus_name: unknown parameter\n');
});

test('§5.2 -d ignores main.cf; -H shows names', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'mail_name = Other\nbroken line\n', 'master.cf': '' });
  t.is(runOurs(dir, ['-d', 'mail_name', 'fast_flush_purge_time']).stdout, 'mail_name = Postfix\nfast_flush_purge_time = 7d\n');
  t.is(runOurs(dir, ['-dH', 'mail_name']).stdout, 'mail_name\n');
});

test('§2.9 -x expands recursively with defaults visible; raw parameters stay', (t) => {
  const main = 'a = alpha\nb = $a-beta\nc = ${b}/$(a)\ne =\nt1 = ${a?{X}:{Y}} ${e?{X}:{Y}} ${a?X:Y} $$a\nforward_path = $home/.forward\n';
  const dir = makeConfigDir(t, { 'main.cf': main, 'master.cf': '' });
  const result = runOurs(dir, ['-x', 't1', 'c', 'forward_path', 'relay_domains']);
  const host = hostname().includes('.') ? hostname() : `${hostname()}.localdomain`;
  const domain = host.slice(host.indexOf('.') + 1);
  t.is(result.stdout,
    `forward_path = $home/.forward\nrelay_domains = ${host}, localhost.${domain}, localhost\n`);
  t.is(result.stderr, 'postconf: warning: t1: unknown parameter\npostconf: warning: c: unknown parameter\n' +
    `postconf: warning: ${dir}/main.cf: unused parameter: c=\${b}/$(a)\n` +
    `postconf: warning: ${dir}/main.cf: unused parameter: t1=\${a?{X}:{Y}} \${e?{X}:{Y}} \${a?X:Y} $$a\n`);
  const used = makeConfigDir(t, { 'main.cf': main + 'smtpd_restriction_classes = t1 c\n', 'master.cf': '' });
  t.is(runOurs(used, ['-x', 't1', 'c']).stdout, 't1 = X Y X:Y $a\nc = alpha-beta/alpha\n');
});

test('§2.9 test57: legacy ${x?a:b} forms and undefined warnings', (t) => {
  const main =
    'x = ${{1} == {2}?{error}:x-value}\ny = y-value\nbar = ${x?{$y}:$z}\nbaz = ${x?{$z}:$y}\n' +
    't1 = Postfix 2.11 ${{${x?bug:x}} == {bug}?in}compatible\nsmtpd_restriction_classes = bar baz t1\n';
  const dir = makeConfigDir(t, { 'main.cf': main, 'master.cf': '' });
  const result = runOurs(dir, ['-nx']);
  t.is(result.stdout,
    `bar = y-value\nbaz =\nconfig_directory = ${dir}\nsmtpd_restriction_classes = bar baz t1\n` +
    't1 = Postfix 2.11 compatible\nx = x-value\ny = y-value\n');
  t.is(result.stderr, `postconf: warning: ${dir}/main.cf: undefined parameter: z\n`.repeat(2));
});

test('§5.4 test1/test2: restriction classes validate names; other user names are unused', (t) => {
  const dir1 = makeConfigDir(t, { 'main.cf': 'smtpd_restriction_classes = foo bar\nfoo = yes\n', 'master.cf': '' });
  const one = runOurs(dir1, ['-n']);
  t.is(one.stdout, `config_directory = ${dir1}\nfoo = yes\nsmtpd_restriction_classes = foo bar\n`);
  t.is(one.stderr, `postconf: warning: ${dir1}/main.cf: undefined parameter: bar\n`);
  const dir2 = makeConfigDir(t, { 'main.cf': 'restriction_classes = foo bar\nfoo = yes\n', 'master.cf': '' });
  t.is(runOurs(dir2, ['-n']).stderr,
    `postconf: warning: ${dir2}/main.cf: unused parameter: foo=yes\npostconf: warning: ${dir2}/main.cf: unused parameter: restriction_classes=foo bar\n`);
});

test('§5.4 test34: read-only assignments are dropped with a warning', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'process_name = xxx\nservice_name = yyy\n', 'master.cf': '' });
  const result = runOurs(dir, ['-n']);
  t.is(result.stdout, `config_directory = ${dir}\n`);
  t.is(result.stderr,
    `postconf: warning: ${dir}/main.cf: read-only parameter assignment: process_name=xxx\n` +
    `postconf: warning: ${dir}/main.cf: read-only parameter assignment: service_name=yyy\n`);
  t.is(runOurs(dir, ['process_name']).stdout, 'process_name = postconf\n');
});

test('§5.4 a missing master.cf is a warning in main.cf mode, fatal with -M', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': '' });
  t.is(runOurs(dir, ['mail_version']).stderr, `postconf: warning: open ${dir}/master.cf: No such file or directory\n`);
  const master = runOurs(dir, ['-M']);
  t.is(master.status, 1);
  t.is(master.stderr, `postconf: fatal: open ${dir}/master.cf: No such file or directory\n`);
});

test('3.7 expands every known parameter setting while scanning: a malformed one is fatal', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'mydestination = ${bar\nfoo = ${baz\nx = $foo\n', 'master.cf': '' });
  const result = runOurs(dir, ['mail_version']);
  t.is(result.status, 1);
  t.is(result.stdout, '');
  t.is(result.stderr.split('\n').filter((l) => l.includes('${bar')).length, 2);
  t.true(result.stderr.endsWith('postconf: fatal: macro processing error\n'));
});

test('service-defined parameters come from master.cf command names', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'relay_destination_concurrency_limit = 5\n', 'master.cf': 'relay unix - - n - - smtp\nlocal unix - n n - - local\n' });
  t.is(runOurs(dir, ['-n']).stdout, `config_directory = ${dir}\nrelay_destination_concurrency_limit = 5\n`);
  t.is(runOurs(dir, ['relay_initial_destination_concurrency', 'local_destination_recipient_limit']).stdout,
    'relay_initial_destination_concurrency = $initial_destination_concurrency\nlocal_destination_recipient_limit = 1\n');
  const classes = runOurs(dir, ['-C', 'service']).stdout.split('\n');
  t.true(classes.includes('local_destination_recipient_limit = 1'));
  t.is(classes.length, 33);
});

test('§5.8 -M, -Mf, -F and -P on the submission sample', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': '', 'master.cf': MASTER });
  t.is(runOurs(dir, ['-M', 'submission']).stdout,
    'submission inet  n       -       n       -       -       smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes\n');
  t.is(runOurs(dir, ['-Mf', 'submission/inet']).stdout,
    'submission inet  n       -       n       -       -       smtpd\n    -o syslog_name=postfix/submission\n' +
    '    -o smtpd_tls_security_level=encrypt\n    -o smtpd_sasl_auth_enable=yes\n');
  t.is(runOurs(dir, ['-F', 'flush']).stdout,
    'flush/unix/service = flush\nflush/unix/type = unix\nflush/unix/private = n\nflush/unix/unprivileged = -\n' +
    'flush/unix/chroot = n\nflush/unix/wakeup = 1000?\nflush/unix/process_limit = 0\nflush/unix/command = flush\n');
  t.is(runOurs(dir, ['-P']).stdout,
    'submission/inet/smtpd_sasl_auth_enable = yes\nsubmission/inet/smtpd_tls_security_level = encrypt\n' +
    'submission/inet/syslog_name = postfix/submission\n');
  t.is(runOurs(dir, ['-Ph', 'submission/inet/syslog_name']).stdout, 'postfix/submission\n');
  const unmatched = runOurs(dir, ['-M', 'nothere', 'smtp/inet', 'smtp']);
  t.is(unmatched.stdout, 'smtp       inet  n       -       y       -       -       smtpd\n'.repeat(2));
  t.is(unmatched.stderr, 'postconf: warning: unmatched request: "nothere"\n');
  t.is(runOurs(dir, ['-M', 'a/b/c']).stderr, 'postconf: fatal: -M option requires service_name[/type]\n');
  t.is(runOurs(dir, ['-F', 'flush/unix/bogus']).stderr, 'postconf: fatal: invalid service attribute name: "bogus"\n');
});

test('-x on master.cf expands -o values in the service scope first', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'a = main\n', 'master.cf': 's unix - - n - - smtp -o a=local -o smtp_helo_name=$a/$mail_name\n' });
  t.is(runOurs(dir, ['-Px', 's/unix/smtp_helo_name']).stdout, 's/unix/smtp_helo_name = local/Postfix\n');
  t.is(runOurs(dir, ['-Mx']).stdout, 's          unix  -       -       n       -       -       smtp -o a=local -o smtp_helo_name=local/Postfix\n');
});

test('§5.1 option rules with 3.7 wording', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': '', 'master.cf': '' });
  const fatal = (...args: string[]): string => runOurs(dir, args).stderr;
  t.is(fatal('-d', '-n'), 'postconf: fatal: specify one of -d -n\n');
  t.is(fatal('-e', '-X', 'a'), 'postconf: fatal: specify one of -e -X\n');
  t.is(fatal('-ex', 'a=b'), 'postconf: fatal: specify one of -e -x\n');
  t.is(fatal('-M', '-n'), 'postconf: fatal: with option -M, do not specify -n\n');
  t.is(fatal('-P', '-#'), 'postconf: fatal: with option -P, do not specify -#\n');
  t.is(fatal('-F', '-X'), 'postconf: fatal: with option -F, do not specify -X\n');
  t.is(fatal('-e'), 'postconf: fatal: -e requires name=value argument\n');
  t.is(fatal('-X'), 'postconf: fatal: missing service argument\n');
  t.is(fatal('-n', 'a=b'), 'postconf: fatal: specify one of -e -n\n');
  t.is(fatal('-C', 'foo'), 'postconf: fatal: unknown -C option value "foo" in "foo"\n');
  t.is(fatal('-o', 'foo'), `postconf: fatal: invalid parameter override: foo: missing '=' after attribute name\n`);
  t.true(fatal('-q').startsWith("postconf: invalid option -- 'q'\npostconf: fatal: usage: postconf [-a (server SASL types)]"));
  t.true(fatal('-c').startsWith("postconf: option requires an argument -- 'c'\n"));
  t.is(fatal('-a'), 'postconf: fatal: option -a is not supported by fastflush postconf\n');
  t.is(fatal('-v', '-n'), 'postconf: fatal: option -v (verbose logging) is not supported by fastflush postconf\n');
  t.is(runOurs(dir, ['-a']).status, 1);
  // Options end at the first non-option argument.
  t.is(runOurs(dir, ['mail_version', '-n']).stdout, 'mail_version = 3.7.11\n');
});

test('on a fatal error the unwritten part of standard output is lost, in 4096-byte blocks', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'zzfoo = ${bar\nx = $zzfoo\n', 'master.cf': '' });
  const result = runOurs(dir, ['-x']);
  t.is(result.status, 1);
  t.is(result.stdout.length % 4096, 0);
  t.true(result.stdout.length > 0);
  t.true(result.stderr.endsWith('postconf: fatal: macro processing error\n'));
});
