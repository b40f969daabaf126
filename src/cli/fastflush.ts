/*
 * fastflush.ts - the administrator's command (entry point of bin/fastflush).
 *
 *   fastflush [-c config_dir] [-v] send <site>              request send_site
 *   fastflush [-c config_dir] [-v] send-file <queue_id>     request send_file
 *   fastflush [-c config_dir] [-v] add <site> <queue_id>    request add
 *   fastflush [-c config_dir] [-v] refresh                  request rfrsh
 *   fastflush [-c config_dir] [-v] purge                    request purge
 *       client options: --socket <path> (skip main.cf), --timeout <seconds>
 *   fastflush [-c config_dir] send <site> --dry-run         what a send would do (admin-commands.ts)
 *   fastflush [-c config_dir] status [site...] [--json|--openmetrics] [-q]
 *   fastflush [-c config_dir] compact [site...] [-q]        see admin-commands.ts
 *   fastflush [-c config_dir] [-v] master [-d] [--once-self-check] [--child-stderr]
 *   fastflush postconf ...      postconf(1), see postconf-command.ts
 *   fastflush [-c config_dir] install|uninstall [--restart]    see install.ts
 *   fastflush --version | help [command] | <command> --help
 *       every command's help ends with examples and its exit statuses
 *       (command-help.ts, the same text fastflush(1) is checked against)
 *
 * Client commands talk to `<queue_directory>/public/<flush_service_name>`
 * (from main.cf in -c, $MAIL_CONFIG or /etc/postfix) like postqueue does and
 * exit like postqueue -s/-i (exit-status.ts). Unlike postqueue they do not
 * pre-check the site against fast_flush_domains or its syntax: the server
 * checks both, and a tool for exercising a flush server should let it.
 * Usage errors exit 64 (EX_USAGE), configuration errors 1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { DEFAULT_CONFIG_DIR } from '../config/load.js';
import { FLUSH_REQUEST } from '../protocol/flush-messages.js';
import { FatalError, msg } from '../util/msg.js';
import { EX, describeFlushStatus } from './exit-status.js';
import { loadCliConfig } from './config.js';
import { callFlush, flushSocketName, type FlushClientOptions, type FlushClientRequest } from './flush-client.js';
import { logToStderr } from './log.js';
import { registerInstallCommands } from './install.js';
import { registerAdminCommands, runDryRun } from './admin-commands.js';
import { helpEpilogue } from './command-help.js';
import { registerPostconfCommand, runPostconf } from './postconf-command.js';

interface GlobalOptions {
  configDir?: string;
  verbose: number;
}

interface ClientOptions extends GlobalOptions {
  socket?: string;
  timeout?: number;
  /** send only. */
  dryRun?: boolean;
}

interface MasterOptions extends GlobalOptions {
  debug?: boolean;
  onceSelfCheck?: boolean;
  childStderr?: boolean;
}

/** package.json's version, read at start-up (it is not compiled in). */
function packageVersion(): string {
  const file = fileURLToPath(new URL('../../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** ipc_timeout's default, used when --socket bypasses main.cf. */
const DEFAULT_IPC_TIMEOUT_SEC = 3600;

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CommanderError(EX.USAGE, 'fastflush.badNumber', `bad number: ${value}`);
  return Number(value);
}

function countVerbose(_value: string, previous: number): number {
  return previous + 1;
}

function clientTarget(opts: ClientOptions): FlushClientOptions {
  if (opts.socket !== undefined) {
    return { socketPath: opts.socket, name: opts.socket, timeoutSec: opts.timeout ?? DEFAULT_IPC_TIMEOUT_SEC };
  }
  // Like postqueue -c: the directory is handed on through MAIL_CONFIG.
  if (opts.configDir !== undefined) process.env['MAIL_CONFIG'] = opts.configDir;
  const configDir = process.env['MAIL_CONFIG'] ?? DEFAULT_CONFIG_DIR;
  const config = loadCliConfig(configDir, process.env, 'fastflush');
  const service = config.get('flush_service_name');
  return {
    socketPath: join(config.get('queue_directory'), 'public', service),
    name: flushSocketName(service),
    timeoutSec: opts.timeout ?? config.getTime('ipc_timeout'),
  };
}

async function runClient(req: FlushClientRequest, opts: ClientOptions): Promise<void> {
  msg.verbose += opts.verbose;
  const target = clientTarget(opts);
  if (msg.verbose) msg.info(`connecting to ${target.socketPath}`);
  const status = await callFlush(req, target);
  if (msg.verbose) msg.info(`${req.request}: status ${status}`);
  const outcome = describeFlushStatus(req, status);
  if (outcome.message !== undefined) {
    process.exitCode = outcome.exitCode;
    msg.fatal(outcome.message);
  }
}

function clientCommand(program: Command, usage: string, description: string, build: (args: string[]) => FlushClientRequest): Command {
  const name = usage.split(' ')[0]!;
  return program
    .command(usage)
    .description(description)
    .option('--socket <path>', 'talk to this socket instead of the one main.cf names')
    .option('--timeout <seconds>', 'limit for the connect and each read and write (default: ipc_timeout)', positiveInteger)
    .addHelpText('after', helpEpilogue(name))
    .action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      const opts = command.optsWithGlobals<ClientOptions>();
      if (opts.dryRun === true) {
        await runDryRun(command.args[0]!, opts);
        return;
      }
      await runClient(build(command.args), opts);
    });
}

function buildProgram(): Command {
  const program = new Command('fastflush')
    .description('fast flush client and master(8)-compatible supervisor')
    .option('-c, --config-dir <dir>', 'configuration directory (default: $MAIL_CONFIG or /etc/postfix)')
    .option('-v, --verbose', 'more verbose logging (repeatable)', countVerbose, 0)
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', `\nRun "fastflush help <command>" for a command's options, examples and exit statuses.\nExit statuses are <sysexits.h> values, as postqueue(1) uses them.\n`)
    .exitOverride();

  clientCommand(program, 'send <site>', 'deliver the mail queued for a site (send_site)', ([site]) => ({
    request: FLUSH_REQUEST.SEND_SITE,
    site,
  })).option('-n, --dry-run', 'list what a send would do, reading the queue directly; change nothing');
  clientCommand(program, 'send-file <queue_id>', 'deliver one queued message (send_file)', ([queueId]) => ({
    request: FLUSH_REQUEST.SEND_FILE,
    queueId,
  }));
  clientCommand(program, 'add <site> <queue_id>', 'record a queue id in the logfile of a site (add)', ([site, queueId]) => ({
    request: FLUSH_REQUEST.ADD,
    site,
    queueId,
  }));
  clientCommand(program, 'refresh', 'refresh old logfiles, drop stale empty ones (rfrsh)', () => ({
    request: FLUSH_REQUEST.REFRESH,
  }));
  clientCommand(program, 'purge', 'refresh every logfile now (purge)', () => ({ request: FLUSH_REQUEST.PURGE }));

  program
    .command('master')
    .description("run the services of master.cf like Postfix's master(8), in the foreground")
    .option('-d, --debug', 'pass -d to the children, as master -d does')
    .option('--once-self-check', 'after start-up, send one add and one send request to the flush service')
    .option('--child-stderr', "give children this process's stderr instead of /dev/null")
    .addHelpText('after', helpEpilogue('master'))
    .action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      const opts = command.optsWithGlobals<MasterOptions>();
      const { runMaster } = await import('./master/run.js');
      runMaster({
        configDir: opts.configDir,
        debug: opts.debug === true,
        verbose: opts.verbose > 0,
        onceSelfCheck: opts.onceSelfCheck === true,
        childStderr: opts.childStderr === true,
      });
    });
  registerAdminCommands(program);
  registerPostconfCommand(program);
  registerInstallCommands(program);
  program.helpCommand('help [command]', 'show the help of a command (exit 0, or 64)');
  return program;
}

async function main(argv: string[]): Promise<void> {
  // postconf's own flags (-c, -v, -h, ...) must not reach commander's parser.
  if (argv[2] === 'postconf') {
    process.exitCode = await runPostconf(argv.slice(3));
    return;
  }
  logToStderr('fastflush', false);
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EX.USAGE;
    } else if (err instanceof FatalError) {
      process.exitCode ??= 1;
    } else {
      throw err;
    }
  }
}

await main(process.argv);
