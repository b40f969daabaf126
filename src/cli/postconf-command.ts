/*
 * postconf-command.ts - `fastflush postconf ...`: Postfix 3.7's postconf(1)
 * for main.cf and master.cf (src/config/postconf/). The arguments are
 * postconf's own and must reach it untouched, so commander must not parse
 * them: runPostconf() takes the raw arguments, and registerPostconfCommand()
 * adds a command whose action hands over everything after the word
 * "postconf" in process.argv (commander may already have taken the
 * program's global -c/-v for itself, while postconf needs them). Running
 * runPostconf() before commander sees the arguments is better still: then
 * even `postconf -c` without a value gets postconf's own complaint.
 *
 * Exports: POSTCONF_HELP, runPostconf, registerPostconfCommand.
 */
import type { Command } from 'commander';
import { runPostconfMain } from '../config/postconf/postconf.js';
import { helpEpilogue } from './command-help.js';

export const POSTCONF_HELP = `Usage: fastflush postconf [options] [name... | name=value... | service/type...]

Postfix 3.7 postconf(1) for main.cf and master.cf: same options, output,
messages and exit status. The configuration directory is -c, else
$MAIL_CONFIG, else /etc/postfix.

main.cf parameters:
  postconf [-dfhHnx] [-C class,...] [-o name=value]... [name...]
      show all parameters, or the named ones
      -d  built-in defaults only          -n  only settings in main.cf (or -o)
      -h  values only                     -H  names only
      -x  expand $name in values          -f  fold long lines at 80 columns
      -C  builtin, service, user or all (comma-separated)
      -o  override a main.cf setting for this display (repeatable)
  postconf [-e] name=value...     set parameters (-e is implied by "=")
  postconf -X name...             remove parameters
  postconf -# name...             comment out parameters

master.cf:
  postconf -M [-fx] [service[/type]...]                 show entries
  postconf -M[e] service/type='service type private unpriv chroot wakeup maxproc command...'
                                                        replace or add an entry
  postconf -M# service/type...                          comment out entries
  postconf -MX service/type...                          remove entries
  postconf -F [-fhHx] [service[/type[/field]]...]       show fields
  postconf -F[e] service/type/field=value...            change a field
  postconf -P [-fhHx] [service[/type[/parameter]]...]   show -o parameters
  postconf -P[e] service/type/parameter=value...        add or change -o parameter=value
  postconf -PX service/type/parameter...                remove -o parameters

common:
  -c config_dir   configuration directory
  --help          this text (only as the sole argument)

Edits replace the file atomically (<file>.tmp, flock, fsync, rename) and keep
its mode. Not supported (fatal error, exit 1): -a -A -b -l -m -t -T -v.
`;

/** Runs postconf with process stdio; resolves to the exit status. */
export async function runPostconf(argv: string[]): Promise<number> {
  if (argv.length === 1 && argv[0] === '--help') {
    process.stdout.write(POSTCONF_HELP);
    return 0;
  }
  const status = runPostconfMain(argv, {
    env: process.env,
    writeStdout: (data) => process.stdout.write(data),
    writeStderr: (data) => process.stderr.write(data),
  });
  return status;
}

/**
 * Adds `postconf` to a commander program. The action ignores what
 * commander parsed and passes on the raw arguments after "postconf".
 */
export function registerPostconfCommand(program: Command): void {
  program
    .command('postconf')
    .summary('show or edit main.cf and master.cf like Postfix postconf(1)')
    .description(POSTCONF_HELP)
    .addHelpText('after', helpEpilogue('postconf'))
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async () => {
      process.exitCode = await runPostconf(process.argv.slice(process.argv.indexOf('postconf', 2) + 1));
    });
}
