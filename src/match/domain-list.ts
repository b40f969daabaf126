/*
 * domain-list.ts - Postfix's domain_list (match_list + match_hostname) for
 * fast_flush_domains and friends.
 *
 * The list is built once, before privileges are dropped, from the expanded
 * parameter value, as match-list.ts parses every list. Matching is first-match-wins; a table lookup error stops the scan and
 * reports `error` (flush answers FLUSH_STAT_FAIL for it).
 *
 * Names are compared as bytes, as in C: the site may be given as the raw
 * bytes received, or as text (taken as its UTF-8 bytes). With smtputf8_enable
 * the site and the literal patterns are case-folded as Unicode, otherwise
 * only ASCII letters are folded.
 *
 * Exports: DomainList, DomainListOptions, DomainMatch.
 */
import { isUtf8 } from 'node:buffer';
import { msg } from '../util/msg.js';
import type { ProxymapClient } from './proxymap.js';
import {
  loggableBytes, TableError, toByteString, type LookupTable,
} from './table.js';
import { foldCase, parseList, TableSet, type ListOptions, type ListPattern } from './match-list.js';

export interface DomainMatch {
  matched: boolean;
  /** A table lookup failed: the answer is unknown (flush status -1). */
  error: boolean;
}

export interface DomainListOptions extends ListOptions {
  /**
   * The list name matches parent_domain_matches_subdomains (a string list,
   * string-list.ts); a promise when that answer needs proxymap.
   */
  parentStyle: boolean | Promise<boolean>;
  /** The process's tables, shared with its other lists; absent: the list opens its own. */
  tables?: TableSet;
  /** Serves the table types fastflush does not read itself; without it they are unsupported. */
  proxymap?: ProxymapClient;
  /** daemon_table_open_error_is_fatal (default no): a table or /file that cannot be opened is fatal. */
  openErrorIsFatal?: boolean;
}

export class DomainList {
  private readonly patterns: ListPattern[];
  private readonly tables: TableSet;

  constructor(value: string, private readonly options: DomainListOptions) {
    this.tables = options.tables ?? new TableSet({
      proxymap: options.proxymap, openErrorIsFatal: options.openErrorIsFatal ?? false,
    });
    this.patterns = parseList(value, options, this.tables);
  }

  /**
   * A table file of this process's lists that changed since it was read
   * ("type:name"), or undefined. Postfix servers check this before accepting
   * the next client and then exit ("table ... has changed -- restarting").
   */
  changedTable(): string | undefined {
    return this.tables.changed();
  }

  private matchLiteral(name: string, pattern: string, parentStyle: boolean): boolean {
    if (name === pattern) return true;
    if (parentStyle) {
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
  private parentKeys(name: string, parentStyle: boolean): string[] {
    const keys: string[] = [];
    let entry = 0;
    for (;;) {
      let next = name.indexOf('.', entry + 1);
      if (next < 0) break;
      if (parentStyle) next += 1;
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

  private async matchTable(name: string, table: LookupTable, parentStyle: boolean): Promise<boolean> {
    if (await this.lookup(table, name)) return true;
    if (!(await table.fixedKeys())) return false;
    for (const key of this.parentKeys(name, parentStyle)) {
      if (await this.lookup(table, key)) return true;
    }
    return false;
  }

  /** First-match-wins verdict for `site`: raw bytes as received, or text. */
  async match(site: string | Buffer): Promise<DomainMatch> {
    const bytes = typeof site === 'string' ? toByteString(site) : site.toString('latin1');
    const name = foldCase(bytes, this.options.utf8CaseFolding);
    const parentStyle = await this.options.parentStyle;
    for (const pattern of this.patterns) {
      let hit: boolean;
      if (pattern.table) {
        try {
          hit = await this.matchTable(name, pattern.table, parentStyle);
        } catch (error) {
          if (!(error instanceof TableError)) throw error;
          msg.warn(`${this.options.listName}: ${pattern.table.name}: table lookup problem`);
          return { matched: false, error: true };
        }
      } else {
        hit = this.matchLiteral(name, pattern.literal as string, parentStyle);
      }
      if (hit) return { matched: !pattern.negated, error: false };
    }
    return { matched: false, error: false };
  }
}
