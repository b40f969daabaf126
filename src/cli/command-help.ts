/*
 * command-help.ts - the examples and exit statuses of every fastflush command,
 * in one table: `fastflush <command> --help` (and `fastflush help <command>`)
 * print them after commander's usage, and the man page fastflush(1) is checked
 * against the same --help output in a test, so neither can drift.
 *
 * Exit statuses are <sysexits.h> values, as postqueue(1) uses them; 1 is a
 * fatal configuration error, as in every Postfix program.
 *
 * Exports: COMMAND_HELP, helpEpilogue(name), EXIT_STATUS_TEXT.
 */
import { EX } from './exit-status.js';

export interface CommandHelp {
  examples: string[];
  exitStatus: Array<[number, string]>;
}

const CONFIG_FATAL: [number, string] = [1, 'main.cf is missing or has a fatal error'];

const CLIENT_EXITS: Array<[number, string]> = [
  [EX.OK, 'the flush server accepted the request'],
  [EX.USAGE, 'bad usage, or the server refused the request as invalid'],
  [EX.UNAVAILABLE, 'the server cannot be reached, or (send) the site is not in fast_flush_domains'],
  [EX.SOFTWARE, 'the server answered with an unknown status'],
  CONFIG_FATAL,
];

const QUEUE_READER_EXITS: Array<[number, string]> = [
  [EX.OK, 'done'],
  [EX.USAGE, 'bad usage, or a site that cannot name a logfile'],
  [EX.NOPERM, 'the queue directory or a logfile cannot be read (run as root or mail_owner)'],
  [EX.IOERR, 'another error while reading or writing a file'],
  CONFIG_FATAL,
];

export const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  send: {
    examples: ['fastflush send example.com', 'fastflush send example.com --dry-run', 'fastflush send example.com --socket /var/spool/postfix/public/flush'],
    exitStatus: CLIENT_EXITS,
  },
  'send-file': { examples: ['fastflush send-file 3F2A1B4C5D'], exitStatus: CLIENT_EXITS },
  add: { examples: ['fastflush add example.com 3F2A1B4C5D'], exitStatus: CLIENT_EXITS },
  refresh: { examples: ['fastflush refresh', 'fastflush -c /etc/postfix-out refresh --timeout 60'], exitStatus: CLIENT_EXITS },
  purge: { examples: ['fastflush purge'], exitStatus: CLIENT_EXITS },
  status: {
    examples: [
      'fastflush status',
      'fastflush status example.com example.net',
      'fastflush status --json | jq .destinations[0]',
      'cd /var/lib/node_exporter/textfile && fastflush status --openmetrics >fastflush.tmp && mv fastflush.tmp fastflush.prom',
    ],
    exitStatus: QUEUE_READER_EXITS,
  },
  compact: { examples: ['fastflush compact', 'fastflush compact example.com --quiet'], exitStatus: QUEUE_READER_EXITS },
  master: { examples: ['fastflush -c conf master', 'fastflush master -d --child-stderr'], exitStatus: [[EX.OK, 'stopped by SIGTERM'], [1, 'fatal error']] },
  postconf: { examples: ['fastflush postconf -n', 'fastflush postconf -c conf -e fast_flush_refresh_time=6h'], exitStatus: [[EX.OK, 'success'], [1, 'fatal error, as postconf(1)']] },
  install: { examples: ['fastflush install', 'fastflush -c /etc/postfix install --restart'], exitStatus: [[EX.OK, 'installed (or already installed)'], [1, 'fatal error; master.cf is left as it was']] },
  uninstall: { examples: ['fastflush uninstall --restart'], exitStatus: [[EX.OK, 'uninstalled (or not installed)'], [1, 'fatal error; master.cf is left as it was']] },
};

export function helpEpilogue(name: string): string {
  const help = COMMAND_HELP[name];
  if (help === undefined) throw new Error(`no help for command ${name}`);
  const examples = help.examples.map((line) => `  ${line}`).join('\n');
  const exits = help.exitStatus.map(([code, text]) => `  ${String(code).padEnd(3)} ${text}`).join('\n');
  return `\nExamples:\n${examples}\n\nExit status:\n${exits}\n`;
}
