/*
 * main-cf.ts - main.cf exactly as Postfix reads it (readllines, split_nameval,
 * dict_load_fp): physical lines are joined into logical lines, each logical
 * line is split into `name = value`, and later names replace earlier ones.
 *
 * The parser is a pure function of the file text; warnings Postfix would log
 * are returned as text so the caller decides where they go. Any split error is
 * fatal in Postfix, so it throws a ConfigError naming the file and line.
 *
 * Exports: LogicalLine, readLogicalLines, readLogicalLinesFromFile,
 * splitNameValue, MainCfEntry, MainCf, parseMainCf, readMainCf, describeErrno.
 */
import { readFileSync } from 'node:fs';
import { msg } from '../util/msg.js';
import { ConfigError } from './errors.js';
import { isCSpace, skipCSpace, truncBytes } from './c-text.js';

export interface LogicalLine {
  readonly text: string;
  /** Number of the first physical line that contributed text (1-based). */
  readonly line: number;
}

/**
 * Joins physical lines into logical lines. A physical line that is empty,
 * all whitespace, or whose first non-blank character is `#` is dropped
 * wherever it appears, so blank and comment lines never end a logical line;
 * only a line that starts in column 0 with something other than `#` does.
 * Continuation lines are appended without their newline and with their
 * leading whitespace kept.
 */
export function readLogicalLines(text: string, path: string): { lines: LogicalLine[]; warnings: string[] } {
  const physical = text.split('\n');
  // A trailing "\n" does not start another (empty) physical line.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  const lines: LogicalLine[] = [];
  const warnings: string[] = [];
  let current = '';
  let first = 0;

  const finish = (): void => {
    if (current === '') return;
    if (isCSpace(current[0])) {
      // Text continuing nothing: Postfix warns and drops it but keeps reading.
      const shown = truncBytes(cString(current), 30);
      const more = Buffer.byteLength(current) > 30 ? '...' : '';
      warnings.push(`${path}: logical line must not start with whitespace: "${shown}${more}"`);
    } else {
      lines.push({ text: cString(current), line: first });
    }
    current = '';
  };

  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i];
    const start = skipCSpace(raw);
    if (start === raw.length || raw[start] === '#') continue;
    if (!isCSpace(raw[0])) finish();
    if (current === '') first = i + 1;
    current += raw;
  }
  finish();
  return { lines, warnings };
}

/**
 * The logical lines of another file in the same syntax (a /file pattern of a
 * domain list, a texthash table). Warnings go to msg.warn; a read failure is
 * thrown as the Node error, because callers report it in their own words.
 */
export function readLogicalLinesFromFile(path: string): string[] {
  const { lines, warnings } = readLogicalLines(readFileSync(path, 'utf8'), path);
  for (const warning of warnings) msg.warn(warning);
  return lines.map((l) => l.text);
}

/** C code sees a line as a NUL-terminated string: anything after a NUL is lost. */
function cString(text: string): string {
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

/**
 * split_nameval(): the name runs to the first whitespace or `=`; the value is
 * everything after `=`, with leading and trailing whitespace removed. There
 * are no inline comments.
 */
export function splitNameValue(text: string): { name: string; value: string } | { error: string } {
  const nameStart = skipCSpace(text);
  if (nameStart === text.length || text[nameStart] === '=') return { error: 'missing attribute name' };
  let nameEnd = nameStart;
  while (nameEnd < text.length && !isCSpace(text[nameEnd]) && text[nameEnd] !== '=') nameEnd++;
  const eq = skipCSpace(text, nameEnd);
  if (text[eq] !== '=') return { error: "missing '=' after attribute name" };
  let valueEnd = text.length;
  while (valueEnd > eq + 1 && isCSpace(text[valueEnd - 1])) valueEnd--;
  const valueStart = Math.min(skipCSpace(text, eq + 1), valueEnd);
  return { name: text.slice(nameStart, nameEnd), value: text.slice(valueStart, valueEnd) };
}

export interface MainCfEntry {
  readonly name: string;
  readonly value: string;
  /** First physical line of the logical line that set the value. */
  readonly line: number;
}

export interface MainCf {
  /** The setting of each name that takes effect (the last one in the file). */
  readonly entries: ReadonlyMap<string, MainCfEntry>;
  /** Warnings Postfix logs while loading, in file order, without "warning: ". */
  readonly warnings: readonly string[];
}

/**
 * Parses main.cf text. `preset` holds what the table contains before the file
 * is loaded (config_directory, process_name): a main.cf line that changes one
 * of them draws the same "overriding earlier entry" warning as a duplicate,
 * but presets never appear in `entries`.
 */
export function parseMainCf(text: string, path: string, preset: ReadonlyMap<string, string> = new Map()): MainCf {
  const { lines, warnings } = readLogicalLines(text, path);
  const entries = new Map<string, MainCfEntry>();
  for (const { text: lineText, line } of lines) {
    const split = splitNameValue(lineText);
    if ('error' in split) {
      throw new ConfigError(`${path}, line ${line}: ${split.error}: "${lineText}"`, { file: path, line });
    }
    const earlier = entries.get(split.name)?.value ?? preset.get(split.name);
    if (earlier !== undefined && earlier !== split.value) {
      warnings.push(`${path}, line ${line}: overriding earlier entry: ${split.name}=${earlier}`);
    }
    entries.set(split.name, { name: split.name, value: split.value, line });
  }
  return { entries, warnings };
}

/** strerror() wording for the errors opening a configuration file can give. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  EIO: 'Input/output error',
};

/** The %m text for a Node system error, as glibc's strerror() spells it. */
export function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined && STRERROR[code]) || (err as Error).message;
}

/** Reads and parses a main.cf file; failure to read it is fatal as in Postfix. */
export function readMainCf(path: string, preset?: ReadonlyMap<string, string>): MainCf {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`open ${path}: ${describeErrno(err)}`, { file: path });
  }
  return parseMainCf(text, path, preset);
}
