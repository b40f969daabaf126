/*
 * main-edit.ts - postconf -e, -X and -# on main.cf (pcf_edit_main), as pure
 * functions on byte strings: checking the command-line arguments, and
 * rewriting the file text line by line.
 *
 * Every line that is not touched is copied byte for byte. Like Postfix 3.7,
 * a line is handled as a C string: text after a NUL byte is lost, and a last
 * line without a newline stays without one (3.12 adds the newline; 3.7 does
 * not, so an appended setting is glued to such a line).
 *
 * Exports: MainEditMode, MainEditRequests, parseMainEditArgs, editMainCf.
 */
import { PostconfFatal, type Warn } from './diag.js';
import { splitNameValue } from '../main-cf.js';

export type MainEditMode = 'edit' | 'exclude' | 'comment';

/** Requested names, each with its new value (-e) or undefined (-X, -#). */
export type MainEditRequests = ReadonlyMap<string, string | undefined>;

/** C isspace() in the C locale. */
const SPACE = ' \t\n\v\f\r';

function skipSpace(text: string): string {
  let i = 0;
  while (i < text.length && SPACE.includes(text[i])) i++;
  return text.slice(i);
}

/**
 * Checks all arguments before anything is opened. With -e a repeated name
 * keeps the last value; Postfix 3.7 warns about the earlier one even when
 * the values are equal.
 */
export function parseMainEditArgs(mode: MainEditMode, args: readonly string[], warn: Warn): MainEditRequests {
  const requests = new Map<string, string | undefined>();
  for (const raw of args) {
    if (raw.includes('\n')) throw new PostconfFatal('-e, -X, or -# accepts no multi-line input');
    const arg = skipSpace(raw);
    if (arg.startsWith('#')) throw new PostconfFatal('-e, -X, or -# accepts no comment input');
    if (mode === 'edit') {
      const split = splitNameValue(arg);
      if ('error' in split) throw new PostconfFatal(`${split.error}: "${arg}"`);
      const earlier = requests.get(split.name);
      if (earlier !== undefined) warn(`ignoring earlier request: '${split.name} = ${earlier}'`);
      // Delete first so the map order stays the order of the last requests.
      requests.delete(split.name);
      requests.set(split.name, split.value);
    } else {
      if (arg === '') throw new PostconfFatal('-X or -# requires non-blank parameter names');
      if (arg.includes('=')) throw new PostconfFatal('-X or -# requires parameter names without value');
      // Postfix 3.7 crashes on a repeated -X/-# name; the repeat changes nothing here. Its
      // trimblanks() call only computes where trailing blanks start and changes nothing, so a
      // name with trailing white space is kept as given and matches no parameter.
      requests.set(arg, undefined);
    }
  }
  return requests;
}

/** Physical lines, each with its newline (the last one may lack it). */
function physicalLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** What C string code sees of a line: everything before the first NUL. */
function cString(line: string): string {
  const nul = line.indexOf('\0');
  return nul < 0 ? line : line.slice(0, nul);
}

/**
 * Rewrites main.cf text. `path` names the file in the "multiple entries"
 * warning. Names that -e requests but the file lacks are appended in byte
 * order of the name (Postfix 3.7 appends them in hash-table order, which
 * changes from run to run; 3.12 sorts them).
 */
export function editMainCf(text: string, mode: MainEditMode, requests: MainEditRequests, path: string, warn: Warn): string {
  const found = new Map<string, number>();
  let out = '';
  let interesting = false;
  for (const rawLine of physicalLines(text)) {
    const line = cString(rawLine);
    const content = skipSpace(line);
    if (content === '' || content.startsWith('#')) {
      // Comment and blank lines are kept, even inside a matched entry.
      out += line;
    } else if (content.length < line.length) {
      // A continuation line follows the fate of its entry's first line.
      if (!interesting) out += line;
      else if (mode === 'comment') out += '#' + line;
    } else {
      const key = line.slice(0, line.search(/[ \t\r\n=]|$/));
      interesting = requests.has(key);
      if (!interesting) {
        out += line;
        continue;
      }
      const seen = found.get(key) ?? 0;
      found.set(key, seen + 1);
      if (seen === 1) warn(`${path}: multiple entries for "${key}"`);
      if (mode === 'edit') out += `${key} = ${requests.get(key)}\n`;
      else if (mode === 'comment') out += '#' + line;
    }
  }
  if (mode === 'edit') {
    const missing = [...requests.keys()].filter((name) => !found.has(name)).sort(byteOrder);
    for (const name of missing) out += `${name} = ${requests.get(name)}\n`;
  }
  return out;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
