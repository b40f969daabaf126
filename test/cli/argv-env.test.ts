/*
 * argv-env.test.ts - what master(8) gives a child: the argument vector
 * (spec-protocol-master.md §5.2, real-postfix.md §4.6) and the scrubbed
 * environment (§5.3).
 */
import test from 'ava';
import { buildServiceArgv, isLocalOnly, servicePath } from '../../src/cli/master/argv.js';
import { childEnvironment, parseImportEnvironment, scrubEnvironment } from '../../src/cli/master/environment.js';
import { parseMasterCf } from '../../src/cli/master/master-cf.js';
import { DEFAULT_IMPORT_ENVIRONMENT } from './support.js';

const ctx = { path: 'master.cf', defaultProcessLimit: 100, compatibilityLevel: '3.11' };

function argvOf(line: string, opts: { debug?: boolean; verbose?: boolean; listenCount?: number } = {}): string[] {
  const [entry] = parseMasterCf(`${line}\n`, ctx);
  return buildServiceArgv(entry!, {
    debug: opts.debug ?? false,
    verbose: opts.verbose ?? false,
    listenCount: opts.listenCount ?? 1,
    localOnly: isLocalOnly(entry!),
  });
}

test('argv vectors', (t) => {
  const vectors: Array<[string, string[], Parameters<typeof argvOf>[1]?]> = [
    // The stock entry, as observed against the real master.
    ['flush     unix  n       -       n       1000?   0       flush', ['flush', '-z', '-t', 'unix', '-u']],
    ['flush     unix  n       -       n       1000?   0       flush', ['flush', '-z', '-t', 'unix', '-d', '-u'], { debug: true }],
    ['flush     unix  n       -       y       1000?   0       flush', ['flush', '-z', '-t', 'unix', '-u', '-c']],
    ['flush     unix  n       n       n       1000?   0       flush', ['flush', '-z', '-t', 'unix']],
    [
      'flush     unix  n       -       n       1000?   0       flush -o max_use=100000',
      ['flush', '-z', '-t', 'unix', '-u', '-o', 'max_use=100000'],
    ],
    ['pickup    unix  n       -       y       60      1       pickup', ['pickup', '-l', '-t', 'unix', '-u', '-c']],
    ['relay     unix  -       -       n       -       -       smtp', ['smtp', '-n', 'relay', '-t', 'unix', '-u']],
    ['defer     unix  -       -       n       -       0       bounce', ['bounce', '-z', '-n', 'defer', '-t', 'unix', '-u']],
    ['local     unix  -       n       n       -       -       local', ['local', '-t', 'unix']],
    ['postlog   unix-dgram n  -       n       -       1       postlogd', ['postlogd', '-l', '-n', 'postlog', '-t', 'unix-dgram', '-u']],
    ['qmgr      fifo  n       -       n       300     1       qmgr', ['qmgr', '-l', '-t', 'fifo', '-u']],
    // Every flag at once, in master's order.
    ['x unix n - y - 1 x -o a=b', ['x', '-l', '-t', 'unix', '-d', '-v', '-u', '-c', '-o', 'a=b'], { debug: true, verbose: true }],
    // -n uses the basename of the command; the path itself stays argv[0].
    ['flush unix n - n 1000? 0 ../../../../opt/ff/bin/flush', ['../../../../opt/ff/bin/flush', '-z', '-t', 'unix', '-u']],
    ['flush unix n - n 1000? 0 fastflush', ['fastflush', '-z', '-n', 'flush', '-t', 'unix', '-u']],
    // Stress only for services other hosts can reach, with a limit above 1.
    ['smtp      inet  n       -       n       -       -       smtpd', ['smtpd', '-n', 'smtp', '-t', 'inet', '-u', '-o', 'stress=']],
    ['127.0.0.1:10025 inet n  -       n       -       -       smtpd', ['smtpd', '-n', '127.0.0.1:10025', '-t', 'inet', '-u']],
    ['[::1]:10025 inet n      -       n       -       -       smtpd', ['smtpd', '-n', '[::1]:10025', '-t', 'inet', '-u']],
    ['localhost:10025 inet n  -       n       -       -       smtpd', ['smtpd', '-n', 'localhost:10025', '-t', 'inet', '-u']],
    ['smtp      inet  n       -       n       -       1       smtpd', ['smtpd', '-l', '-n', 'smtp', '-t', 'inet', '-u']],
    ['smtp      inet  n       -       n       -       0       smtpd', ['smtpd', '-z', '-n', 'smtp', '-t', 'inet', '-u']],
    ['smtp      pass  -       -       n       -       -       smtpd', ['smtpd', '-n', 'smtp', '-t', 'pass', '-u', '-o', 'stress=']],
    ['smtp inet n - n - - smtpd -o x=1', ['smtpd', '-n', 'smtp', '-t', 'inet', '-u', '-o', 'stress=', '-s', '2', '-o', 'x=1'], { listenCount: 2 }],
  ];
  for (const [line, expected, opts] of vectors) t.deepEqual(argvOf(line, opts), expected, line);
});

test('exec path is daemon_directory + "/" + command, absolute or not', (t) => {
  t.is(servicePath('/usr/lib/postfix/sbin', 'flush'), '/usr/lib/postfix/sbin/flush');
  t.is(servicePath('/usr/lib/postfix/sbin', '/opt/ff/bin/flush'), '/usr/lib/postfix/sbin//opt/ff/bin/flush');
  t.is(servicePath('/usr/lib/postfix/sbin', '../../../../opt/ff/bin/flush'), '/usr/lib/postfix/sbin/../../../../opt/ff/bin/flush');
});

test('default import_environment keeps its names and sets LANG=C', (t) => {
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: '/root',
    MAIL_CONFIG: '/srv/etc',
    TZ: 'UTC',
    LANG: 'en_US.UTF-8',
    SECRET: 'x',
    XDG_RUNTIME_DIR: '/run/user/0',
  };
  t.deepEqual(scrubEnvironment(parseImportEnvironment(DEFAULT_IMPORT_ENVIRONMENT), env), {
    MAIL_CONFIG: '/srv/etc',
    TZ: 'UTC',
    LANG: 'C',
    XDG_RUNTIME_DIR: '/run/user/0',
  });
});

test('import_environment items: later ones win, braces allow spaces', (t) => {
  const list = parseImportEnvironment('FOO, LANG=C,{ GREETING = hello world }  FOO=set');
  t.deepEqual(list, ['FOO', 'LANG=C', 'GREETING = hello world', 'FOO=set']);
  t.deepEqual(scrubEnvironment(list, { FOO: 'orig', LANG: 'de' }), { FOO: 'set', LANG: 'C', GREETING: 'hello world' });
  t.deepEqual(scrubEnvironment(['MISSING'], {}), {});
});

test('GENERATION is octal', (t) => {
  t.deepEqual(childEnvironment({ LANG: 'C' }, 45), { LANG: 'C', GENERATION: '55' });
  t.deepEqual(childEnvironment({}, 8), { GENERATION: '10' });
});
