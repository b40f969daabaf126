/*
 * master-edit.ts - postconf -Me/-M#/-MX, -Fe and -Pe/-PX on master.cf
 * (pcf_edit_master), as pure functions on byte strings: checking the
 * command-line arguments, then rewriting the file text.
 *
 * Untouched lines are copied byte for byte (as C strings: text after a NUL
 * is lost). A rewritten entry is printed in postconf's folded layout. Two
 * Postfix quirks are kept on purpose: -F/-P/-PX move comment and blank lines
 * that follow or sit inside the edited entry above it, and -Me writes the new
 * entry at the first line it matches (by pattern or by the new entry's own
 * service/type) and drops every later match.
 *
 * Exports: MasterEditKind, MasterEditAction, MasterEditRequest,
 * parseMasterEditArgs, editMasterCf.
 */
import { PostconfFatal, type Warn } from './diag.js';
import { splitNameValue } from '../main-cf.js';
import {
  FIELD_COMMAND,
  WILDCARD_FIELD,
  editMasterField,
  editMasterParam,
  formatMasterEntry,
  matchService,
  parseFieldName,
  parseMasterEntry,
  parseServicePattern,
} from './master-entry.js';

/** -M, -F or -P. */
export type MasterEditKind = 'entry' | 'field' | 'param';
/** -e (replace/update), -X (remove) or -# (comment out). */
export type MasterEditAction = 'edit' | 'exclude' | 'comment';

export interface MasterEditRequest {
  readonly raw: string;
  readonly pattern: readonly string[];
  /** -F: the field index. */
  readonly field: number;
  /** -P: the parameter name. */
  readonly param: string;
  /** -e: the text after `=`. */
  readonly value: string | undefined;
  /** -Me: the new entry, parsed and normalized. */
  readonly entry: readonly string[] | undefined;
}

const EDIT_OPTIONS = '-Me, -Fe, -Pe, -X, or -#';
const SPACE = ' \t\n\v\f\r';
const BLANK = /[ \t\r\n]/;

function skipSpace(text: string): string {
  let i = 0;
  while (i < text.length && SPACE.includes(text[i])) i++;
  return text.slice(i);
}

/** Checks every argument (and parses every -Me entry) before the file is opened. */
export function parseMasterEditArgs(
  kind: MasterEditKind,
  action: MasterEditAction,
  args: readonly string[],
  warn: Warn,
): MasterEditRequest[] {
  return args.map((raw) => {
    if (raw.includes('\n')) throw new PostconfFatal(`${EDIT_OPTIONS} accept no multi-line input`);
    let text = skipSpace(raw);
    if (text.startsWith('#')) throw new PostconfFatal(`${EDIT_OPTIONS} accept no comment input`);
    let value: string | undefined;
    if (action === 'edit') {
      const split = splitNameValue(text);
      if ('error' in split) throw new PostconfFatal(`${split.error}: "${raw}"`);
      text = split.name;
      value = split.value;
    } else {
      if (text.includes('=')) throw new PostconfFatal('-X or -# requires names without value');
      text = text.replace(/[ \t\n\v\f\r]+$/, '');
    }
    let field = WILDCARD_FIELD;
    let param = '';
    let entry: string[] | undefined;
    let pattern: string[] | null;
    if (kind === 'entry') {
      pattern = parseServicePattern(text, 2, 2);
      if (pattern === null) throw new PostconfFatal('-Me, -MX or -M# requires service_name/type');
      if (value !== undefined) {
        const parsed = parseMasterEntry(value, warn);
        if (parsed === 'bad field count') throw new PostconfFatal(`${parsed}: "${raw}"`);
        entry = parsed;
      }
    } else if (kind === 'field') {
      pattern = parseServicePattern(text, 3, 3);
      if (pattern === null) throw new PostconfFatal('-Fe or -FX requires service_name/type/field_name');
      field = parseFieldName(pattern[2]);
      if (field === WILDCARD_FIELD) throw new PostconfFatal('-Fe does not accept wild-card field name');
      if (value !== undefined && field < FIELD_COMMAND && BLANK.test(value)) {
        throw new PostconfFatal('-Fe does not accept whitespace in non-command field');
      }
    } else {
      pattern = parseServicePattern(text, 3, 3);
      if (pattern === null) throw new PostconfFatal('-Pe or -PX requires service_name/type/parameter');
      param = pattern[2];
      if (param === '*') throw new PostconfFatal('-Pe does not accept wild-card parameter name');
      if (value !== undefined && BLANK.test(value)) {
        throw new PostconfFatal('-Pe does not accept whitespace in parameter value');
      }
    }
    return { raw, pattern, field, param, value, entry };
  });
}

/** Physical lines as C strings: newline kept (the last may lack it), text after NUL dropped. */
function physicalLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => {
    const nul = line.indexOf('\0');
    return nul < 0 ? line : line.slice(0, nul);
  });
}

function isCommentOrBlank(line: string): boolean {
  const content = skipSpace(line);
  return content === '' || content.startsWith('#');
}

/** The first two blank-separated words of a line (mystrtok). */
function serviceNameType(line: string): [string | undefined, string | undefined] {
  const words = line.split(/[ \t\r\n]+/).filter((w) => w !== '');
  return [words[0], words[1]];
}

/**
 * Rewrites master.cf text. `path` (as "<config_dir>/master.cf") appears in
 * error messages. Warnings: entry normalization problems, and unmatched
 * -F/-P/-PX requests.
 */
export function editMasterCf(
  text: string,
  kind: MasterEditKind,
  action: MasterEditAction,
  requests: readonly MasterEditRequest[],
  path: string,
  warn: Warn,
): string {
  const lines = physicalLines(text);
  const matchCounts = requests.map(() => 0);
  let out = '';
  let matched = false;
  // Postfix does not count the lines that -F/-P take in with an entry, so
  // later line numbers in messages are that much too small.
  let lineno = 0;
  let next = 0;
  while (next < lines.length) {
    const line = lines[next++];
    lineno += 1;
    if (isCommentOrBlank(line)) {
      out += line;
      continue;
    }
    if (SPACE.includes(line[0])) {
      if (!matched) out += line;
      else if (action === 'comment') out += '#' + line;
      continue;
    }
    const [name, type] = serviceNameType(line);
    if (name === undefined || type === undefined) {
      throw new PostconfFatal(`file ${path}: line ${lineno}: specify service name and type on the same line`);
    }
    if (name.includes('=')) {
      throw new PostconfFatal(`file ${path}: line ${lineno}: service name syntax "${name}" is unsupported with ${EDIT_OPTIONS}`);
    }
    if (/[=/]/.test(type)) {
      throw new PostconfFatal(`file ${path}: line ${lineno}: service type syntax "${type}" is unsupported with ${EDIT_OPTIONS}`);
    }
    matched = false;
    let newEntry: string[] | undefined;
    requests.forEach((req, r) => {
      const ownName = req.entry !== undefined && req.entry[0] === name && req.entry[1] === type;
      if (!matchService(req.pattern, name, type) && !ownName) return;
      matched = true;
      const first = matchCounts[r]++ === 0;
      if (kind === 'entry') {
        if (req.entry !== undefined && first) newEntry = [...req.entry];
        return;
      }
      if (action === 'comment') return;
      if (newEntry === undefined) {
        // Take in the continuation lines; comments among them go out now.
        let full = line;
        while (next < lines.length && (lines[next][0] === '#' || SPACE.includes(lines[next][0]))) {
          const more = lines[next++];
          if (isCommentOrBlank(more)) out += more;
          else full += more;
        }
        const parsed = parseMasterEntry(full, warn);
        if (parsed === 'bad field count') throw new PostconfFatal(`file ${path}: line ${lineno}: ${parsed}`);
        newEntry = parsed;
      }
      if (kind === 'field') editMasterField(newEntry, req.field, req.value as string, warn);
      else editMasterParam(newEntry, req.param, req.value);
    });
    if (newEntry !== undefined) out += formatMasterEntry(newEntry, true);
    else if (!matched) out += line;
    else if (action === 'comment') out += '#' + line;
  }
  requests.forEach((req, r) => {
    if (matchCounts[r] > 0) return;
    if (req.entry !== undefined) out += formatMasterEntry(req.entry, true);
    else if (kind !== 'entry') warn(`unmatched service_name/type: "${req.raw}"`);
  });
  return out;
}
