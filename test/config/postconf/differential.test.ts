/*
 * differential.test.ts - fastflush postconf against the installed Postfix
 * postconf (3.7.11), byte for byte: for every case the same corpus is
 * copied twice, real postconf runs on one copy and ours on the other, and
 * standard output, standard error, exit status and the resulting main.cf and
 * master.cf must be identical.
 *
 * Normalization, and why:
 *   - the two copies live in different directories of equal length; their
 *     names are replaced by <DIR> (output length, and so VSTREAM's 4096-byte
 *     blocks, stays the same);
 *   - process_id shows each program's own PID;
 *   - cases marked `unordered` sort each run of "unused / undefined /
 *     read-only parameter" warnings: Postfix 3.7 walks its hash tables in a
 *     per-process random order, ours in name order;
 *   - cases marked `appendOrder` compare the edited file as a sorted list
 *     of lines: 3.7 appends several new -e names in that random order too.
 *
 * Without /usr/sbin/postconf the cases are not registered (one test notes
 * it), or fail when REQUIRE_POSTFIX=1 (requirements.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfigDir, readConfigFile, runOurs, type ConfigFiles } from './helpers.js';
import { repoRoot } from '../../helpers/paths.js';
import { gatedTests } from '../../helpers/requirements.js';

const POSTCONF = '/usr/sbin/postconf';

const MASTER_STOCK = `#
# Postfix master process configuration file.
#
# ==========================================================================
# service type  private unpriv  chroot  wakeup  maxproc command + args
#               (yes)   (yes)   (no)    (never) (100)
# ==========================================================================
smtp      inet  n       -       y       -       -       smtpd
#smtp      inet  n       -       y       -       1       postscreen
#smtpd     pass  -       -       y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
#  -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d \${recipient}
uucp      unix  -       n       n       -       -       pipe
  flags=Fqhu user=uucp argv=uux -r -n -z -a$sender - $nexthop!rmail ($recipient)
`;

const MAIN_STOCK = `# See /usr/share/postfix/main.cf.dist for a commented, more complete version

smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6
smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
smtpd_tls_security_level=may
smtp_tls_CApath=/etc/ssl/certs
smtp_tls_security_level=may
smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
myhostname = mail.example.com
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
myorigin = /etc/mailname
mydestination = $myhostname, example.com, mail.example.com, localhost.example.com, localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
fast_flush_domains = $relay_domains
`;

const MAIN_SPEC = '# header comment\nfoo = one\n   two\n# interior comment\n   three\nbar=x\n \nbaz = 1\nfoo = dup\n';

const MAIN_TRICKY =
  '   # indented comment at the top\n' +
  'relay_domains = a.example,\n' +
  '\tb.example,\n' +
  '# a comment inside the continuation\n' +
  '\n' +
  '    c.example   \n' +
  'mydestination = $myhostname, localhost.$mydomain, localhost, aaaaaaaaaaaaaaaaaaaaaaa.example.com, bbbbbbbbbbbbbbbbbbbbbb.example.com\n' +
  'forward_path = xxxxxxxxxxxxx xxxxxxxxxxxxxx xxxxxxxxxxxx xxxxxxxxxxxxx xxxxxxxxxxxxxx\n' +
  'maillog_file =\n' +
  'empty_user =\n' +
  'smtpd_restriction_classes = empty_user, class_a\n' +
  'class_a = permit\n' +
  'alias_maps = hash:/etc/aliases # not a comment\n' +
  'header_checks\t=\tregexp:/etc/postfix/header_checks\r\n' +
  'fast_flush_domains = $relay_domains\n' +
  'fast_flush_domains = $relay_domains\n' +
  'fast_flush_purge_time = 3d\n' +
  'fast_flush_purge_time = 2d\n' +
  'virtual_maps = hash:/etc/postfix/virtual\n' +
  'unused_one = 1\n' +
  '#commented_out = 1\n' +
  'long_list = ' + Array.from({ length: 30 }, (_, i) => `item${i}.example.org`).join(', ') + '\n';

const MASTER_OPTS =
  '# trailing comment at the top\n' +
  'submission inet n       -       n       -       -       smtpd\n' +
  '  -o syslog_name=postfix/submission\n' +
  '  # inner comment\n' +
  '  -o { smtpd_tls_security_level = encrypt }\n' +
  '  -o smtpd_sasl_auth_enable=yes\n' +
  '  -o smtpd_client_restrictions=$mua_client_restrictions\n' +
  '127.0.0.1:10025 inet n - n - - smtpd -o content_filter= -o { smtpd_banner = $myhostname ESMTP } arg1 {arg two} -v\n' +
  'bundle unix - - n - - smtp -voaaa=bbb -oxx=yy -D -o {zz = a b} -- -o q=r\n' +
  'flush     unix  n       -       n       1000?   0       flush\n' +
  '# comment after flush\n' +
  '\n' +
  'flush     unix  n       -       n       1001?   0       flush\n' +
  '  -o a=b\n' +
  '#c\n' +
  '  -o c=d\n' +
  'amavis unix - - n - 2 lmtp -o lmtp_data_done_timeout=1200 -o lmtp_send_xforward_command=yes -o disable_dns_lookups=yes -o max_use=20 -o process_name=override\n' +
  'longargs unix - n n - - pipe flags=DRhu user=nobody argv=/usr/local/bin/a-rather-long-program-name --with-a-long-option-name=value ${sender} ${recipient} ${nexthop}\n' +
  '#disabled unix - - n - - smtp\n' +
  '#  -o smtp_fallback_relay=\n';

/*
 * A lone "-" argument makes Postfix read past the end of a string; display
 * happens to work, but after an edit 3.7 prints memory garbage there, so
 * this entry is only displayed.
 */
const MASTER_WEIRD = 'weird unix - - n - - cmd - foo {a b} {} {{x}} -o {a}\nx unix - - n - - cmd -x -\n';

const MAIN_FOR_OPTS = 'mua_client_restrictions = permit_sasl_authenticated, reject\nmain_only = 1\n';

const MAIN_EXPAND =
  'a = alpha\nb = $a-beta\nc = ${b}/$(a)\ne =\n' +
  'smtpd_restriction_classes = t1 t2 t3 t4 t5 t6 t7 t8 t9\n' +
  't1 = ${a?yes} ${e?yes} ${a:no} ${e:no} ${u:undefined}\n' +
  't2 = ${a?{X}:{Y}} ${e?{X}:{Y}} ${a?X:Y}\n' +
  't3 = ${e ? {X} : {Y}} ${a?$b:$c} ${a?{$b}:{$c}}\n' +
  't4 = $$a $${a} $ab$a.x ${a}b ${ a }\n' +
  't5 = ${{$a} == {alpha}} ${{$a} == {beta}} ${{$a}=={alpha}?{T}:{F}} ${{$a} != {beta} ? {ne} : {eq}}\n' +
  't6 = ${{10} < {9}} ${{10} < {9x}} ${{007} == {7}} ${{ 2} == {2}}\n' +
  't7 = ${{3.10} <level {3.9}} ${{3.10} < {3.9}} ${{a}<{b}}${{b}<{a}} ${{$e} == {}}\n' +
  't8 = ${{$compatibility_level} <level {2} ? {old} : {new}} $mynetworks_style\n' +
  't9 = ${a?{${e:{nested}}}} $(a?(x))\n';

const MASTER_BAD = 'good unix - - n - - x\n# c\nbad unix - -\n#x\n  - n\nlast unix - - n - - flush\n';

const CORPUS: Record<string, ConfigFiles> = {
  stock: { 'main.cf': MAIN_STOCK, 'master.cf': MASTER_STOCK },
  spec: { 'main.cf': MAIN_SPEC, 'master.cf': MASTER_STOCK },
  tricky: { 'main.cf': MAIN_TRICKY, 'master.cf': MASTER_STOCK },
  opts: { 'main.cf': MAIN_FOR_OPTS, 'master.cf': MASTER_OPTS },
  expand: { 'main.cf': MAIN_EXPAND, 'master.cf': '' },
  weird: { 'main.cf': '', 'master.cf': MASTER_WEIRD },
  misc: {
    'main.cf':
      '  leading = 1\nconfig_directory = /elsewhere\ninet_interfaces = loopback-only\nmynetworks_style = host\n' +
      'crlf = yes\r\nsmtpd_banner = $myhostname   ESMTP\t$mail_name\nnospace=1\nsmtpd_restriction_classes = crlf nospace\n',
    'master.cf': '  indented unix - - n - - x\nshort unix - - n - - x -o a=1 -v\ns2 unix - - n - - x\n',
  },
  nonl: { 'main.cf': 'a = 1\nb = 2', 'master.cf': 'x unix - - n - - smtp\n  -o a=b' },
  empty: { 'main.cf': '' },
  nul: { 'main.cf': 'myorigin = a\0b\nmydomain = example.com\n', 'master.cf': 'x unix - - n - - smtp\0junk\n' },
  badmain: { 'main.cf': 'ok = 1\nfoo bar\n', 'master.cf': '' },
  badmaster: { 'main.cf': '', 'master.cf': MASTER_BAD },
  noheader: { 'main.cf': '', 'master.cf': 'flush\n unix - - n - - flush\n' },
  users: {
    'main.cf':
      'process_name = xxx\nmydestination = $undefined_one, $myhostname\nfoo = $bar\nbar = $baz_from_master\n' +
      'relay_destination_concurrency_limit = 5\nmaildrop_time_limit = 3600s\nlocal_destination_recipient_limit = 2\n',
    'master.cf': 'relay unix - - n - - smtp -o baz_from_master=1 -o service_name=x -o $undef_in_master=1 -o q=$nope\nmaildrop unix - n n - - pipe\n',
  },
  malformed: { 'main.cf': 'mydestination = ${bar\n', 'master.cf': '' },
  // Messages go through Postfix's printable filter.
  ctrl: { 'main.cf': 'foo\r = 1\nbür = 2\nx\x01y = 3\nz = \x01\nt = a\tb\n', 'master.cf': '' },
  // The daemon sees relay_domains' evaluated (empty) default here; postconf sees its raw default.
  readorder: {
    'main.cf': 'compatibility_level = 3.6\nfast_flush_domains = ${relay_domains?{$relay_domains}:{fallback.test}}\n'
      + 'parent_domain_matches_subdomains = ${queue_service_name?{x}:{fast_flush_domains}}\nmax_use = ${max_idle?{1}:{2}}\n',
    'master.cf': '',
  },
  malformeduser: { 'main.cf': 'zzfoo = ${bar\nx = $zzfoo\n', 'master.cf': '' },
};

interface Case {
  readonly corpus: keyof typeof CORPUS;
  readonly args: readonly string[];
  readonly unordered?: boolean;
  readonly appendOrder?: boolean;
}

const display = (corpus: keyof typeof CORPUS, unordered: boolean, ...argLists: string[][]): Case[] =>
  argLists.map((args) => ({ corpus, args, unordered }));

const CASES: Case[] = [
  // main.cf display
  ...display('stock', false, [], ['-n'], ['-nf'], ['-nx'], ['-d'], ['-df'], ['-dx'], ['-nH'], ['-H', '-C', 'service'], ['-C', 'builtin,user', '-n'],
    ['-h', 'mydestination', 'relayhost', 'smtp_tls_session_cache_database'], ['-x', 'smtp_tls_session_cache_database', 'fast_flush_domains', 'relay_domains'],
    ['-xf', 'mydestination'], ['mail_version', 'bogus_name', 'config_directory'], ['-o', 'relay_domains=foo.example', '-x', 'fast_flush_domains'],
    ['-o', 'compatibility_level=0', '-x', 'relay_domains', 'smtputf8_enable', 'mynetworks_style'], ['-d', 'mynetworks', 'myhostname', 'mydomain'],
    ['-dx', 'relay_domains', 'fast_flush_domains', 'mynetworks_style'], ['-C', 'service'], ['-C', 'user'], ['mail_version', '-n'], ['--', '-n']),
  ...display('tricky', true, [], ['-n'], ['-nf'], ['-nx'], ['-nfx'], ['-h', 'relay_domains', 'maillog_file', 'long_list'], ['-H', '-n'], ['-x', 'fast_flush_domains', 'virtual_alias_maps']),
  ...display('expand', true, ['-nx'], ['-n'], ['-x', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9'], ['-h', '-x', 't4']),
  ...display('users', true, ['-n'], ['-nx'], ['-C', 'service'], ['foo', 'bar', 'baz_from_master'], ['-P'], ['-Px'], ['-M']),
  ...display('spec', true, ['-n'], ['-nx', 'foo']),
  ...display('empty', false, ['-n'], ['mail_version'], ['-d', 'mail_version'], ['-M'], ['-F'], ['-P']),
  ...display('nonl', true, ['-n'], ['-M'], ['-P']),
  ...display('weird', false, ['-M'], ['-Mf'], ['-F'], ['-Ff'], ['-P']),
  ...display('nul', false, ['-n'], ['-M']),
  ...display('misc', true, ['-n'], ['mynetworks', 'config_directory'], ['-x', 'mynetworks', 'smtpd_banner'], ['-o', 'mynetworks_style=subnet', 'mynetworks'],
    ['-o', 'inet_interfaces=all', '-o', 'inet_protocols=ipv4', 'mynetworks'], ['-Fh', 'short/unix/command'], ['-M', 'short', 'short/unix', '*'], ['-M'],
    ['-o', 'a=main', '-Px'], ['-d', 'config_directory']),
  ...display('badmain', false, ['-n'], ['-d', 'mail_version'], ['-M']),
  ...display('badmaster', false, ['-M'], ['-n'], ['-F'], ['-d', 'mail_version']),
  ...display('noheader', false, ['-M'], ['-MX', 'foo/unix']),
  ...display('malformed', false, ['mail_version'], ['-x', 'mydestination'], ['-d', 'mydestination']),
  ...display('ctrl', true, ['-n'], ['-nx'], ['z', 't', 'bogus\x02']),
  ...display('readorder', false, ['-x', 'fast_flush_domains', 'parent_domain_matches_subdomains', 'max_use'], ['-nx'],
    ['-o', 'relay_domains=', '-x', 'fast_flush_domains']),
  ...display('malformeduser', true, ['mail_version'], ['-x'], ['-nx']),
  // master.cf display
  ...display('stock', false, ['-M'], ['-Mf'], ['-F'], ['-Ff'], ['-P'], ['-Px'], ['-Mx'], ['-M', 'smtp'], ['-M', 'smtp/inet', 'smtp', '*/unix', 'nothere'],
    ['-F', 'flush/unix/wakeup', '*/*/chroot'], ['-Fh', 'flush/unix/wakeup'], ['-FH', 'relay'], ['-Fh', 'maildrop/unix/command'], ['-Ffh', 'uucp/unix/command'],
    ['-P', 'relay/unix/syslog_name'], ['-Ph', 'relay'], ['-PH'], ['-PHx'], ['-M', 'a/b/c'], ['-F', 'flush/unix/bogus'], ['-P', 'x/y/z/w']),
  ...display('opts', true, ['-M'], ['-Mf'], ['-Mx'], ['-Mfx'], ['-F'], ['-Ff'], ['-Fx', 'submission'], ['-FH', 'amavis'], ['-Fh', 'bundle/unix/command'],
    ['-P'], ['-Px'], ['-Pf'], ['-P', '*/*/smtpd_banner'], ['-n'], ['mail_version']),
  // main.cf editing
  { corpus: 'spec', args: ['-e', 'foo = new value', 'zzz=last'] },
  { corpus: 'spec', args: ['foo = new value', 'zzz=last', 'aaa=', 'bar=y', 'bar=z'], appendOrder: true },
  { corpus: 'spec', args: ['-X', 'foo', 'baz', 'nothere'] },
  { corpus: 'spec', args: ['-#', 'foo', 'bar'] },
  { corpus: 'spec', args: ['-X', 'foo ', ' bar', 'baz\t'] },
  { corpus: 'spec', args: ['-#', ' foo', 'bar ', 'baz'] },
  { corpus: 'spec', args: ['-e', 'baz='] },
  { corpus: 'spec', args: ['a=b', 'b'] },
  { corpus: 'spec', args: ['-e', 'a=1', 'a=1', 'a=2'] },
  { corpus: 'stock', args: ['-e', 'fast_flush_domains = example.com, example.org', 'relayhost=[smtp.example.net]:587'] },
  { corpus: 'stock', args: ['-X', 'fast_flush_domains', 'smtpd_banner'] },
  { corpus: 'stock', args: ['-#', 'mynetworks', 'compatibility_level'] },
  { corpus: 'tricky', args: ['-e', 'relay_domains=x.example', 'header_checks=', 'fast_flush_domains=z'] },
  { corpus: 'tricky', args: ['-X', 'relay_domains', 'header_checks', 'fast_flush_purge_time'] },
  { corpus: 'tricky', args: ['-#', 'relay_domains', 'alias_maps', 'commented_out'] },
  { corpus: 'tricky', args: ['-e', 'commented_out=2'] },
  { corpus: 'nonl', args: ['-e', 'a=3'] },
  { corpus: 'nonl', args: ['-e', 'b=3', 'c=4'] },
  { corpus: 'nonl', args: ['-e', 'c=4'] },
  { corpus: 'nonl', args: ['-#', 'b'] },
  { corpus: 'nul', args: ['-e', 'mydomain=x.example'] },
  { corpus: 'empty', args: ['-e', 'x=1'] },
  { corpus: 'spec', args: ['-e', 'a=1\nb=2'] },
  { corpus: 'spec', args: ['-e', '  # a=1'] },
  { corpus: 'spec', args: ['-e', '=x'] },
  { corpus: 'spec', args: ['-X', '  '] },
  { corpus: 'spec', args: ['-#', ''] },
  { corpus: 'spec', args: ['-X', 'a=1'] },
  { corpus: 'badmain', args: ['-e', 'ok=2'] },
  { corpus: 'misc', args: ['-e', 'crlf=no', 'leading=2'] },
  { corpus: 'misc', args: ['-X', 'crlf', 'nospace'] },
  { corpus: 'misc', args: ['-#', 'config_directory'] },
  { corpus: 'misc', args: ['-e', 'nospace =   spaced   value  '] },
  { corpus: 'misc', args: ['-MX', 'indented/unix'] },
  { corpus: 'misc', args: ['-P', 'short/unix/a=2'] },
  // master.cf editing
  { corpus: 'stock', args: ['-M', 'relay/unix=relay unix - - n - - smtp -o syslog_name=postfix/$service_name'] },
  { corpus: 'stock', args: ['-M', 'new/unix=new unix - - n - - smtp -o a=b -o {c = d e}'] },
  { corpus: 'stock', args: ['-Me', 'flush/unix=flush unix n - n 2000? 0 flush'] },
  { corpus: 'stock', args: ['-M', 'smtp/inet=smtp inet n - y - 1 postscreen'] },
  { corpus: 'stock', args: ['-M', '*/inet=smtpd pass - - y - - smtpd'] },
  { corpus: 'stock', args: ['-M', 'nothere/inet=flush unix n - n 2000? 0 flush'] },
  { corpus: 'opts', args: ['-M', 'flush/unix=flush unix n - n 2000? 0 flush', 'flush/unix=flush unix n - n 3000? 0 flush'] },
  { corpus: 'opts', args: ['-M', 'mid/unix=bbb unix n - n 3000? 0 x', '*/unix=aaa unix n - n 2000? 0 flush'] },
  { corpus: 'opts', args: ['-M#', 'submission/inet', 'flush/unix', 'nothere/unix'] },
  { corpus: 'opts', args: ['-MX', 'submission/inet', 'flush/unix'] },
  { corpus: 'opts', args: ['-MX', '*/*'] },
  { corpus: 'stock', args: ['-M#', 'relay/unix', 'maildrop/unix'] },
  { corpus: 'stock', args: ['-MX', 'uucp/unix', 'smtp'] },
  { corpus: 'stock', args: ['-F', 'flush/unix/wakeup=2000?', 'flush/unix/chroot=n'] },
  { corpus: 'stock', args: ['-F', 'relay/unix/command=smtp -o syslog_name=postfix/relay -v'] },
  { corpus: 'stock', args: ['-F', 'flush/unix/service=renamed'] },
  { corpus: 'stock', args: ['-F', 'bogus/unix/wakeup=1'] },
  { corpus: 'stock', args: ['-F', 'flush/unix/chroot=x'] },
  { corpus: 'stock', args: ['-F', 'flush/unix/type=bogus'] },
  { corpus: 'stock', args: ['-F', 'flush/unix/chroot='] },
  { corpus: 'opts', args: ['-F', 'flush/unix/wakeup=5', 'flush/unix/chroot=y'] },
  { corpus: 'opts', args: ['-F', 'bundle/unix/command=aa -stuffobb=cc dd'] },
  { corpus: 'opts', args: ['-Fe', 'longargs/unix/private=y'] },
  { corpus: 'stock', args: ['-P', 'relay/unix/syslog_name=postfix/other', 'relay/unix/new_param=v', 'smtp/inet/foo=bar'] },
  { corpus: 'stock', args: ['-PX', 'relay/unix/syslog_name', 'flush/unix/nothere', 'bogus/unix/x'] },
  { corpus: 'opts', args: ['-P', 'submission/inet/syslog_name=sub2', 'submission/inet/new_param=v', '*/unix/c=zz'] },
  { corpus: 'opts', args: ['-PX', 'submission/inet/syslog_name', 'bundle/unix/xx', 'flush/unix/a'] },
  { corpus: 'nonl', args: ['-P', 'x/unix/c=d'] },
  { corpus: 'nonl', args: ['-M#', 'x/unix'] },
  { corpus: 'badmaster', args: ['-F', 'last/unix/chroot=y'] },
  { corpus: 'badmaster', args: ['-F', 'bad/unix/chroot=y'] },
  { corpus: 'badmaster', args: ['-F', 'good/unix/chroot=y', 'zz/unix/chroot=y'] },
  { corpus: 'badmaster', args: ['-MX', 'bad/unix'] },
  { corpus: 'badmaster', args: ['-M', 'bad/unix=bad unix - - n - - x'] },
  { corpus: 'noheader', args: ['-F', 'flush/unix/chroot=y'] },
  { corpus: 'stock', args: ['-M', 'flush/unix=flush unix n - n'] },
  { corpus: 'stock', args: ['-M', 'flush=flush unix n - n - - x'] },
  { corpus: 'stock', args: ['-M', 'flush/unix=flush bogus n - n - - x'] },
  { corpus: 'stock', args: ['-e', '-M', 'flush/unix'] },
  { corpus: 'stock', args: ['-M#', '#flush/unix'] },
  { corpus: 'stock', args: ['-M#', 'flush/unix\nx'] },
  { corpus: 'stock', args: ['-MX', 'a/b', 'c/d=x'] },
  { corpus: 'stock', args: ['-F', 'flush/unix/*=y'] },
  { corpus: 'stock', args: ['-F', 'flush/unix/wakeup=a b'] },
  { corpus: 'stock', args: ['-P', 'flush/unix/x=a b'] },
  { corpus: 'stock', args: ['-P', 'flush/unix/*=a'] },
  { corpus: 'empty', args: ['-M', 'a/unix=a unix - - n - - x'] },
  // options
  ...display('stock', false, ['-d', '-n'], ['-M', '-n'], ['-P', '-#', 'x'], ['-F', '-X', 'x'], ['-X'], ['-e'], ['-#'], ['-MX'], ['-Mf', '-h'],
    ['-C', 'foo'], ['-h', '-H'], ['-xX', 'a'], ['-nde'], ['-ex', 'a=b'], ['-n', 'a=b'], ['-Md'], ['-p', '-M'], ['-q'], ['-j'], ['-E'], ['-c'],
    ['-o'], ['-o', 'foo'], ['-d', '-o', 'a=b'], ['-C', ''], ['-C', 'Builtin,SERVICE', 'mail_version']),
];

/*
 * Postfix sleeps a second before exiting on a fatal error, so the real runs
 * overlap (a few at a time; they mostly sleep).
 */
const MAX_PARALLEL = 8;
let running = 0;
const waiting: Array<() => void> = [];

async function runReal(args: readonly string[]): Promise<{ stdout: string; stderr: string; status: number | null; pid: number | undefined }> {
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    const child = spawn(POSTCONF, args, { argv0: 'postconf', env: { PATH: '/usr/sbin:/usr/bin:/bin', LANG: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return { stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), status, pid: child.pid };
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function normalize(text: string, dir: string, pid: number | undefined, unordered: boolean): string {
  let lines = text.split(dir).join('<DIR>').split('\n');
  if (pid !== undefined) lines = lines.map((l) => (l === `process_id = ${pid}` || l === String(pid) ? 'process_id = <PID>' : l));
  if (!unordered) return lines.join('\n');
  const randomOrder = /: (unused parameter|undefined parameter|read-only parameter assignment): /;
  const out: string[] = [];
  let run: string[] = [];
  for (const line of [...lines, '']) {
    if (randomOrder.test(line)) {
      run.push(line);
      continue;
    }
    out.push(...run.sort(), line);
    run = [];
  }
  out.pop();
  return out.join('\n');
}

function fileState(dir: string, name: string, appendOrder: boolean): string | undefined {
  if (!existsSync(join(dir, name))) return undefined;
  const text = readConfigFile(dir, name);
  return appendOrder ? text.split('\n').sort().join('\n') : text;
}

const withPostconf = gatedTests({
  what: 'postconf(1)',
  missing: () => (existsSync(POSTCONF) ? null : `${POSTCONF} is not installed (${CASES.length} differential cases)`),
});

withPostconf.test('differential case count', (t) => {
  t.log(`${CASES.length} differential cases`);
  t.true(CASES.length >= 150);
});
CASES.forEach((c, i) => {
  withPostconf.test(`#${i + 1} [${c.corpus}] postconf ${c.args.map((a) => JSON.stringify(a)).join(' ')}`, async (t) => {
    const theirs = makeConfigDir(t, CORPUS[c.corpus]);
    const ours = makeConfigDir(t, CORPUS[c.corpus]);
    const real = await runReal(['-c', theirs, ...c.args]);
    const mine = runOurs(ours, c.args);
    const realOut = real.stdout;
    const realErr = real.stderr;
    t.is(normalize(mine.stdout, ours, process.pid, false), normalize(realOut, theirs, real.pid, false), 'stdout');
    t.is(normalize(mine.stderr, ours, undefined, c.unordered ?? false), normalize(realErr, theirs, undefined, c.unordered ?? false), 'stderr');
    t.is(mine.status as number | null, real.status, 'exit status');
    for (const name of ['main.cf', 'master.cf']) {
      t.is(fileState(ours, name, c.appendOrder ?? false), fileState(theirs, name, c.appendOrder ?? false), name);
    }
  });
});

withPostconf.test('concurrent editors, ours and Postfix\'s, lose no update', async (t) => {
  const dir = makeConfigDir(t, { 'main.cf': MAIN_STOCK, 'master.cf': MASTER_STOCK });
  const ourScript = join(repoRoot, 'dist', 'src', 'config', 'postconf', 'postconf.js');
  const runner = `import(${JSON.stringify(ourScript)}).then((m) => { process.exitCode = m.runPostconfMain(process.argv.slice(1), ` +
    '{ env: {}, writeStdout: (d) => process.stdout.write(d), writeStderr: (d) => process.stderr.write(d) }); });';
  const children = Array.from({ length: 8 }, (_, i) => {
    const args = ['-c', dir, '-e', `concurrent_${i} = ${i}`];
    return i % 2 === 0 ? spawn(POSTCONF, args) : spawn(process.execPath, ['--input-type=module', '-e', runner, '--', ...args]);
  });
  const codes = await Promise.all(children.map((child) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))));
  t.deepEqual(codes, Array<number | null>(8).fill(0));
  const text = readFileSync(join(dir, 'main.cf'), 'latin1');
  for (let i = 0; i < 8; i++) t.true(text.includes(`concurrent_${i} = ${i}\n`), `concurrent_${i}`);
  t.true(text.startsWith(MAIN_STOCK));
});
