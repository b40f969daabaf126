/*
 * install.ts - `fastflush install` and `fastflush uninstall`: make a Postfix
 * instance run fastflush as its flush service, and undo that.
 *
 *   fastflush [-c config_dir] install [--restart]
 *   fastflush [-c config_dir] uninstall [--restart]
 *
 * The instance is the one whose configuration directory is -c, else
 * $MAIL_CONFIG, else /etc/postfix. Its parameters come from the installed
 * postconf(1), which knows the compiled-in defaults of this Postfix build
 * (Debian's daemon_directory is not upstream's); without postconf, from
 * fastflush's own loader.
 *
 * install: checks everything first (a Postfix configuration with exactly one
 * flush/unix entry, daemon_directory, mail_owner, the queue's flush
 * directory), then writes the launcher $daemon_directory/fastflush-flush,
 * copies master.cf to master.cf.fastflush-backup, and switches the flush
 * entry's command to the launcher with the postconf editing code (atomic
 * replacement, every other byte kept). A failure at any step leaves master.cf
 * as it was and removes what this run created.
 * uninstall: puts the lines the install replaced back from the backup (so the
 * entry is byte-identical to the one before the install), removes the backup,
 * and removes the launcher unless another instance's master.cf still uses it.
 * Both are idempotent, and both restart Postfix only with --restart (stop,
 * then start, and only if it was running: a reload keeps a throttled service
 * throttled).
 *
 * Exports: InstallOptions, installFastflush, uninstallFastflush,
 * registerInstallCommands.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync, constants as fsConstants, existsSync, openSync, readFileSync, realpathSync, renameSync, rmSync,
  statSync, writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_DIR } from '../config/load.js';
import { helpEpilogue } from './command-help.js';
import { describeErrno } from '../config/main-cf.js';
import { PostconfFatal } from '../config/postconf/diag.js';
import { editFileSafely } from '../config/postconf/edit-file.js';
import { FIELD_COMMAND } from '../config/postconf/master-entry.js';
import { checkMailOwner, type PasswdEntry } from '../lifecycle/privileges.js';
import { msg } from '../util/msg.js';
import { loadCliConfig } from './config.js';
import {
  LAUNCHER_NAME, findServiceEntries, installedText, isOurLauncher, launcherScript, parseNodeOptions, restoredText,
  type ServiceEntry,
} from './install-plan.js';

export interface InstallOptions {
  /** The instance's configuration directory (default: $MAIL_CONFIG, else /etc/postfix). */
  configDir?: string;
  /** Stop and start Postfix afterwards, if it is running. */
  restart?: boolean;
  /** For tests: where postconf(1) is looked for (default: the usual places). */
  postconfCandidates?: readonly string[];
}

const POSTCONF_CANDIDATES = ['/usr/sbin/postconf', '/usr/local/sbin/postconf', '/usr/bin/postconf'];
const BACKUP_SUFFIX = '.fastflush-backup';
/** dist/src/cli/install.js -> the daemon bundle's loader, which bin/flush also runs (scripts/build-daemon.mjs). */
const DAEMON_SCRIPT = fileURLToPath(new URL('../../bundle/flush/daemon.cjs', import.meta.url));
/** The node options the daemon runs with, one line of words written by the build. */
const DAEMON_NODE_OPTIONS = fileURLToPath(new URL('../../bundle/flush/node-options', import.meta.url));

/** What install and uninstall need to know about the target instance. */
interface Instance {
  configDir: string;
  masterCf: string;
  backup: string;
  serviceName: string;
  daemonDirectory: string;
  commandDirectory: string;
  queueDirectory: string;
  mailOwner: string;
  launcher: string;
}

const PARAMETERS = [
  'flush_service_name', 'daemon_directory', 'command_directory', 'queue_directory', 'mail_owner',
] as const;

/** Expanded values of `names`, from postconf(1) when there is one. */
function parameterValues(configDir: string, names: readonly string[], candidates: readonly string[]): string[] {
  const postconf = candidates.find((path) => existsSync(path));
  if (postconf === undefined) {
    const config = loadCliConfig(configDir, process.env, 'fastflush');
    return names.map((name) => config.get(name));
  }
  const result = spawnSync(postconf, ['-c', configDir, '-xh', ...names], { encoding: 'utf8' });
  const values = (result.stdout ?? '').split('\n').slice(0, names.length);
  if (result.status !== 0 || values.length !== names.length) {
    // postconf's own "postconf: fatal: why" says what is wrong with the configuration.
    const fatal = /fatal: (.*)$/m.exec(result.stderr ?? '');
    const why = fatal?.[1] ?? String(result.error ?? `exit status ${result.status}`);
    return msg.fatal(`${postconf} -c ${configDir}: ${why}`);
  }
  return values;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Refuses anything that is not a Postfix configuration directory; fatal with the reason. */
function findInstance(opts: InstallOptions): Instance {
  const configDir = resolve(opts.configDir ?? process.env.MAIL_CONFIG ?? DEFAULT_CONFIG_DIR);
  for (const file of ['main.cf', 'master.cf']) {
    if (!isFile(join(configDir, file))) msg.fatal(`${configDir} is not a Postfix configuration directory: no ${file}`);
  }
  const [serviceName, daemonDirectory, commandDirectory, queueDirectory, mailOwner] = parameterValues(
    configDir, PARAMETERS, opts.postconfCandidates ?? POSTCONF_CANDIDATES,
  ) as [string, string, string, string, string];
  const masterCf = join(configDir, 'master.cf');
  return {
    configDir,
    masterCf,
    backup: masterCf + BACKUP_SUFFIX,
    serviceName,
    daemonDirectory,
    commandDirectory,
    queueDirectory,
    mailOwner,
    launcher: join(daemonDirectory, LAUNCHER_NAME),
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (error) {
    return msg.fatal(`read ${path}: ${describeErrno(error)}`);
  }
}

/** PostconfFatal (from the postconf code) as a fatal error of this command. */
function postconfStep<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof PostconfFatal) return msg.fatal(error.message);
    throw error;
  }
}

/** The one flush/unix entry of master.cf text. */
function flushEntry(inst: Instance, text: string, path: string): ServiceEntry {
  const entries = postconfStep(() => findServiceEntries(text, path, inst.serviceName, 'unix'));
  if (entries.length === 0) msg.fatal(`${path}: no ${inst.serviceName}/unix service entry; is this Postfix's master.cf?`);
  if (entries.length > 1) {
    msg.fatal(`${path}: ${entries.length} ${inst.serviceName}/unix service entries (lines ${entries.map((e) => e.line).join(', ')})`);
  }
  return entries[0] as ServiceEntry;
}

const runsLauncher = (entry: ServiceEntry): boolean => entry.argv[FIELD_COMMAND] === LAUNCHER_NAME;

/** The queue's flush directory, if it exists yet (postfix start creates it), must be mail_owner's. */
function checkQueue(inst: Instance, owner: PasswdEntry): void {
  if (!isDirectory(inst.queueDirectory)) {
    msg.fatal(`queue_directory ${inst.queueDirectory}: not a directory`);
  }
  const flushDir = join(inst.queueDirectory, 'flush');
  if (!existsSync(flushDir)) return;
  const st = statSync(flushDir);
  if (!st.isDirectory() || st.uid !== owner.uid || (st.mode & 0o300) !== 0o300) {
    msg.fatal(`${flushDir} is not a directory that mail_owner ${owner.name} can write `
      + `(uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}); run: postfix -c ${inst.configDir} set-permissions`);
  }
}

/** The node binary and the daemon, by absolute paths without symlinks. */
function launcherText(): string {
  if (!isFile(DAEMON_SCRIPT)) msg.fatal(`${DAEMON_SCRIPT} is missing; run npm install (or npm run build) first`);
  if (!isFile(DAEMON_NODE_OPTIONS)) msg.fatal(`${DAEMON_NODE_OPTIONS} is missing; run npm install (or npm run build) first`);
  const nodeOptions = parseNodeOptions(readText(DAEMON_NODE_OPTIONS));
  return launcherScript(realpathSync(process.execPath), nodeOptions, realpathSync(DAEMON_SCRIPT));
}

/** Replaces (or creates) path in one rename, with the given mode. */
function writeAtomically(path: string, text: string, mode: number): void {
  const temp = `${path}.tmp.${process.pid}`;
  try {
    const fd = openSync(temp, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, mode);
    try {
      writeSync(fd, Buffer.from(text, 'latin1'));
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    msg.fatal(`write ${path}: ${describeErrno(error)}`);
  }
}

/** Installs or updates the launcher; returns whether it was created by this call. */
function placeLauncher(inst: Instance, text: string): boolean {
  if (!isDirectory(inst.daemonDirectory)) msg.fatal(`daemon_directory ${inst.daemonDirectory}: not a directory`);
  const existed = existsSync(inst.launcher);
  if (existed) {
    const current = readText(inst.launcher);
    if (!isOurLauncher(current)) msg.fatal(`${inst.launcher} exists and was not written by fastflush install; not replacing it`);
    if (current === text) return false;
  }
  writeAtomically(inst.launcher, text, 0o755);
  msg.info(`${existed ? 'updated' : 'installed'} ${inst.launcher}`);
  return !existed;
}

function restart(inst: Instance): void {
  const postfix = join(inst.commandDirectory, 'postfix');
  const run = (command: string): number | null => spawnSync(postfix, ['-c', inst.configDir, command], {
    stdio: ['ignore', 'inherit', 'inherit'],
  }).status;
  if (run('status') !== 0) {
    msg.info(`Postfix is not running (${postfix} -c ${inst.configDir} status); not starting it`);
    return;
  }
  if (run('stop') !== 0) msg.fatal(`${postfix} -c ${inst.configDir} stop failed`);
  if (run('start') !== 0) msg.fatal(`${postfix} -c ${inst.configDir} start failed`);
}

function nextStep(inst: Instance, opts: InstallOptions): void {
  if (opts.restart) restart(inst);
  else msg.info(`to switch the running Postfix over: postfix -c ${inst.configDir} reload (or use --restart)`);
}

export function installFastflush(opts: InstallOptions): void {
  const inst = findInstance(opts);
  const current = readText(inst.masterCf);
  const entry = flushEntry(inst, current, inst.masterCf);
  const owner = checkMailOwner(inst.mailOwner, inst.configDir);
  checkQueue(inst, owner);
  const script = launcherText();

  if (runsLauncher(entry)) {
    placeLauncher(inst, script);
    if (!existsSync(inst.backup)) {
      msg.warn(`no ${inst.backup}: fastflush uninstall will not be able to restore the previous ${inst.serviceName} entry`);
    }
    msg.info(`${inst.masterCf}: ${inst.serviceName}/unix already runs ${LAUNCHER_NAME}`);
    nextStep(inst, opts);
    return;
  }

  const updated = postconfStep(() => installedText(current, inst.masterCf, entry, (text) => msg.warn(text)));
  const createdLauncher = placeLauncher(inst, script);
  try {
    writeAtomically(inst.backup, current, statSync(inst.masterCf).mode & 0o7777);
    postconfStep(() => editFileSafely(inst.masterCf, (text) => {
      if (text !== current) throw new PostconfFatal(`${inst.masterCf} changed during the installation; nothing done, try again`);
      return updated;
    }));
  } catch (error) {
    rmSync(inst.backup, { force: true });
    if (createdLauncher) rmSync(inst.launcher, { force: true });
    throw error;
  }
  msg.info(`${inst.masterCf}: ${inst.serviceName}/unix now runs ${LAUNCHER_NAME} (the previous file is ${inst.backup})`);
  nextStep(inst, opts);
}

/** Other instances (the default one and its multi_instance_directories) whose master.cf runs the launcher. */
function otherLauncherUsers(inst: Instance, candidates: readonly string[]): string[] {
  const dirs = new Set([DEFAULT_CONFIG_DIR]);
  const postconf = candidates.find((path) => existsSync(path));
  if (postconf !== undefined && isFile(join(DEFAULT_CONFIG_DIR, 'main.cf'))) {
    const result = spawnSync(postconf, ['-c', DEFAULT_CONFIG_DIR, '-xh', 'multi_instance_directories'], { encoding: 'utf8' });
    for (const dir of (result.stdout ?? '').split(/[\s,]+/)) if (dir !== '') dirs.add(dir);
  }
  dirs.delete(inst.configDir);
  return [...dirs].map((dir) => join(dir, 'master.cf')).filter((path) => {
    if (!isFile(path)) return false;
    try {
      const entries = findServiceEntries(readFileSync(path, 'latin1'), path, inst.serviceName, 'unix');
      return entries.some(runsLauncher);
    } catch {
      // An unreadable or broken master.cf cannot be running the launcher.
      return false;
    }
  });
}

function removeLauncher(inst: Instance, candidates: readonly string[]): void {
  if (!existsSync(inst.launcher) || !isOurLauncher(readText(inst.launcher))) return;
  const users = otherLauncherUsers(inst, candidates);
  if (users.length > 0) {
    msg.info(`kept ${inst.launcher}: ${users.join(', ')} still use it`);
    return;
  }
  rmSync(inst.launcher, { force: true });
  msg.info(`removed ${inst.launcher}`);
}

export function uninstallFastflush(opts: InstallOptions): void {
  const inst = findInstance(opts);
  const candidates = opts.postconfCandidates ?? POSTCONF_CANDIDATES;
  const current = readText(inst.masterCf);
  const entry = flushEntry(inst, current, inst.masterCf);
  if (!runsLauncher(entry)) {
    msg.info(`${inst.masterCf}: ${inst.serviceName}/unix runs ${entry.argv[FIELD_COMMAND]}; fastflush is not installed`);
    removeLauncher(inst, candidates);
    return;
  }
  if (!existsSync(inst.backup)) {
    msg.fatal(`no ${inst.backup}: cannot restore the ${inst.serviceName} entry that fastflush install replaced; `
      + `set it by hand, e.g. postconf -c ${inst.configDir} -F ${inst.serviceName}/unix/command=flush`);
  }
  const backup = readText(inst.backup);
  const original = flushEntry(inst, backup, inst.backup);
  const installed = postconfStep(() => installedText(backup, inst.backup, original, () => {}));
  const restored = restoredText(current, backup, installed) ?? msg.fatal(`${inst.masterCf}: the ${inst.serviceName}/unix entry changed after fastflush install; `
      + `restore it by hand from ${inst.backup}`);
  postconfStep(() => editFileSafely(inst.masterCf, (text) => {
    if (text !== current) throw new PostconfFatal(`${inst.masterCf} changed during the uninstallation; nothing done, try again`);
    return restored;
  }));
  rmSync(inst.backup, { force: true });
  msg.info(`${inst.masterCf}: ${inst.serviceName}/unix runs ${original.argv[FIELD_COMMAND]} again`);
  removeLauncher(inst, candidates);
  nextStep(inst, opts);
}

interface CommandOptions {
  configDir?: string;
  restart?: boolean;
}

export function registerInstallCommands(program: Command): void {
  for (const [name, description, action] of [
    ['install', 'make the Postfix instance run fastflush as its flush service', installFastflush],
    ['uninstall', "give the flush service back to Postfix's own daemon", uninstallFastflush],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option('--restart', 'stop and start Postfix afterwards (only if it is running)')
      .addHelpText('after', helpEpilogue(name))
      .action((...params: unknown[]) => {
        const opts = (params[params.length - 1] as Command).optsWithGlobals<CommandOptions>();
        action({ configDir: opts.configDir, restart: opts.restart === true });
      });
  }
}
