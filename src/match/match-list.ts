/*
 * match-list.ts - what Postfix's match_list does for every kind of list:
 * parses a list value into patterns, and keeps the tables its lists open.
 *
 * A list value is split into items (commas and white space separate, braces
 * group, '#' ends it with a warning); leading '!'s toggle negation; '/file'
 * items are read as Postfix 3.7 reads them and tokenized again (the file's
 * items inherit the negation); 'type:name' items are lookup tables; anything
 * else is a case-folded literal. The domain list (domain-list.ts) and the
 * string list (string-list.ts) differ only in how a pattern is compared.
 *
 * Tables are opened through a TableSet, which opens each "type:name" once per
 * process (Postfix registers a table by name and shares it between lists),
 * so that a table named in both parent_domain_matches_subdomains and
 * fast_flush_domains is opened, and its open error logged, once.
 *
 * Exports: ListPattern, ListOptions, TableSet, parseList, tokenizeList, foldCase.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { msg } from '../util/msg.js';
import { splitBraced } from './split-braced.js';
import {
  describeOpenError, openFailure, toByteString, type LookupTable,
} from './table.js';
import { openTable, type TableContext } from './tables.js';

export interface ListPattern {
  negated: boolean;
  /** A case-folded byte string. */
  literal?: string;
  table?: LookupTable;
}

export interface ListOptions {
  /** Parameter name, used in messages ("fast_flush_domains: ..."). */
  listName: string;
  /** smtputf8_enable: fold non-ASCII case too. */
  utf8CaseFolding: boolean;
}

/** The tables a process's lists opened, by "type:name". */
export class TableSet {
  private readonly opened = new Map<string, LookupTable>();

  constructor(private readonly context: TableContext) {}

  /** daemon_table_open_error_is_fatal, for /file items that cannot be read. */
  get openErrorIsFatal(): boolean {
    return this.context.openErrorIsFatal;
  }

  /**
   * The first table whose file changed since it was read, as
   * dict_changed_name() finds it, or undefined.
   */
  changed(): string | undefined {
    for (const [spec, table] of this.opened) if (table.changed?.() === true) return spec;
    return undefined;
  }

  open(spec: string): LookupTable {
    let table = this.opened.get(spec);
    if (!table) {
      table = openTable(spec, this.context);
      this.opened.set(spec, table);
    }
    return table;
  }
}

/** Splits a list value like mystrtokq(): separators, brace groups, '#' ends the list. */
export function tokenizeList(value: string, listName: string): string[] {
  const tokens: string[] = [];
  for (const item of splitBraced(value)) {
    if (item.text.startsWith('#')) {
      // Postfix 3.7's wording; like C, it quotes the rest after the separator that ended the token.
      msg.warn(`${listName}: comment at end of line is not supported: ${item.text} ${value.slice(item.end + 1)}`);
      break;
    }
    tokens.push(item.text);
  }
  return tokens;
}

/**
 * Unicode full case folding as ICU's u_strFoldCase does it by default:
 * upper-casing then lower-casing gives the same classes of equal strings,
 * except for the dotless i, which folding leaves alone.
 */
function foldUnicode(text: string): string {
  return text
    .split('ı')
    .map((part) => part.toUpperCase().toLowerCase())
    .join('ı');
}

/** casefold() of a byte string: Unicode folding of valid UTF-8 when utf8 is on, else ASCII only. */
export function foldCase(bytes: string, utf8: boolean): string {
  if (utf8 && /[\x80-\xff]/.test(bytes)) {
    const raw = Buffer.from(bytes, 'latin1');
    if (isUtf8(raw)) return toByteString(foldUnicode(raw.toString('utf8')));
  }
  return bytes.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/**
 * The lines of a /file pattern as Postfix 3.7's match_list reads them
 * (vstring_fgets): every physical line on its own, with its newline (which
 * separates items, and shows in a "comment at end of line" warning), the last
 * one with or without it; lines starting with '#' skipped; no continuation
 * lines and no complaint about leading white space (texthash: tables do use
 * logical lines). A line ends at a NUL byte, as a C string does.
 */
function readPatternFileLines(path: string): string[] {
  const lines = readFileSync(path).toString('latin1').split(/(?<=\n)/);
  return lines
    .map((line) => {
      const nul = line.indexOf('\0');
      return nul < 0 ? line : line.slice(0, nul);
    })
    .filter((line) => !line.startsWith('#'));
}

/** match_list_parse(): the patterns of `value`, tables opened through `tables`. */
export function parseList(value: string, options: ListOptions, tables: TableSet): ListPattern[] {
  const patterns: ListPattern[] = [];

  const addItems = (text: string, inheritedNegation: boolean): void => {
    for (const token of tokenizeList(text, options.listName)) {
      let negated = inheritedNegation;
      let item = token;
      while (item.startsWith('!')) {
        negated = !negated;
        item = item.slice(1);
      }
      if (item.length === 0) msg.fatal(`${options.listName}: no pattern after '!'`);
      if (item.startsWith('/')) {
        addFile(item, negated);
      } else if (!item.startsWith('[') && item.includes(':')) {
        patterns.push({ negated, table: tables.open(item) });
      } else {
        patterns.push({ negated, literal: foldCase(toByteString(item), options.utf8CaseFolding) });
      }
    }
  };

  const addFile = (path: string, negated: boolean): void => {
    let lines: string[];
    try {
      lines = readPatternFileLines(path);
    } catch (error) {
      // C reports a file it opened but cannot read (a directory) as fatal, which
      // leaves clients hanging while master throttles; here it fails like a missing file.
      const code = (error as NodeJS.ErrnoException).code;
      const what = code === 'EISDIR' || code === 'EIO' ? 'match_list_parse: read file' : 'open file';
      const reason = `${what} ${path}: ${describeOpenError(error)}`;
      patterns.push({ negated, table: openFailure(`non-existent:${path}`, reason, tables.openErrorIsFatal) });
      return;
    }
    // The file's bytes are its items: decode them the way the list value was decoded.
    for (const line of lines) addItems(Buffer.from(line, 'latin1').toString('utf8'), negated);
  };

  addItems(value, false);
  return patterns;
}
