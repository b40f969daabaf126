/*
 * run.ts - `fastflush master`: the supervisor as a foreground program.
 *
 * Start-up mirrors Postfix's master: config directory from -c (made absolute
 * and exported as MAIL_CONFIG for the children) or MAIL_CONFIG or
 * /etc/postfix; umask 077; the queue directory and the subdirectories a
 * flush service needs are created when missing; `pid/master.pid` is locked so
 * that two supervisors never share a queue. Then every service starts.
 * SIGHUP reloads, SIGTERM and SIGINT terminate the children and exit 0. A
 * fatal error (also one met during a reload) exits 1; the children then see
 * their status socket close and leave. Nothing is removed on exit.
 *
 * --once-self-check: once the services run, send one `add` and one
 * `send_site` to the flush service through the client, print the replies on
 * stdout, and keep running.
 *
 * Exports: MasterCommandOptions, runMaster.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants as fsConstants, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_CONFIG_DIR } from '../../config/load.js';
import type { MailConfig } from '../../config/types.js';
import { flockSync, LOCK_EX, LOCK_NB } from '../../native/posix.js';
import { FLUSH_STATUS, FLUSH_REQUEST } from '../../protocol/flush-messages.js';
import { strerror } from '../../util/errors.js';
import { FatalError, msg } from '../../util/msg.js';
import { callFlush, flushSocketName, type FlushClientRequest } from '../flush-client.js';
import { logToStderr } from '../log.js';
import { loadMasterSettings } from './settings.js';
import { Supervisor } from './supervisor.js';

export interface MasterCommandOptions {
  configDir?: string;
  debug: boolean;
  verbose: boolean;
  onceSelfCheck: boolean;
  childStderr: boolean;
}

/** Queue subdirectories a flush service uses, with the modes Postfix gives them. */
const QUEUE_SUBDIRS: ReadonlyArray<[string, number]> = [
  ['public', 0o755],
  ['private', 0o700],
  ['pid', 0o755],
  ['flush', 0o700],
  ['deferred', 0o700],
  ['incoming', 0o700],
];
const SELF_CHECK_FALLBACK_SITE = 'example.com';
/**
 * Per-I/O limit of the self-check instead of ipc_timeout (an hour): a flush
 * service that cannot start is throttled, and its clients would wait that long.
 */
const SELF_CHECK_TIMEOUT_SEC = 10;
const STATUS_NAMES = new Map<number, string>([
  [FLUSH_STATUS.OK, 'OK'],
  [FLUSH_STATUS.BAD, 'BAD'],
  [FLUSH_STATUS.DENY, 'DENY'],
  [FLUSH_STATUS.FAIL, 'FAIL'],
]);
/** setInterval's largest delay; the interval only keeps a supervisor without services alive. */
const KEEPALIVE_MS = 0x7fffffff;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `fastflush ${pkg.version}`;
}

function makeDirectory(path: string, mode: number): void {
  try {
    statSync(path);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') msg.fatal(`stat ${path}: ${strerror(err)}`);
  }
  try {
    mkdirSync(path, { recursive: true });
    chmodSync(path, mode);
  } catch (err) {
    msg.fatal(`create directory ${path}: ${strerror(err)}`);
  }
}

/** Holds an exclusive lock on pid/master.pid for the life of the process and records our pid in it. */
function lockPidFile(queueDirectory: string): void {
  const path = join(queueDirectory, 'pid', 'master.pid');
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
  } catch (err) {
    return msg.fatal(`open lock file ${path}: ${strerror(err)}`);
  }
  try {
    flockSync(fd, LOCK_EX | LOCK_NB);
  } catch (err) {
    closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') msg.fatal('the mail system is already running');
    msg.fatal(`lock ${path}: ${strerror(err)}`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${String(process.pid).padStart(10)}\n`, 0);
}

/** A site the demo can use: the first plain domain of fast_flush_domains. */
function selfCheckSite(config: MailConfig): string {
  const plain = config.getList('fast_flush_domains').find((item) => /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(item));
  return plain ?? SELF_CHECK_FALLBACK_SITE;
}

async function selfCheck(config: MailConfig): Promise<void> {
  const serviceName = config.get('flush_service_name');
  const options = {
    socketPath: join(config.get('queue_directory'), 'public', serviceName),
    name: flushSocketName(serviceName),
    timeoutSec: SELF_CHECK_TIMEOUT_SEC,
  };
  const site = selfCheckSite(config);
  const queueId = randomBytes(5).toString('hex').toUpperCase();
  const requests: FlushClientRequest[] = [
    { request: FLUSH_REQUEST.ADD, site, queueId },
    { request: FLUSH_REQUEST.SEND_SITE, site },
  ];
  for (const req of requests) {
    const status = await callFlush(req, options);
    const args = [req.site, req.queueId].filter((v) => v !== undefined).join(' ');
    process.stdout.write(`self-check: ${req.request} ${args} -> status ${status} (${STATUS_NAMES.get(status) ?? '?'})\n`);
  }
}

/** Starts the supervisor; the process then runs until a signal stops it. Start-up errors are fatal (they throw). */
export function runMaster(opts: MasterCommandOptions): void {
  const configDir = resolve(opts.configDir ?? process.env['MAIL_CONFIG'] ?? DEFAULT_CONFIG_DIR);
  if (opts.configDir !== undefined) process.env['MAIL_CONFIG'] = configDir;
  const environment = { ...process.env };
  // Log as master from the start; the tag follows syslog_name once main.cf is read.
  msg.clearSinks();
  logToStderr(`${process.env['MAIL_LOGTAG'] ?? 'postfix'}/master`, true);
  const { settings, config } = loadMasterSettings(configDir, environment);
  msg.clearSinks();
  logToStderr(`${settings.syslogName}/master`, true);
  if (opts.verbose) msg.verbose += 1;

  process.umask(0o077);
  makeDirectory(settings.queueDirectory, 0o755);
  for (const [name, mode] of QUEUE_SUBDIRS) makeDirectory(join(settings.queueDirectory, name), mode);
  lockPidFile(settings.queueDirectory);

  const supervisor = new Supervisor({
    settings,
    loadSettings: () => loadMasterSettings(configDir, environment).settings,
    environment,
    debug: opts.debug,
    verbose: opts.verbose,
    childStderr: opts.childStderr,
  });

  process.on('SIGHUP', () => {
    msg.info(`reload -- version ${version()}, configuration ${configDir}`);
    try {
      supervisor.reload();
    } catch (err) {
      if (err instanceof FatalError) process.exit(1);
      throw err;
    }
  });
  let stopping = false;
  const stop = (signalNumber: number): void => {
    if (stopping) return;
    stopping = true;
    msg.info(`terminating on signal ${signalNumber}`);
    void supervisor.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop(osConstants.signals.SIGTERM));
  process.on('SIGINT', () => stop(osConstants.signals.SIGINT));

  supervisor.start();
  msg.info(`daemon started -- version ${version()}, configuration ${configDir}`);
  setInterval(() => undefined, KEEPALIVE_MS);
  if (opts.onceSelfCheck) void selfCheck(config);
}
