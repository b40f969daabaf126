/*
 * help.test.ts - the command line conventions: --version, `help <command>`, and --help on every
 * command ending with its examples and exit statuses.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_HELP } from '../../src/cli/command-help.js';
import { repoRoot } from '../helpers/paths.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Command names as the top-level help lists them. */
async function listedCommands(): Promise<string[]> {
  const { stdout } = await runCli(['--help']);
  const section = stdout.slice(stdout.indexOf('Commands:\n'));
  return [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

test('--version and -V print package.json version and exit 0', async (t) => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  t.deepEqual(await runCli(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
  t.deepEqual(await runCli(['-V']), { code: 0, stdout: `${version}\n`, stderr: '' });
});

test('every command has help with examples and exit statuses, by `help <command>` and by --help', async (t) => {
  const commands = await listedCommands();
  t.deepEqual([...commands].sort(), Object.keys(COMMAND_HELP).sort());
  for (const name of commands) {
    const viaHelp = await runCli(['help', name]);
    t.is(viaHelp.code, 0, name);
    t.regex(viaHelp.stdout, new RegExp(`^Usage: fastflush ${name}\\b`), name);
    t.regex(viaHelp.stdout, /\nExamples:\n {2}fastflush .*\n[^]*\nExit status:\n {2}0 /, name);
    for (const [code] of COMMAND_HELP[name]!.exitStatus) t.regex(viaHelp.stdout, new RegExp(`\\n {2}${code} +\\S`), `${name} ${code}`);
    if (name !== 'postconf' && name !== 'help') t.deepEqual(await runCli([name, '--help']), viaHelp, name);
  }
});

test('help without a command is the overview; an unknown command is a usage error', async (t) => {
  const overview = await runCli(['help']);
  t.is(overview.code, 0);
  t.regex(overview.stdout, /\n {2}help \[command\] +show the help of a command \(exit 0, or 64\)\n/);
  t.is((await runCli(['help', 'no-such-command'])).code, 64);
});
