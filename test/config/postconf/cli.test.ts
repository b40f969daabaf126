/*
 * cli.test.ts - `fastflush postconf` as a commander subcommand and as a
 * plain function: postconf's arguments (including -c, -v and -h, which the
 * fastflush program also defines) reach postconf untouched; --help;
 * MAIL_CONFIG.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runPostconfMain } from '../../../src/config/postconf/postconf.js';
import { repoRoot } from '../../helpers/paths.js';
import { makeConfigDir } from './helpers.js';

const COMMAND_MODULE = join(repoRoot, 'dist', 'src', 'cli', 'postconf-command.js');
const COMMANDER = join(repoRoot, 'node_modules', 'commander', 'index.js');

/* A program shaped like bin/fastflush: global -c and -v, plus the postconf subcommand. */
const PROGRAM = `
import { Command } from ${JSON.stringify(COMMANDER)};
import { registerPostconfCommand } from ${JSON.stringify(COMMAND_MODULE)};
const program = new Command('fastflush')
  .option('-c, --config-dir <dir>', 'configuration directory')
  .option('-v, --verbose', 'verbose', (_v, previous) => previous + 1, 0);
registerPostconfCommand(program);
// Under -e there is no script name in argv; put one where bin/fastflush has it.
process.argv.splice(1, 0, 'fastflush');
await program.parseAsync(process.argv);
`;

function fastflush(...args: string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', PROGRAM, '--', 'postconf', ...args], { encoding: 'latin1' });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

test('arguments pass through commander untouched', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'mail_name = Other\n', 'master.cf': 'flush unix n - n 1000? 0 flush\n' });
  t.deepEqual(fastflush('-c', dir, '-h', 'mail_name'), { stdout: 'Other\n', stderr: '', status: 0 });
  t.deepEqual(fastflush('-c', dir, '-n'), { stdout: `config_directory = ${dir}\nmail_name = Other\n`, stderr: '', status: 0 });
  t.is(fastflush('-c', dir, '-Fh', 'flush/unix/wakeup').stdout, '1000?\n');
  const verbose = fastflush('-c', dir, '-v');
  t.is(verbose.status, 1);
  t.is(verbose.stderr, 'postconf: fatal: option -v (verbose logging) is not supported by fastflush postconf\n');
});

test('--help documents the options', (t) => {
  const help = fastflush('--help');
  t.is(help.status, 0);
  for (const flag of ['-d', '-n', '-h', '-H', '-x', '-f', '-C', '-o', '-e', '-X', '-#', '-M', '-F', '-P', '-PX', '-MX', '-M#', '-c']) {
    t.true(help.stdout.includes(`${flag} `) || help.stdout.includes(`${flag}[`), flag);
  }
});

test('MAIL_CONFIG names the directory when there is no -c', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': 'mail_name = Env\n', 'master.cf': '' });
  const out: Buffer[] = [];
  const status = runPostconfMain(['-n'], { env: { MAIL_CONFIG: dir }, writeStdout: (d) => out.push(d), writeStderr: () => {} });
  t.is(status, 0);
  t.is(Buffer.concat(out).toString('latin1'), `config_directory = ${dir}\nmail_name = Env\n`);
});
