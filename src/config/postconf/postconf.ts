/*
 * postconf.ts - `fastflush postconf`: Postfix 3.7's postconf(1) for main.cf
 * and master.cf display and editing, with the same options, output bytes,
 * messages and exit status. This module wires options, file reading, the
 * parameter tables, display and editing together.
 *
 * All text is handled as byte strings (one char per byte) so files and
 * arguments pass through byte for byte; output goes out as those bytes.
 * Standard output is buffered in 4096-byte blocks as Postfix's VSTREAM does:
 * on a fatal error the unwritten rest is lost, as with real postconf.
 *
 * Exports: PostconfIo, runPostconfMain.
 */
import { readFileSync } from 'node:fs';
import { describeErrno, parseMainCf, readLogicalLines, splitNameValue } from '../main-cf.js';
import { ConfigError } from '../errors.js';
import { PostconfFatal, type Warn } from './diag.js';
import { editFileSafely } from './edit-file.js';
import { editMainCf, parseMainEditArgs, type MainEditMode } from './main-edit.js';
import { editMasterCf, parseMasterEditArgs, type MasterEditAction, type MasterEditKind } from './master-edit.js';
import { parseMasterEntry } from './master-entry.js';
import { parseOptions, type PostconfOptions } from './options.js';
import { PostconfTables, type MasterService } from './param-table.js';
import { showMasterEntries, showMasterFields, showMasterParams, showParameters, type DisplayMode, type Output } from './show.js';

export interface PostconfIo {
  /** Only MAIL_CONFIG is consulted. */
  readonly env: Readonly<Record<string, string | undefined>>;
  writeStdout(data: Buffer): void;
  writeStderr(data: Buffer): void;
}

const DEFAULT_CONFIG_DIR = '/etc/postfix';
const VSTREAM_BUFSIZE = 4096;
const PROGRAM = 'postconf';

/** Node gives arguments as decoded UTF-8; work on their bytes. */
function bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Standard output with VSTREAM's full-buffer flushing. */
class BufferedOutput implements Output {
  private pending = '';

  constructor(private readonly sink: (data: Buffer) => void) {}

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= VSTREAM_BUFSIZE) {
      const full = this.pending.length - (this.pending.length % VSTREAM_BUFSIZE);
      this.sink(Buffer.from(this.pending.slice(0, full), 'latin1'));
      this.pending = this.pending.slice(full);
    }
  }

  flush(): void {
    if (this.pending !== '') this.sink(Buffer.from(this.pending, 'latin1'));
    this.pending = '';
  }
}

function readText(path: string): string {
  return readFileSync(Buffer.from(path, 'latin1')).toString('latin1');
}

/** pcf_read_master: every entry of master.cf, parsed; open failures fatal or a warning. */
function readMaster(configDir: string, failOnOpenError: boolean, warn: Warn): MasterService[] {
  const path = `${configDir}/master.cf`;
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    const message = `open ${path}: ${describeErrno(err)}`;
    if (failOnOpenError) throw new PostconfFatal(message);
    warn(message);
    return [];
  }
  const { lines, warnings } = readLogicalLines(text, path);
  warnings.forEach(warn);
  return lines.map(({ text: entry, line }) => {
    const argv = parseMasterEntry(entry, warn);
    if (argv === 'bad field count') throw new PostconfFatal(`file ${path}: line ${line}: ${argv}`);
    return PostconfTables.service(argv);
  });
}

/**
 * pcf_read_parameters + pcf_set_parameters: main.cf, then -o overrides.
 * When the directory came from -c or MAIL_CONFIG it is also a setting of
 * config_directory (so -n shows it).
 */
function readMain(configDir: string, explicitDir: boolean, overrides: readonly string[], warn: Warn): Map<string, string> {
  const path = `${configDir}/main.cf`;
  const preset = new Map<string, string>(explicitDir ? [['config_directory', configDir]] : []);
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    throw new PostconfFatal(`open ${path}: ${describeErrno(err)}`);
  }
  let parsed;
  try {
    parsed = parseMainCf(text, path, preset);
  } catch (err) {
    if (err instanceof ConfigError) throw new PostconfFatal(err.message);
    throw err;
  }
  parsed.warnings.forEach(warn);
  const main = new Map(preset);
  for (const [name, entry] of parsed.entries) main.set(name, entry.value);
  for (const override of overrides) {
    const split = splitNameValue(override);
    if ('error' in split) throw new PostconfFatal(`invalid parameter override: ${override}: ${split.error}`);
    main.set(split.name, split.value);
  }
  return main;
}

function displayMode(opts: PostconfOptions): DisplayMode {
  const f = opts.flags;
  return {
    defaults: f.has('d'),
    settingsOnly: f.has('n'),
    fold: f.has('f'),
    hideName: f.has('h'),
    hideValue: f.has('H'),
    expand: f.has('x'),
  };
}

function run(opts: PostconfOptions, env: PostconfIo['env'], out: BufferedOutput, warn: Warn): void {
  const explicitDir = opts.configDir !== undefined || env.MAIL_CONFIG !== undefined;
  const configDir = opts.configDir ?? (env.MAIL_CONFIG !== undefined ? bytes(env.MAIL_CONFIG) : DEFAULT_CONFIG_DIR);
  const flags = opts.flags;
  const { args, overrides } = opts;
  const kind: MasterEditKind | undefined = flags.has('M') ? 'entry' : flags.has('F') ? 'field' : flags.has('P') ? 'param' : undefined;
  const editing = flags.has('e') || flags.has('X') || flags.has('#');
  const mode = displayMode(opts);

  if (kind !== undefined && !editing) {
    const services = readMaster(configDir, true, warn);
    const tables = new PostconfTables(configDir, readMain(configDir, explicitDir, overrides, warn), services, warn);
    tables.registerBuiltins();
    tables.registerServiceParams();
    tables.registerUserParams();
    if (kind === 'field') showMasterFields(out, tables, mode, args, warn);
    else if (kind === 'param') showMasterParams(out, tables, mode, args, warn);
    else showMasterEntries(out, tables, mode, args, warn);
    out.flush();
    tables.flagUnusedMaster();
    return;
  }

  if (editing) {
    if (args.length === 0) throw new PostconfFatal('missing service argument');
    if (kind !== undefined) {
      const action: MasterEditAction = flags.has('e') ? 'edit' : flags.has('X') ? 'exclude' : 'comment';
      const requests = parseMasterEditArgs(kind, action, args, warn);
      const path = `${configDir}/master.cf`;
      editFileSafely(path, (text) => editMasterCf(text, kind, action, requests, path, warn));
    } else {
      const editMode: MainEditMode = flags.has('e') ? 'edit' : flags.has('X') ? 'exclude' : 'comment';
      const requests = parseMainEditArgs(editMode, args, warn);
      const path = `${configDir}/main.cf`;
      editFileSafely(path, (text) => editMainCf(text, editMode, requests, path, warn));
    }
    return;
  }

  const main = mode.defaults ? new Map<string, string>() : readMain(configDir, explicitDir, overrides, warn);
  const tables = new PostconfTables(configDir, main, [], warn);
  tables.registerBuiltins();
  tables.services.push(...readMaster(configDir, false, warn));
  tables.registerServiceParams();
  if (!mode.defaults) tables.registerUserParams();
  showParameters(out, tables, mode, opts.classes, args, warn);
  out.flush();
  if (!mode.defaults) {
    tables.flagUnusedMain();
    tables.flagUnusedMaster();
  }
}

/**
 * Runs postconf with `argv` (the arguments after the program name) and
 * returns the exit status: 0, or 1 after a fatal error.
 */
export function runPostconfMain(argv: readonly string[], io: PostconfIo): number {
  // Every message goes through msg_output()'s printable(): postconf leaves UTF-8 off, so each
  // byte outside printable ASCII (a CR, a tab, each byte of a UTF-8 character) prints as '?'.
  const stderrLine = (text: string): void =>
    io.writeStderr(Buffer.from(`${PROGRAM}: ${text.replace(/[^\x20-\x7e]/g, '?')}\n`, 'latin1'));
  const warn: Warn = (text) => stderrLine(`warning: ${text}`);
  const out = new BufferedOutput((data) => io.writeStdout(data));
  try {
    const opts = parseOptions(argv.map(bytes), stderrLine);
    run(opts, io.env, out, warn);
    out.flush();
    return 0;
  } catch (err) {
    if (!(err instanceof PostconfFatal)) throw err;
    stderrLine(`fatal: ${err.message}`);
    return 1;
  }
}
