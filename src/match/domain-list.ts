/*
 * domain-list.ts - Postfix's domain_list (match_list + match_hostname) for
 * fast_flush_domains and friends.
 *
 * The list is built once, before privileges are dropped, from the expanded
 * parameter value: items separated by commas and whitespace (braces group),
 * leading '!'s toggle negation, '/file' items are read as logical lines and
 * tokenized again, 'type:name' items are lookup tables, anything else is a
 * case-folded literal. Matching is first-match-wins; a table lookup error stops
 * the scan and reports `error` (flush answers FLUSH_STAT_FAIL for it).
 *
 * Tables supported natively here: static:, inline:, texthash:, fail:. Any other
 * type becomes a surrogate whose every lookup is an error, as Postfix does for
 * a table it cannot open.
 *
 * Exports: DomainList, DomainListOptions, DomainMatch, LookupTable.
 */
import { msg } from '../util/msg.js';

export interface DomainMatch {
  matched: boolean;
  /** A table lookup failed: the answer is unknown (flush status -1). */
  error: boolean;
}

export interface LookupTable {
  readonly name: string;
  /** Parent-domain lookups (fixed-key tables) or whole-name only (pattern tables). */
  readonly fixedKeys: boolean;
  /**
   * The value for key, undefined when not found; throws (or rejects with)
   * TableError on failure. Async so that tables served over IPC (proxymap) fit.
   */
  lookup(key: string): string | undefined | Promise<string | undefined>;
}

export class TableError extends Error {}

export interface DomainListOptions {
  /** Parameter name, used in warnings ("fast_flush_domains: ..."). */
  listName: string;
  /** The list name appears in parent_domain_matches_subdomains. */
  parentStyle: boolean;
  /** smtputf8_enable: fold non-ASCII case too. */
  utf8CaseFolding: boolean;
  /** Reads a /file pattern file as Postfix's logical lines (config layer's reader). */
  readLogicalLines(path: string): string[];
  /** Opens table types not built in here (later: proxymap); undefined = unsupported. */
  openExternalTable?(type: string, name: string): LookupTable | undefined;
}

interface Pattern {
  negated: boolean;
  literal?: string;
  table?: LookupTable;
}

const SEPARATORS = ', \t\r\n';

/** Splits a list value like mystrtok_cw(): separators, brace groups, '#' ends the list. */
export function tokenizeList(value: string, listName: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && SEPARATORS.includes(value[i] as string)) i++;
    if (i >= value.length) break;
    const start = i;
    let depth = 0;
    while (i < value.length) {
      const ch = value[i] as string;
      if (ch === '{') depth++;
      else if (ch === '}' && depth > 0) depth--;
      else if (depth === 0 && SEPARATORS.includes(ch)) break;
      i++;
    }
    const token = value.slice(start, i);
    if (token.startsWith('#')) {
      // Like C, quote what follows the separator that ended the token.
      msg.warn(`${listName}: #comment after other text is not allowed: ${token} ${value.slice(i + 1, i + 21)}...`);
      break;
    }
    tokens.push(token);
  }
  return tokens;
}

export function foldCase(text: string, utf8: boolean): string {
  if (!utf8) return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  // ICU's full case folding differs from toLowerCase() mainly in these expansions.
  return text.toLowerCase().replace(/ß/g, 'ss').replace(/ς/g, 'σ');
}

/** A table that could not be opened: every lookup fails (Postfix's surrogate). */
function surrogateTable(name: string, reason: string): LookupTable {
  return {
    name,
    fixedKeys: false,
    lookup(): never {
      msg.warn(`${name} is unavailable. ${reason}`);
      throw new TableError(reason);
    },
  };
}

function staticTable(name: string, value: string): LookupTable {
  const result = value.startsWith('{') && value.endsWith('}') ? value.slice(1, -1).trim() : value;
  return { name, fixedKeys: true, lookup: () => result };
}

/** inline:{k=v, {k = v w}}: an empty or malformed table is an error, as in Postfix. */
function inlineTable(name: string, body: string): LookupTable {
  if (!body.startsWith('{') || !body.endsWith('}')) {
    return surrogateTable(name, `${name}: missing '{' or '}'`);
  }
  const entries = new Map<string, string>();
  for (const item of tokenizeList(body.slice(1, -1), name)) {
    const inner = item.startsWith('{') && item.endsWith('}') ? item.slice(1, -1) : item;
    const eq = inner.indexOf('=');
    if (eq < 0) return surrogateTable(name, `${name}: "${inner}": missing '='`);
    const key = inner.slice(0, eq).trim();
    if (key.length === 0) return surrogateTable(name, `${name}: "${inner}": missing key`);
    entries.set(key, inner.slice(eq + 1).trim());
  }
  if (entries.size === 0) return surrogateTable(name, `${name}: empty table`);
  return { name, fixedKeys: true, lookup: (key) => entries.get(key) };
}

/** texthash:/path: "key value" logical lines; a duplicate key fails the table. */
function texthashTable(name: string, path: string, readLogicalLines: (p: string) => string[]): LookupTable {
  let lines: string[];
  try {
    lines = readLogicalLines(path);
  } catch (error) {
    const reason = `open database ${path}: ${describeError(error)}`;
    msg.error(reason);
    return surrogateTable(name, reason);
  }
  const entries = new Map<string, string>();
  for (const line of lines) {
    const match = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!match) {
      msg.warn(`${path}: expected format: key whitespace value -- ignoring this line`);
      continue;
    }
    const [, key, value] = match as unknown as [string, string, string];
    if (entries.has(key)) return surrogateTable(name, `${path}: duplicate entry: "${key}"`);
    entries.set(key, value);
  }
  return { name, fixedKeys: true, lookup: (key) => entries.get(key) };
}

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  return (error as Error).message;
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
        this.patterns.push({ negated, table: this.openTable(item) });
      } else {
        this.patterns.push({ negated, literal: foldCase(item, this.options.utf8CaseFolding) });
      }
    }
  }

  private addFile(path: string, negated: boolean): void {
    let lines: string[];
    try {
      lines = this.options.readLogicalLines(path);
    } catch (error) {
      const reason = `open file ${path}: ${describeError(error)}`;
      msg.error(reason);
      this.patterns.push({ negated, table: surrogateTable(`non-existent:${path}`, reason) });
      return;
    }
    for (const line of lines) this.addItems(line, negated);
  }

  private openTable(spec: string): LookupTable {
    const colon = spec.indexOf(':');
    const type = spec.slice(0, colon);
    const name = spec.slice(colon + 1);
    switch (type) {
      case 'static':
        return staticTable(spec, name);
      case 'inline':
        return inlineTable(spec, name);
      case 'texthash':
        return texthashTable(spec, name, this.options.readLogicalLines);
      case 'fail':
        return surrogateTable(spec, `${spec}: table lookup failure`);
      default: {
        const external = this.options.openExternalTable?.(type, name);
        if (external) return external;
        const reason = `unsupported dictionary type: ${type}`;
        msg.error(reason);
        return surrogateTable(spec, reason);
      }
    }
  }

  private matchLiteral(name: string, pattern: string): boolean {
    if (name === pattern) return true;
    if (this.options.parentStyle) {
      return name.length > pattern.length + 1 && name.endsWith(pattern) && name[name.length - pattern.length - 1] === '.';
    }
    return pattern.startsWith('.') && name.length > pattern.length && name.endsWith(pattern);
  }

  /** Keys a fixed-key table is asked for: the name, then its parent domains. */
  private tableKeys(name: string, fixedKeys: boolean): string[] {
    const keys = [name];
    if (!fixedKeys) return keys;
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      const suffix = this.options.parentStyle ? name.slice(dot + 1) : name.slice(dot);
      if (suffix.length > 0) keys.push(suffix);
    }
    return keys;
  }

  private async matchTable(name: string, table: LookupTable): Promise<boolean> {
    for (const key of this.tableKeys(name, table.fixedKeys)) {
      if ((await table.lookup(key)) !== undefined) return true;
    }
    return false;
  }

  async match(site: string): Promise<DomainMatch> {
    const name = foldCase(site, this.options.utf8CaseFolding);
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
