/*
 * domain-list.ts - Postfix's domain_list (match_list + match_hostname) for
 * fast_flush_domains and friends.
 *
 * The list is built once, before privileges are dropped, from the expanded
 * parameter value: items separated by commas and whitespace (braces group),
 * leading '!'s toggle negation, '/file' items are read as logical lines and
 * tokenized again (the file's items inherit the negation), 'type:name' items
 * are lookup tables (tables.ts), anything else is a case-folded literal.
 * Matching is first-match-wins; a table lookup error stops the scan and
 * reports `error` (flush answers FLUSH_STAT_FAIL for it).
 *
 * Names are compared as bytes, as in C: the site may be given as the raw
 * bytes received, or as text (taken as its UTF-8 bytes). With smtputf8_enable
 * the site and the literal patterns are case-folded as Unicode, otherwise
 * only ASCII letters are folded.
 *
 * Exports: DomainList, DomainListOptions, DomainMatch, tokenizeList, foldCase.
 */
import { isUtf8 } from 'node:buffer';
import { msg } from '../util/msg.js';
import { splitBraced } from './split-braced.js';
import type { ProxymapClient } from './proxymap.js';
import {
  describeOpenError, loggableBytes, openFailure, readTableLines, TableError, toByteString, type LookupTable,
} from './table.js';
import { openTable } from './tables.js';

export interface DomainMatch {
  matched: boolean;
  /** A table lookup failed: the answer is unknown (flush status -1). */
  error: boolean;
}

export interface DomainListOptions {
  /** Parameter name, used in warnings ("fast_flush_domains: ..."). */
  listName: string;
  /** The list name appears in parent_domain_matches_subdomains. */
  parentStyle: boolean;
  /** smtputf8_enable: fold non-ASCII case too. */
  utf8CaseFolding: boolean;
  /** Serves the table types fastflush does not read itself; without it they are unsupported. */
  proxymap?: ProxymapClient;
  /** daemon_table_open_error_is_fatal (default no): a table or /file that cannot be opened is fatal. */
  openErrorIsFatal?: boolean;
}

interface Pattern {
  negated: boolean;
  /** A case-folded byte string. */
  literal?: string;
  table?: LookupTable;
}

/** Splits a list value like mystrtok_cw(): separators, brace groups, '#' ends the list. */
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

export class DomainList {
  private readonly patterns: Pattern[] = [];

  constructor(value: string, private readonly options: DomainListOptions) {
    this.addItems(value, false);
  }

  private addItems(value: string, inheritedNegation: boolean): void {
    for (const token of tokenizeList(value, this.options.listName)) {
      let negated = inheritedNegation;
      let item = token;
      while (item.startsWith('!')) {
        negated = !negated;
        item = item.slice(1);
      }
      if (item.length === 0) msg.fatal(`${this.options.listName}: no pattern after '!'`);
      if (item.startsWith('/')) {
        this.addFile(item, negated);
      } else if (!item.startsWith('[') && item.includes(':')) {
        this.patterns.push({
          negated,
          table: openTable(item, { proxymap: this.options.proxymap, openErrorIsFatal: this.options.openErrorIsFatal ?? false }),
        });
      } else {
        this.patterns.push({ negated, literal: foldCase(toByteString(item), this.options.utf8CaseFolding) });
      }
    }
  }

  private addFile(path: string, negated: boolean): void {
    let lines: Array<{ text: string }>;
    try {
      lines = readTableLines(path);
    } catch (error) {
      // C reports a file it opened but cannot read (a directory) as fatal, which
      // leaves clients hanging while master throttles; here it fails like a missing file.
      const code = (error as NodeJS.ErrnoException).code;
      const what = code === 'EISDIR' || code === 'EIO' ? 'match_list_parse: read file' : 'open file';
      const reason = `${what} ${path}: ${describeOpenError(error)}`;
      this.patterns.push({ negated, table: openFailure(`non-existent:${path}`, reason, this.options.openErrorIsFatal ?? false) });
      return;
    }
    // The file's bytes are its items: decode them the way the list value was decoded.
    for (const { text } of lines) this.addItems(Buffer.from(text, 'latin1').toString('utf8'), negated);
  }

  private matchLiteral(name: string, pattern: string): boolean {
    if (name === pattern) return true;
    if (this.options.parentStyle) {
      // Any name that ends in "." + pattern, even ".example.com" for example.com, as in C.
      return name.length > pattern.length && name.endsWith(pattern) && name[name.length - pattern.length - 1] === '.';
    }
    return pattern.startsWith('.') && name.length > pattern.length && name.endsWith(pattern);
  }

  /**
   * The parent-domain keys a fixed-key table is asked for after the name, as
   * match_hostname() walks them: from each '.' after the first character,
   * keeping the dot unless parent style drops it.
   */
  private parentKeys(name: string): string[] {
    const keys: string[] = [];
    let entry = 0;
    for (;;) {
      let next = name.indexOf('.', entry + 1);
      if (next < 0) break;
      if (this.options.parentStyle) next += 1;
      if (next >= name.length) break;
      keys.push(name.slice(next));
      entry = next;
    }
    return keys;
  }

  /**
   * One table lookup. With smtputf8_enable Postfix's dict layer refuses keys
   * that are not valid UTF-8: a warning, and "not found".
   */
  private async lookup(table: LookupTable, key: string): Promise<boolean> {
    if (this.options.utf8CaseFolding && /[\x80-\xff]/.test(key) && !isUtf8(Buffer.from(key, 'latin1'))) {
      msg.warn(`${table.name}: non-UTF-8 key "${loggableBytes(Buffer.from(key, 'latin1'))}": malformed UTF-8 or invalid codepoint`);
      return false;
    }
    return await table.lookup(key);
  }

  private async matchTable(name: string, table: LookupTable): Promise<boolean> {
    if (await this.lookup(table, name)) return true;
    if (!(await table.fixedKeys())) return false;
    for (const key of this.parentKeys(name)) {
      if (await this.lookup(table, key)) return true;
    }
    return false;
  }

  /** First-match-wins verdict for `site`: raw bytes as received, or text. */
  async match(site: string | Buffer): Promise<DomainMatch> {
    const bytes = typeof site === 'string' ? toByteString(site) : site.toString('latin1');
    const name = foldCase(bytes, this.options.utf8CaseFolding);
    for (const pattern of this.patterns) {
      let hit: boolean;
      if (pattern.table) {
        try {
          hit = await this.matchTable(name, pattern.table);
        } catch (error) {
          if (!(error instanceof TableError)) throw error;
          msg.warn(`${this.options.listName}: ${pattern.table.name}: table lookup problem`);
          return { matched: false, error: true };
        }
      } else {
        hit = this.matchLiteral(name, pattern.literal as string);
      }
      if (hit) return { matched: !pattern.negated, error: false };
    }
    return { matched: false, error: false };
  }
}
