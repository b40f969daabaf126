/*
 * string-list.ts - Postfix's string_list (match_list + match_string), as
 * match_parent_style() uses it to decide whether a list such as
 * fast_flush_domains has parent-domain matching: the list name is matched
 * against parent_domain_matches_subdomains.
 *
 * Items are parsed as for every list (match-list.ts): '!' negation, /file,
 * type:table, literals. A literal matches the case-folded string exactly, a
 * table is asked for the string alone (no parent walk); first match wins. A
 * table lookup failure is fatal, as for C's string lists built without
 * MATCH_FLAG_RETURN: "<list name>: <type>:<name>: table lookup problem".
 *
 * Exports: StringList.
 */
import { msg } from '../util/msg.js';
import { foldCase, parseList, TableSet, type ListOptions, type ListPattern } from './match-list.js';
import { TableError, toByteString, type LookupTable } from './table.js';

export class StringList {
  private readonly patterns: ListPattern[];

  constructor(value: string, private readonly options: ListOptions, tables: TableSet) {
    this.patterns = parseList(value, options, tables);
  }

  /**
   * Whether `text` is in the list. Synchronous unless a table has to be asked
   * of proxymap; a lookup failure is fatal (FatalError), sync or not.
   */
  match(text: string): boolean | Promise<boolean> {
    const name = foldCase(toByteString(text), this.options.utf8CaseFolding);
    return this.matchFrom(name, 0);
  }

  private matchFrom(name: string, first: number): boolean | Promise<boolean> {
    for (let i = first; i < this.patterns.length; i++) {
      const pattern = this.patterns[i] as ListPattern;
      if (pattern.literal !== undefined) {
        if (pattern.literal === name) return !pattern.negated;
        continue;
      }
      const table = pattern.table as LookupTable;
      let hit: boolean | Promise<boolean>;
      try {
        hit = table.lookup(name);
      } catch (error) {
        return this.lookupProblem(error, table.name);
      }
      if (typeof hit !== 'boolean') {
        return hit.then(
          (found) => (found ? !pattern.negated : this.matchFrom(name, i + 1)),
          (error: unknown) => this.lookupProblem(error, table.name),
        );
      }
      if (hit) return !pattern.negated;
    }
    return false;
  }

  private lookupProblem(error: unknown, table: string): never {
    if (!(error instanceof TableError)) throw error;
    return msg.fatal(`${this.options.listName}: ${table}: table lookup problem`);
  }
}
