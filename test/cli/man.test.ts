/*
 * man.test.ts - the man pages cannot drift from the program: every command, option, example
 * and exit status that `fastflush <command> --help` prints must be in man/fastflush.1 (in the
 * command's own section where that makes sense), both pages carry package.json's version, and
 * package.json's `man` field installs them.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_HELP } from '../../src/cli/command-help.js';
import { repoRoot } from '../helpers/paths.js';

const CLI = join(repoRoot, 'dist/src/cli/fastflush.js');
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; man: string[] };

function help(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

/** roff source as plain text: no font escapes, `\-` as '-', request lines kept. */
function plain(roff: string): string {
  return roff.replace(/\\f[BIRP]/g, '').replace(/\\-/g, '-').replace(/\\\(em/g, '-');
}

const page = plain(readFileSync(join(repoRoot, 'man/fastflush.1'), 'utf8'));

/** The text of one `.SH`/`.SS` section, up to the next section of either kind. */
function section(title: RegExp): string {
  const start = page.search(title);
  if (start < 0) return '';
  const next = page.slice(start + 1).search(/^\.S[HS] /m);
  return next < 0 ? page.slice(start) : page.slice(start, start + 1 + next);
}

/** "Options:" lines of a help text: the long flag of each, --help excepted. */
function longFlags(text: string, heading: string): string[] {
  const at = text.indexOf(`\n${heading}:\n`);
  if (at < 0) return [];
  const block = text.slice(at + 1).split('\n\n')[0]!;
  return [...block.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!).filter((flag) => flag !== '--help');
}

function listBlock(text: string, heading: string): string[] {
  const at = text.indexOf(`\n${heading}:\n`);
  if (at < 0) return [];
  return text.slice(at + heading.length + 3).split('\n\n')[0]!.split('\n').map((line) => line.trim()).filter((line) => line !== '');
}

test('package.json installs both pages, and they carry its version', (t) => {
  t.deepEqual(pkg.man, ['./man/fastflush.1', './man/fastflush.8']);
  for (const file of pkg.man) {
    t.true(existsSync(join(repoRoot, file)), file);
    t.regex(readFileSync(join(repoRoot, file), 'utf8'), new RegExp(`^\\.TH FASTFLUSH [18] \\S+ "fastflush ${pkg.version.replace(/\./g, '\\.')}"`, 'm'), file);
  }
});

test('fastflush(1) has every command, option, example and exit status that --help shows', async (t) => {
  const overview = await help(['--help']);
  for (const flag of longFlags(overview, 'Options')) t.true(section(/^\.SH GLOBAL OPTIONS/m).includes(flag), `global ${flag}`);
  const commands = [...overview.slice(overview.indexOf('Commands:\n')).matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  t.deepEqual([...commands].sort(), Object.keys(COMMAND_HELP).sort());
  const examples = section(/^\.SH EXAMPLES/m);
  const exits = section(/^\.SH EXIT STATUS/m).replace(/\n/g, ' ');
  for (const command of commands) {
    const own = section(new RegExp(`^\\.SS "?${command}\\b(?!-)`, 'm'));
    t.not(own, '', `section for ${command}`);
    const text = await help(['help', command]);
    for (const flag of longFlags(text, 'Options')) t.true(own.includes(flag), `${command} ${flag}`);
    for (const example of listBlock(text, 'Examples')) t.true(examples.includes(example), `example: ${example}`);
    for (const line of listBlock(text, 'Exit status')) {
      const [, code, meaning] = /^(\d+) +(.*)$/.exec(line)!;
      t.true(exits.includes(`${code} ${meaning}`), `${command} exit ${code} ${meaning}`);
    }
  }
});
