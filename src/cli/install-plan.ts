/*
 * install-plan.ts - the texts `fastflush install` and `fastflush uninstall`
 * write, computed without touching any file: the launcher script placed in
 * daemon_directory, and master.cf with the flush entry switched to it and
 * back.
 *
 * master.cf texts are byte strings (one char per byte), as the postconf
 * editing code takes them. Installing is postconf -Me on the flush entry with
 * only the command replaced (the other fields and the -o arguments stay), so
 * every other line keeps its bytes. Uninstalling needs no record besides a
 * copy of master.cf as it was before the install (the backup): replaying the
 * install on that copy shows exactly which lines the install replaced and
 * with what, and those lines are put back. Lines the administrator changed
 * elsewhere in the meantime are kept; if the installed entry itself was
 * changed, there is nothing safe to do and the caller refuses.
 *
 * Exports: LAUNCHER_NAME, parseNodeOptions, launcherScript, isOurLauncher,
 * ServiceEntry, findServiceEntries, installedText, restoredText.
 */
import { editMasterCf, parseMasterEditArgs } from '../config/postconf/master-edit.js';
import { FIELD_COMMAND, formatMasterEntry, parseMasterEntry, splitQuoted } from '../config/postconf/master-entry.js';
import { PostconfFatal, type Warn } from '../config/postconf/diag.js';
import { readLogicalLines } from './master/master-cf.js';

/**
 * The launcher's file name in daemon_directory. It differs from the service
 * name, so master adds "-n flush" to its arguments; the launcher sets the
 * process name (and so the log tag) back to "flush".
 */
export const LAUNCHER_NAME = 'fastflush-flush';

/** The second line of every launcher; how install and uninstall recognise their own file. */
const LAUNCHER_MARKER = '# Written by `fastflush install`';

/**
 * The node options of the build's dist/bundle/flush/node-options: white-space
 * separated words on one line (bin/flush splits it the same way).
 */
export function parseNodeOptions(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}

/** A word for sh, inside single quotes. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * master(8) starts daemons with no PATH and as root, so the script names the
 * node binary and the daemon by absolute paths and depends on nothing else.
 * `nodeOptions` go before the daemon script (the build's node-options).
 */
export function launcherScript(nodePath: string, nodeOptions: readonly string[], daemonScript: string): string {
  return `#!/bin/sh
${LAUNCHER_MARKER}: Postfix's master(8) runs this file for the
# flush service of master.cf. It starts the fastflush flush daemon with the
# node binary that ran the installation (master passes no PATH).
# \`fastflush uninstall\` restores the previous entry and removes this file.
FASTFLUSH_PROCESS_NAME=flush
export FASTFLUSH_PROCESS_NAME
exec ${[nodePath, ...nodeOptions, daemonScript].map(shellQuote).join(' ')} "$@"
`;
}

export function isOurLauncher(text: string): boolean {
  return text.split('\n')[1]?.startsWith(LAUNCHER_MARKER) === true;
}

export interface ServiceEntry {
  /** The fields, normalized as postconf does (fields 9+ are the command's arguments). */
  argv: string[];
  /** First physical line, for messages. */
  line: number;
}

/**
 * The entries of service/type in master.cf text (normally one). An entry
 * that postconf would reject (bad field count or field value) throws
 * PostconfFatal with the file and line.
 */
export function findServiceEntries(text: string, path: string, service: string, type: string): ServiceEntry[] {
  const found: ServiceEntry[] = [];
  for (const logical of readLogicalLines(text, path)) {
    const words = splitQuoted(logical.text);
    if (words[0] !== service || words[1] !== type) continue;
    let argv: string[] | 'bad field count';
    try {
      argv = parseMasterEntry(logical.text, () => {});
    } catch (error) {
      throw new PostconfFatal(`file ${path}: line ${logical.line}: ${(error as Error).message}`);
    }
    if (argv === 'bad field count') throw new PostconfFatal(`file ${path}: line ${logical.line}: bad field count`);
    found.push({ argv, line: logical.line });
  }
  return found;
}

/** master.cf text with the entry's command (not its arguments) replaced by the launcher. */
export function installedText(original: string, path: string, entry: ServiceEntry, warn: Warn): string {
  const argv = [...entry.argv];
  argv[FIELD_COMMAND] = LAUNCHER_NAME;
  const text = formatMasterEntry(argv, false).replace(/\n$/, '');
  const requests = parseMasterEditArgs('entry', 'edit', [`${argv[0]}/${argv[1]}=${text}`], warn);
  return editMasterCf(original, 'entry', 'edit', requests, path, warn);
}

/** Where two texts start and stop differing, widened to whole lines. */
function changedLines(a: string, b: string): { start: number; endA: number; endB: number } {
  const shorter = Math.min(a.length, b.length);
  let start = 0;
  while (start < shorter && a[start] === b[start]) start++;
  start = start === 0 ? 0 : a.lastIndexOf('\n', start - 1) + 1;
  let tail = 0;
  while (tail < shorter - start && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  // The common tail must start a line in both texts.
  let endA = a.length - tail;
  let endB = b.length - tail;
  while (endA < a.length && (a[endA - 1] !== '\n' || b[endB - 1] !== '\n')) {
    endA++;
    endB++;
  }
  return { start, endA, endB };
}

/**
 * The current master.cf text with the lines the install replaced put back
 * from the backup: the backup itself when nothing else changed since, byte
 * for byte. null when the installed lines are no longer there exactly once.
 */
export function restoredText(current: string, backup: string, installed: string): string | null {
  if (current === installed) return backup;
  const { start, endA, endB } = changedLines(backup, installed);
  const replaced = installed.slice(start, endB);
  let at = -1;
  for (let from = current.indexOf(replaced); from >= 0; from = current.indexOf(replaced, from + 1)) {
    if (from > 0 && current[from - 1] !== '\n') continue;
    if (at >= 0) return null;
    at = from;
  }
  if (at < 0 || replaced === '') return null;
  return current.slice(0, at) + backup.slice(start, endA) + current.slice(at + replaced.length);
}
