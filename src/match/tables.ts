/*
 * tables.ts - opens the lookup tables a domain list can name, as Postfix's
 * dict layer opens them for match_list.
 *
 * Built in: static:, inline:, texthash:, fail:, regexp: and pcre: (the last
 * two in regex-table.ts), and the file types hash:, btree:, lmdb:, cdb:, dbm:,
 * sdbm: (binary-table.ts). Every other type, and every proxy: table, is asked
 * of Postfix's proxymap service (proxymap.ts); without a proxymap client the
 * type is unsupported. A table that cannot be opened becomes a surrogate, as
 * in Postfix: the problem is logged as an error when the list is built (fatal
 * with daemon_table_open_error_is_fatal = yes), and every lookup then fails
 * with "<type>:<name> is unavailable. <reason>". A spec with an empty type or
 * name ("texthash:", "static:") is fatal, as in Postfix.
 *
 * Table files are read once, when the list is built; a change is seen by the
 * next process (Postfix behaves the same way; binary tables report it through
 * changed(), so the process can make way for a fresh one).
 *
 * Exports: TableContext, openTable.
 */
import { splitNameValue } from '../config/main-cf.js';
import { msg } from '../util/msg.js';
import { BINARY_TYPES, binaryTable, type BinaryTableContext } from './binary-table.js';
import type { ProxymapClient } from './proxymap.js';
import { proxymapTable } from './proxymap.js';
import { regexTable } from './regex-table.js';
import { splitBraced } from './split-braced.js';
import {
  describeOpenError, openFailure, readTableLines, TableError, toByteString, type LookupTable,
} from './table.js';

export interface TableContext {
  /** Reads hash:, btree:, lmdb:, cdb:, dbm: and sdbm: tables directly; absent: they go to proxymap. */
  binary?: BinaryTableContext;
  /** Serves every table type not built in here; absent: such types are unsupported. */
  proxymap?: ProxymapClient;
  /** daemon_table_open_error_is_fatal: a table that cannot be opened is fatal. */
  openErrorIsFatal: boolean;
}

/** static:text and static:{ text }: every key has the value. */
function staticTable(name: string): LookupTable {
  return { name, fixedKeys: () => true, lookup: () => true };
}


/** Length of the balanced {...} group at the start of `text`, or 0 (Postfix's balpar()). */
function balancedLength(text: string): number {
  if (!text.startsWith('{')) return 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i + 1;
  }
  return 0;
}


/** "{ text }" without its braces and surrounding white space, or Postfix's extpar() error. */
function stripBraces(item: string): { text: string } | { error: string } {
  const length = balancedLength(item);
  if (length === 0) return { error: `missing '}' in "${item}"` };
  if (cTrim(item.slice(length)).length > 0) return { error: `syntax error after '}' in "${item}"` };
  return { text: cTrim(item.slice(1, length - 1)) };
}

/** inline:{k=v, {k = v w}}; an empty or malformed table is an error, as in Postfix (dict_inline.c). */
function inlineTable(spec: string, body: string, fatal: boolean): LookupTable {
  const need = `"${spec}"; need "inline:{name=value...}"`;
  const length = balancedLength(body);
  if (length === 0 || length !== body.length || length === 2) return openFailure(spec, `bad syntax: ${need}`, fatal);
  const keys = new Set<string>();
  for (const { text: item } of splitBraced(body.slice(1, -1))) {
    let text = item;
    if (item.startsWith('{')) {
      const stripped = stripBraces(item);
      if ('error' in stripped) return openFailure(spec, `${stripped.error}: ${need}`, fatal);
      text = stripped.text;
    }
    const pair = splitNameValue(text);
    if ('error' in pair) return openFailure(spec, `${pair.error}: ${need}`, fatal);
    keys.add(toByteString(pair.name));
  }
  if (keys.size === 0) return openFailure(spec, `empty table: ${need}`, fatal);
  return { name: spec, fixedKeys: () => true, lookup: (key) => keys.has(key) };
}

/** Trims C white space only (String.trim() would also take the latin1 no-break space). */
function cTrim(text: string): string {
  return text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}

/**
 * texthash:/path: "key value" logical lines (dict_thash.c). A line without a
 * key or value is skipped with a warning; a duplicate key fails the table.
 */
function texthashTable(spec: string, path: string, fatal: boolean): LookupTable {
  let lines: Array<{ text: string; line: number }>;
  try {
    lines = readTableLines(path);
  } catch (error) {
    return openFailure(spec, `open database ${path}: ${describeOpenError(error)}`, fatal);
  }
  const keys = new Set<string>();
  for (const { text, line } of lines) {
    const split = text.search(/[ \t\r\n]/);
    const key = cTrim(split < 0 ? text : text.slice(0, split));
    const value = split < 0 ? '' : cTrim(text.slice(split + 1));
    if (key.length === 0 || value.length === 0) {
      msg.warn(`${path}, line ${line}: expected format: key whitespace value -- ignoring this line`);
      continue;
    }
    if (key.endsWith(':')) msg.warn(`${path}, line ${line}: record is in "key: value" format; is this an alias file?`);
    if (keys.has(key)) return openFailure(spec, `${path}, line ${line}: duplicate entry: "${key}"`, fatal);
    keys.add(key);
  }
  return { name: spec, fixedKeys: () => true, lookup: (key) => keys.has(key) };
}

/** fail:name: every lookup fails, silently (dict_fail.c). */
function failTable(spec: string): LookupTable {
  return {
    name: spec,
    fixedKeys: () => false,
    lookup(): never {
      throw new TableError(`${spec}: table lookup failure`);
    },
  };
}

const PROXY_PREFIX = 'proxy:';

/**
 * Dictionary types Postfix knows (dict_open.c and its dynamically loaded
 * maps). Any other type is refused here with C's "unsupported dictionary
 * type" error instead of being sent to proxymap.
 */
const POSTFIX_TYPES = new Set([
  'btree', 'cdb', 'cidr', 'dbm', 'environ', 'hash', 'internal', 'ldap', 'lmdb', 'memcache', 'mongodb', 'mysql',
  'nis', 'nisplus', 'pgsql', 'pipemap', 'proxy', 'randmap', 'sdbm', 'socketmap', 'sqlite', 'tcp', 'unionmap', 'unix',
]);

/** Opens the table `spec` ("type:name", split at the first colon) of a domain list. */
export function openTable(spec: string, ctx: TableContext): LookupTable {
  const colon = spec.indexOf(':');
  const type = spec.slice(0, colon);
  const name = spec.slice(colon + 1);
  // dict_open3(): no table at all, not even a surrogate, whatever daemon_table_open_error_is_fatal says.
  if (type.length === 0 || name.length === 0) {
    msg.fatal(`open dictionary: expecting "type:name" form instead of "${spec}"`);
  }
  switch (type) {
    case 'static':
      return staticTable(spec);
    case 'inline':
      return inlineTable(spec, name, ctx.openErrorIsFatal);
    case 'texthash':
      return texthashTable(spec, name, ctx.openErrorIsFatal);
    case 'fail':
      return failTable(spec);
    case 'regexp':
    case 'pcre':
      return regexTable(type, spec, name, ctx.openErrorIsFatal);
    default: {
      const fatal = ctx.openErrorIsFatal;
      if (ctx.binary && BINARY_TYPES.has(type)) return binaryTable(type, name, spec, ctx.binary, fatal);
      if (!ctx.proxymap || !POSTFIX_TYPES.has(type)) return openFailure(spec, `unsupported dictionary type: ${type}`, fatal);
      // proxymap strips any number of proxy: prefixes itself; the name it is asked for has none.
      let table = spec;
      while (table.startsWith(PROXY_PREFIX)) table = table.slice(PROXY_PREFIX.length);
      if (!table.includes(':')) return openFailure(spec, `${spec}: invalid table name`, fatal);
      return proxymapTable(ctx.proxymap, table, spec);
    }
  }
}
