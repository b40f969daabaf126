/*
 * admin-commands.ts - the commands that read (and, for compact, rewrite) the
 * fast flush logfiles directly instead of asking the flush server:
 *
 *   fastflush [-c dir] status [site...] [--json | --openmetrics] [--quiet]
 *   fastflush [-c dir] send <site> --dry-run
 *   fastflush [-c dir] compact [site...] [--quiet]
 *
 * They run where the queue is (as root or mail_owner), find it through main.cf
 * (queue_directory, hash_queue_names, hash_queue_depth), and never move mail:
 * the I/O and its locking rules are in src/queue/backlog.ts and compact.ts.
 * Without sites they cover every logfile, with a progress line on a terminal.
 * A site is turned into its logfile name as the flush server does; whether it
 * is in fast_flush_domains is not checked (a logfile left from an earlier
 * setting is still worth seeing).
 *
 * Exports: registerAdminCommands(program), runDryRun(site, opts).
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG_DIR } from '../config/load.js';
import { siteToLogfileName } from '../flush/site-path.js';
import { readLogfileBacklog, type QueueFileState } from '../queue/backlog.js';
import { compactLogfile } from '../queue/compact.js';
import { walkLogfiles } from '../queue/logfile-walk.js';
import { isValidQueueId } from '../queue/queue-id.js';
import { queueHashing, type QueueHashing } from '../queue/queue-path.js';
import { errorCode, strerror } from '../util/errors.js';
import { FatalError, msg } from '../util/msg.js';
import { renderJson, renderOpenMetrics, renderTable, sortByBacklog, type StatusRow } from './backlog-report.js';
import { helpEpilogue } from './command-help.js';
import { loadCliConfig } from './config.js';
import { EX } from './exit-status.js';
import { startProgress } from './progress.js';

interface QueueOptions {
  configDir?: string;
  verbose: number;
  quiet?: boolean;
}

interface StatusOptions extends QueueOptions {
  json?: boolean;
  openmetrics?: boolean;
}

interface QueueSetting {
  queueDir: string;
  hashing: QueueHashing;
  transitionalIdna: boolean;
}

function queueSetting(opts: QueueOptions): QueueSetting {
  if (opts.configDir !== undefined) process.env['MAIL_CONFIG'] = opts.configDir;
  const config = loadCliConfig(process.env['MAIL_CONFIG'] ?? DEFAULT_CONFIG_DIR, process.env, 'fastflush');
  return {
    queueDir: config.get('queue_directory'),
    hashing: queueHashing(config.getList('hash_queue_names'), config.getInt('hash_queue_depth')),
    transitionalIdna: config.getBool('enable_idna2003_compatibility'),
  };
}

/** Reports a file-system error with the exit status that says what kind it is; never returns. */
function fileFailure(what: string, error: unknown): never {
  const code = errorCode(error);
  process.exitCode = code === 'EACCES' || code === 'EPERM' ? EX.NOPERM : EX.IOERR;
  return msg.fatal(`${what}: ${strerror(error)}`);
}

interface Target {
  site: string | null;
  name: string;
}

/**
 * The logfiles named by the sites, or every regular file the flush service's
 * refresh would visit as a logfile (queue/logfile-walk.ts).
 */
async function targets(sites: string[], setting: QueueSetting): Promise<Target[]> {
  if (sites.length === 0) {
    const flushDir = `${setting.queueDir}/flush`;
    const found: Target[] = [];
    try {
      for await (const { name, dirent } of walkLogfiles(flushDir, (dir, error) => fileFailure(`scan ${dir}`, error))) {
        if (dirent.isFile()) found.push({ site: null, name });
      }
    } catch (error) {
      if (error instanceof FatalError) throw error; // a directory's open failure, reported
      return fileFailure(`scan ${flushDir}`, error);
    }
    return found;
  }
  return sites.map((site) => {
    const name = siteToLogfileName(site, setting.transitionalIdna);
    if (name === null || !isValidQueueId(name)) {
      process.exitCode = EX.USAGE;
      return msg.fatal(`bad destination: "${site}"`);
    }
    return { site, name };
  });
}

async function runStatus(sites: string[], opts: StatusOptions): Promise<void> {
  if (opts.json === true && opts.openmetrics === true) {
    process.exitCode = EX.USAGE;
    msg.fatal('--json and --openmetrics exclude each other');
  }
  const setting = queueSetting(opts);
  const list = await targets(sites, setting);
  const progress = startProgress('status', list.length, { quiet: opts.quiet === true });
  const rows: StatusRow[] = [];
  try {
    for (const { site, name } of list) {
      let backlog;
      try {
        backlog = await readLogfileBacklog(setting.queueDir, name, setting.hashing);
      } catch (error) {
        fileFailure(`read fast flush logfile ${name}`, error);
      }
      if (backlog === null) {
        if (site !== null && opts.quiet !== true) msg.warn(`no fast flush logfile for ${site}`);
      } else {
        rows.push({ site, backlog });
      }
      progress.step();
    }
  } finally {
    progress.done();
  }
  const sorted = sortByBacklog(rows);
  const now = Math.floor(Date.now() / 1000);
  if (opts.json === true) process.stdout.write(renderJson(sorted, setting.queueDir, now));
  else if (opts.openmetrics === true) process.stdout.write(renderOpenMetrics(sorted));
  else process.stdout.write(renderTable(sorted, now));
}

function dryRunAction(state: QueueFileState | null | undefined, duplicate: boolean): string {
  if (duplicate) return 'skip (repeated)';
  if (state === undefined) return 'skip (not a queue id)';
  if (state === null) return 'drop (no queue file)';
  if (state.queue === 'deferred') return 'move deferred -> incoming';
  if (state.queue === 'incoming') return 'touch (already in incoming)';
  return `leave alone (in ${state.queue}; dropped from the logfile)`;
}

/**
 * What `fastflush send <site>` would do, touching nothing: one line per
 * logfile line, then a summary. The logfile is read under its lock, with
 * O_NOATIME, and queue files are only stat()ed and read with O_NOATIME.
 */
export async function runDryRun(site: string, opts: QueueOptions): Promise<void> {
  const setting = queueSetting(opts);
  const [{ name }] = (await targets([site], setting)) as [Target];
  const lines: string[] = [];
  let backlog;
  try {
    backlog = await readLogfileBacklog(setting.queueDir, name, setting.hashing, (id, state, duplicate) => {
      lines.push(`${id.slice(0, 40)}\t${dryRunAction(state, duplicate)}`);
    });
  } catch (error) {
    fileFailure(`read fast flush logfile ${name}`, error);
  }
  if (backlog === null) {
    process.stdout.write(`${site}: no logfile flush/${name}: nothing to send\n`);
    return;
  }
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
  const moves = backlog.queued.deferred;
  const works = moves + backlog.queued.incoming;
  process.stdout.write(
    `${site}: ${backlog.ids} lines, ${moves} to move to incoming, ${backlog.queued.incoming} already in incoming; ` +
      (backlog.ids > 0 ? `logfile ${backlog.path} would be emptied` : 'logfile is empty') +
      (works > 0 ? '; qmgr would be asked to scan incoming' : '') +
      ' (dry run: nothing changed)\n',
  );
}

async function runCompact(sites: string[], opts: QueueOptions): Promise<void> {
  const setting = queueSetting(opts);
  const list = await targets(sites, setting);
  const progress = startProgress('compact', list.length, { quiet: opts.quiet === true });
  const total = { logfiles: 0, changed: 0, stale: 0, duplicates: 0, malformed: 0, bytesSaved: 0 };
  try {
    for (const { site, name } of list) {
      let result;
      try {
        result = await compactLogfile(setting.queueDir, name, setting.hashing);
      } catch (error) {
        fileFailure(`compact fast flush logfile ${name}`, error);
      }
      progress.step();
      if (result === null) {
        if (site !== null && opts.quiet !== true) msg.warn(`no fast flush logfile for ${site}`);
        continue;
      }
      total.logfiles++;
      if (result.kept !== result.before) total.changed++;
      total.stale += result.stale;
      total.duplicates += result.duplicates;
      total.malformed += result.malformed;
      total.bytesSaved += result.bytesBefore - result.bytesAfter;
      if (opts.verbose > 0) {
        msg.info(`${name}: ${result.before} -> ${result.kept} lines (${result.stale} stale, ${result.duplicates} repeated, ${result.malformed} malformed)`);
      }
    }
  } finally {
    progress.done();
  }
  if (opts.quiet !== true) {
    process.stdout.write(
      `compacted ${total.changed} of ${total.logfiles} logfiles: dropped ${total.stale} stale ids, ` +
        `${total.duplicates} repeated and ${total.malformed} malformed lines (${total.bytesSaved} bytes)\n`,
    );
  }
}

export function registerAdminCommands(program: Command): void {
  program
    .command('status [site...]')
    .description('show what the fast flush logfiles hold, per destination, sorted by backlog (read-only)')
    .option('--json', 'JSON (schema: docs/status.schema.json)')
    .option('--openmetrics', "OpenMetrics text for node_exporter's textfile collector")
    .option('-q, --quiet', 'no progress line and no warnings about sites without a logfile')
    .addHelpText('after', helpEpilogue('status'))
    .action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      await runStatus(command.args, command.optsWithGlobals<StatusOptions>());
    });
  program
    .command('compact [site...]')
    .description('drop ids without a queue file, and repeated ids, from logfiles (no delivery)')
    .option('-q, --quiet', 'no progress line and no summary')
    .addHelpText('after', helpEpilogue('compact'))
    .action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      await runCompact(command.args, command.optsWithGlobals<QueueOptions>());
    });
}
