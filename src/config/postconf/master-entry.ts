/*
 * master-entry.ts - one master.cf service entry as postconf sees it: the
 * split into fields (whitespace, with `{...}` grouping), the field checks,
 * the normalization of daemon options (`-oname=value`, `-o { name = value }`,
 * `-vo...` bundles), and the two printed forms (the column layout of -M and
 * of rewritten master.cf entries, and the `service/type/field = value` form
 * of -F). Also the service/type[/field] patterns of -M, -F and -P.
 *
 * Strings are byte strings (one char per byte), so lengths are C byte counts.
 *
 * Exports: MASTER_MIN_FIELDS, FIELD_COMMAND, FIELD_NAMES, WILDCARD_FIELD,
 * splitQuoted, parseMasterEntry, checkMasterEntry,
 * ValueMapper, FieldFormat, formatMasterEntry, formatMasterField,
 * editMasterField, editMasterParam, optionParams, parseServicePattern,
 * matchService, parseFieldName.
 */
import { INDENT, LINE_LIMIT } from './print-line.js';
import { PostconfFatal, type Warn } from './diag.js';
import { splitNameValue } from '../main-cf.js';

export const MASTER_MIN_FIELDS = 8;
export const FIELD_COMMAND = 7;
export const FIELD_NAMES = ['service', 'type', 'private', 'unprivileged', 'chroot', 'wakeup', 'process_limit', 'command'];
/** parseFieldName's answer for the `*` field pattern. */
export const WILDCARD_FIELD = -1;

/** Field separators in master.cf (and in -F/-P values). */
const BLANKS = ' \t\r\n';
const VALID_TYPES = ['unix', 'fifo', 'inet', 'pass', 'unix-dgram'];
/* Column where each of the first eight fields starts in the printed form. */
const COLUMN_GOALS = [0, 11, 17, 25, 33, 41, 49, 57];

function hasBlank(text: string): boolean {
  return /[ \t\r\n]/.test(text);
}

/**
 * Whether a daemon argument takes the next argument as its value. Postfix
 * asks strchr("o", arg[1]), which also says yes for a bare "-" (the NUL
 * terminator matches), so "- foo" travels as a pair just like "-o foo".
 */
function expectsValue(arg: string): boolean {
  return arg.length === 1 || arg[1] === 'o';
}

function isOption(arg: string): boolean {
  return arg[0] === '-' && arg !== '--';
}

/**
 * mystrtokq() applied repeatedly: tokens separated by blanks, where blanks
 * inside `{...}` (counting nested braces) do not separate.
 */
export function splitQuoted(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && BLANKS.includes(text[i])) i++;
    if (i >= text.length) break;
    const start = i;
    let level = 0;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (ch === '{') level++;
      else if (level > 0 && ch === '}') level--;
      else if (level === 0 && BLANKS.includes(ch)) break;
    }
    tokens.push(text.slice(start, i));
  }
  return tokens;
}

/** Length of the balanced `{...}` at the start of text, or 0 (balpar). */
function balancedLength(text: string): number {
  let level = 1;
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '}') {
      if (--level === 0) return i + 1;
    } else if (text[i] === '{') {
      level++;
    }
  }
  return 0;
}

/**
 * extpar(..., "{}", EXTPAR_FLAG_STRIP) on an argument that starts with `{`:
 * the text inside the braces with surrounding whitespace removed. Text after
 * the closing brace is dropped with an error; a missing brace is an error
 * too, and everything after the `{` is kept.
 */
function extractBraces(arg: string): { text: string; error?: string } {
  const len = balancedLength(arg);
  let inner: string;
  let error: string | undefined;
  if (len === 0) {
    error = `missing '}' in "${arg}"`;
    inner = arg.slice(1);
  } else {
    if (len < arg.length) error = `syntax error after '}' in "${arg}"`;
    inner = arg.slice(1, len - 1);
  }
  inner = inner.replace(/[ \t\n\v\f\r]+$/, '').replace(/^[ \t\n\v\f\r]+/, '');
  return error === undefined ? { text: inner } : { text: inner, error };
}

function extractField(argv: string[], field: number, warn: Warn): void {
  const { text, error } = extractBraces(argv[field]);
  if (error !== undefined) warn(`master.cf: ${error}`);
  argv[field] = text;
}

/** `name = value` from inside braces becomes `name=value`. */
function normalizeNameValue(argv: string[], field: number, warn: Warn): void {
  const split = splitNameValue(argv[field]);
  if ('error' in split) warn(`master.cf: ${split.error}: "${argv[field]}"`);
  else argv[field] = `${split.name}=${split.value}`;
}

/**
 * Brings the arguments after the command into canonical form, in place:
 * in the daemon-option region (up to the first non-option or `--`),
 * "-xyozz" becomes "-xy" "-ozz", "-oname=value" becomes "-o" "name=value",
 * and a braced option value loses its braces (and, for -o, the blanks
 * around `=`). Braced non-option arguments lose their braces.
 */
function normalizeDaemonArgs(argv: string[], warn: Warn): void {
  let field = MASTER_MIN_FIELDS;
  for (; field < argv.length; field++) {
    let arg = argv[field];
    if (!isOption(arg)) break;
    const split = arg.indexOf('o', 2);
    if (split >= 0) {
      argv.splice(field + 1, 0, '-' + arg.slice(split));
      arg = argv[field] = arg.slice(0, split);
    }
    if (!expectsValue(arg)) continue;
    let extract = false;
    if (arg.length > 2) {
      argv.splice(field + 1, 0, arg.slice(2));
      argv[field] = arg.slice(0, 2);
      field += 1;
      extract = argv[field][0] === '{';
    } else if (field + 1 < argv.length) {
      field += 1;
      extract = argv[field][0] === '{';
    }
    if (extract) {
      extractField(argv, field, warn);
      if (argv[field - 1][1] === 'o') normalizeNameValue(argv, field, warn);
    }
  }
  for (; field < argv.length; field++) {
    if (argv[field][0] === '{') extractField(argv, field, warn);
  }
}

/** pcf_fix_fatal: the entry text may span lines; the message must not. */
function entryFatal(message: string): PostconfFatal {
  return new PostconfFatal(message.replace(/\n/g, ' '));
}

/** The per-field checks postconf applies; `raw` is quoted in the message. */
export function checkMasterEntry(argv: readonly string[], raw: string): void {
  const type = argv[1];
  if (!VALID_TYPES.includes(type)) throw entryFatal(`invalid type field "${type}" in "${raw}"`);
  for (let field = 2; field <= 4; field++) {
    const value = argv[field];
    // strchr("yn-", *cp) also accepts the NUL of an empty value.
    if (value.length > 1 || (value.length === 1 && !'yn-'.includes(value))) {
      throw entryFatal(`invalid ${FIELD_NAMES[field]} field "${value}" in "${raw}"`);
    }
  }
  const wakeup = argv[5];
  const digits = wakeup.endsWith('?') ? wakeup.slice(0, -1) : wakeup;
  if (!(wakeup[0] === '-' && digits.length === 1) && !/^[0-9]*$/.test(digits)) {
    throw entryFatal(`invalid wakeup field "${wakeup}" in "${raw}"`);
  }
  const maxproc = argv[6];
  if (maxproc !== '-' && !/^[0-9]*$/.test(maxproc)) {
    throw entryFatal(`invalid process_limit field "${maxproc}" in "${raw}"`);
  }
}

/**
 * Splits, checks and normalizes one (logical) master.cf entry. Returns
 * "bad field count" when there are fewer than eight fields; the caller adds
 * the context Postfix puts in front of it.
 */
export function parseMasterEntry(text: string, warn: Warn): string[] | 'bad field count' {
  const argv = splitQuoted(text);
  if (argv.length < MASTER_MIN_FIELDS) return 'bad field count';
  checkMasterEntry(argv, text);
  normalizeDaemonArgs(argv, warn);
  return argv;
}

/** Rewrites an -o value for display (-x); identity otherwise. */
export type ValueMapper = (value: string) => string;

/**
 * Appends the arguments after the command the way postconf lays them out:
 * an option with a value is kept on one line with it and gets lines of its
 * own (with fold), other arguments wrap before column 80 (with fold), and
 * a value or non-option argument containing blanks is shown in braces.
 * `pairExtra` is the width postconf budgets for the blank between option
 * and value (3 for -M, 1 for -F; Postfix differs there).
 */
function formatArguments(argv: readonly string[], start: string, fold: boolean, pairExtra: number, mapValue: ValueMapper): string {
  let out = start;
  let lineLen = start.length;
  let inDaemonOptions = true;
  for (let field = MASTER_MIN_FIELDS; field < argv.length; field++) {
    const arg = argv[field];
    let argLen = arg.length;
    let value: string | undefined;
    let needBraces = false;
    if (inDaemonOptions) {
      if (!isOption(arg)) {
        inDaemonOptions = false;
      } else if (expectsValue(arg) && field + 1 < argv.length) {
        lineLen = LINE_LIMIT;
        value = arg === '-o' ? mapValue(argv[field + 1]) : argv[field + 1];
        argLen += value.length + pairExtra;
        needBraces = hasBlank(value);
        if (needBraces) argLen += 2;
      }
    } else {
      needBraces = hasBlank(arg);
    }
    if (lineLen > INDENT.length) {
      if (!fold || lineLen + 1 + argLen < LINE_LIMIT) {
        out += ' ';
        lineLen += 1;
      } else {
        out += '\n' + INDENT;
        lineLen = INDENT.length;
      }
    }
    const shown = !inDaemonOptions && needBraces ? `{${arg}}` : arg;
    out += shown;
    lineLen += shown.length;
    if (value !== undefined) {
      out += ' ' + (needBraces ? `{${value}}` : value);
      field += 1;
      lineLen = LINE_LIMIT;
    }
  }
  return out + '\n';
}

/** pcf_print_master_entry: fields at fixed columns, then the arguments. */
export function formatMasterEntry(argv: readonly string[], fold: boolean, mapValue: ValueMapper = (v) => v): string {
  let head = '';
  for (let field = 0; field < MASTER_MIN_FIELDS; field++) {
    if (head.length > 0) {
      do head += ' ';
      while (head.length < COLUMN_GOALS[field]);
    }
    head += argv[field];
  }
  return formatArguments(argv, head, fold, 3, mapValue);
}

export interface FieldFormat {
  readonly fold: boolean;
  readonly hideName: boolean;
  readonly hideValue: boolean;
  readonly mapValue: ValueMapper;
}

/** pcf_print_master_field: `name/type/field = value` (the command field with its arguments). */
export function formatMasterField(argv: readonly string[], field: number, how: FieldFormat): string {
  let out = '';
  if (!how.hideName) out += `${argv[0]}/${argv[1]}/${FIELD_NAMES[field]}`;
  if (!how.hideName && !how.hideValue) out += ' = ';
  if (how.hideValue) return out + '\n';
  // This wrap does not depend on -f.
  if (out.length > 0 && out.length + argv[field].length > LINE_LIMIT) out += '\n' + INDENT;
  out += argv[field];
  if (field !== FIELD_COMMAND) return out + '\n';
  // Only the length of the current output line matters from here on.
  const lastLine = out.slice(out.lastIndexOf('\n') + 1);
  return out.slice(0, out.length - lastLine.length) + formatArguments(argv, lastLine, how.fold, 1, how.mapValue);
}

/**
 * -F service/type/field=value: replaces one field (the command field takes
 * the command and all its arguments, which are split and normalized again),
 * then runs the field checks with the new value in the messages.
 */
export function editMasterField(argv: string[], field: number, value: string, warn: Warn): void {
  if (field === FIELD_COMMAND) {
    argv.splice(FIELD_COMMAND, argv.length - FIELD_COMMAND, ...splitQuoted(value));
    // Real postconf 3.7 crashes (SIGSEGV) on an empty command; report it instead.
    if (argv.length < MASTER_MIN_FIELDS) throw new PostconfFatal(`invalid command field "${value}"`);
    normalizeDaemonArgs(argv, warn);
  } else {
    argv[field] = value;
  }
  checkMasterEntry(argv, value);
}

/**
 * -P (update or add) and -PX (remove) of `-o name=value` in the option
 * region. Every matching -o is changed; a missing one is added at the end
 * of the option region.
 */
export function editMasterParam(argv: string[], name: string, value: string | undefined): void {
  let matched = false;
  let field = MASTER_MIN_FIELDS;
  for (; field < argv.length; field++) {
    const arg = argv[field];
    if (!isOption(arg)) break;
    if (!expectsValue(arg) || field + 1 >= argv.length) continue;
    const optionValue = argv[field + 1];
    if (arg === '-o' && optionValue.startsWith(name) && optionValue[name.length] === '=') {
      matched = true;
      if (value !== undefined) {
        argv[field + 1] = `${name}=${value}`;
      } else {
        argv.splice(field, 2);
        field -= 2;
      }
    }
    field += 1;
  }
  if (value !== undefined && !matched) argv.splice(field, 0, '-o', `${name}=${value}`);
}

/**
 * The `-o name=value` settings of an entry's option region, later ones
 * replacing earlier ones; undefined when there are none (Postfix then has
 * no per-service name space for the entry). Malformed ones are skipped.
 */
export function optionParams(argv: readonly string[]): Map<string, string> | undefined {
  let params: Map<string, string> | undefined;
  for (let field = MASTER_MIN_FIELDS; field < argv.length; field++) {
    const arg = argv[field];
    if (!isOption(arg)) break;
    if (!expectsValue(arg) || field + 1 >= argv.length) continue;
    if (arg === '-o') {
      const split = splitNameValue(argv[field + 1]);
      if (!('error' in split)) (params ??= new Map()).set(split.name, split.value);
    }
    field += 1;
  }
  return params;
}

/**
 * pcf_parse_service_pattern: `/`-separated parts (empty parts vanish, a
 * leading `/` is refused), between min and max of them, `*` only as a whole
 * part; missing trailing parts become `*`. Null when malformed.
 */
export function parseServicePattern(pattern: string, min: number, max: number): string[] | null {
  if (pattern.startsWith('/')) return null;
  const parts = pattern.split('/').filter((p) => p !== '');
  if (parts.length < min || parts.length > max) return null;
  if (parts.some((p) => p !== '*' && p.includes('*'))) return null;
  while (parts.length < max) parts.push('*');
  return parts;
}

export function matchService(pattern: readonly string[], name: string, type: string): boolean {
  return (pattern[0] === '*' || pattern[0] === name) && (pattern[1] === '*' || pattern[1] === type);
}

/** A field name (exact case) to its index, `*` to WILDCARD_FIELD; fatal otherwise. */
export function parseFieldName(name: string): number {
  if (name === '*') return WILDCARD_FIELD;
  const index = FIELD_NAMES.indexOf(name);
  if (index < 0) throw new PostconfFatal(`invalid service attribute name: "${name}"`);
  return index;
}
