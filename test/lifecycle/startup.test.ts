/*
 * startup.test.ts - start-up refusals of the skeleton: each is a fatal error
 * with Postfix's wording, logged (here to stderr through -V), followed by the
 * one-second pause and exit status 1.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { makeInstance, type Instance } from './instance.js';

async function startFails(
  t: import('ava').ExecutionContext, args: string[], expected: string | ((instance: Instance) => string),
  options: { generation?: string | null; mainCf?: string } = {},
): Promise<void> {
  const instance: Instance = await makeInstance(options.mainCf ?? '');
  try {
    const started = Date.now();
    const child = instance.spawn(args, { generation: options.generation });
    const exit = await child.exit;
    t.deepEqual(exit, { code: 1, signal: null });
    t.true(Date.now() - started >= 1000, 'fatal errors pause one second before the exit');
    const text = typeof expected === 'string' ? expected : expected(instance);
    t.true(child.stderr.includes(`postfix/flush: fatal: ${text}\n`), child.stderr);
    t.deepEqual(child.statuses, []);
  } finally {
    instance.cleanup();
  }
}

test('bad option', (t) => startFails(t, ['-V', '-z', '-x', '-t', 'unix'], 'invalid option: x'));
test('missing option argument', (t) => startFails(t, ['-V', '-z', '-t'], 'invalid option: t'));
test('bad -o value', (t) => startFails(t, ['-V', '-o', 'max_use'],
  'invalid "-o max_use" option value: missing \'=\' after attribute name'));
test('no transport', (t) => startFails(t, ['-V', '-z'], 'no transport type specified'));
test('unknown transport', (t) => startFails(t, ['-V', '-z', '-t', 'fifo'], 'unsupported transport type: fifo'));
test('pass transport', (t) => startFails(t, ['-V', '-z', '-t', 'pass'],
  'unsupported transport type: pass (Node.js cannot receive passed file descriptors)'));
test('process limit other than 0', (t) => startFails(t, ['-V', '-t', 'unix'], 'service flush requires a process limit of 0'));
test('service name from -n in the process-limit message', (t) => startFails(t, ['-V', '-n', 'fast', '-t', 'unix'],
  'service fast requires a process limit of 0'));
test('leftover argument', (t) => startFails(t, ['-V', '-z', '-t', 'unix', 'extra'], 'unexpected command-line argument: extra'));
test('bad GENERATION', (t) => startFails(t, ['-V', '-z', '-t', 'unix'], 'bad generation: 8x', { generation: '8x' }));
test('bad parameter value from -o', (t) => startFails(t, ['-V', '-z', '-t', 'unix', '-o', 'max_use=0'],
  'invalid max_use parameter value 0 < 1'));
test('maillog_file outside maillog_file_prefixes', (t) => startFails(t, ['-V', '-z', '-t', 'unix'],
  "maillog_file value '/tmp/x.log' does not match any prefix in maillog_file_prefixes", { mainCf: 'maillog_file = /tmp/x.log\n' }));
test('unknown mail_owner with -u', (t) => startFails(t, ['-V', '-z', '-t', 'unix', '-u', '-o', 'mail_owner=no-such-user'],
  (instance) => `file ${instance.configDir}/main.cf: parameter mail_owner: unknown user name value: no-such-user`));
test('mail_owner root with -u', (t) => startFails(t, ['-V', '-z', '-t', 'unix', '-u', '-o', 'mail_owner=root'],
  (instance) => `file ${instance.configDir}/main.cf: parameter mail_owner: user root has privileged user ID`));

const hasScript = spawnSync('script', ['--version']).status === 0;

(hasScript ? test : test.skip)('a terminal on stdin is refused unless -d', async (t) => {
  const instance = await makeInstance();
  try {
    const run = (args: string): ReturnType<typeof spawnSync> => spawnSync('script', [
      '-qec', `"${process.execPath}" "${instance.program}" ${args}`, '/dev/null',
    ], { cwd: instance.spool, env: { ...process.env, MAIL_CONFIG: instance.configDir }, encoding: 'utf8' });
    const refused = run('-z -t unix');
    t.is(refused.status, 1);
    t.regex(String(refused.stdout), /^flush: fatal: do not run this command by hand\r?$/m);
    // With -d the check is skipped; it gets as far as the missing status channel.
    const allowed = run('-d -V -z -t unix');
    t.notRegex(String(allowed.stdout), /do not run this command by hand/);
    t.regex(String(allowed.stdout), /postfix\/flush: fatal: status channel: /);
  } finally {
    instance.cleanup();
  }
});
