/*
 * regex-table.ts - regexp: and pcre: tables, read as Postfix's dict_regexp
 * and dict_pcre read them.
 *
 * A file holds rules, one per logical line:
 *   /pattern/flags result          (regexp: also /pattern1/!/pattern2/ result)
 *   !/pattern/flags result         (matches when the pattern does not)
 *   if /pattern/flags ... endif    (the rules inside apply only on a match)
 * with any delimiter in place of '/'. regexp: flags are i (toggle the default
 * case folding), m (REG_NEWLINE) and x (toggle extended syntax); pcre: flags
 * are i, m, s (both i and s on by default), x, A, E, U and the obsolete X.
 * Rules C would skip are skipped with C's warning: an unknown flag, a missing
 * delimiter, bad $n replacement text, a pattern the C library refuses.
 *
 * A pattern that the C library accepts but fastflush cannot run with the same
 * meaning (RegexUnsupportedError) makes the whole table unusable: the reason
 * is logged when the list is built and every lookup fails, so a request gets
 * FLUSH_STAT_FAIL rather than a different answer.
 *
 * Matching is bounded (see regex/matcher.ts). A backtracking match that runs
 * out of its time budget is treated as C treats a PCRE "match limit exceeded":
 * a warning, and the rule does not match.
 *
 * Exports: regexTable.
 */
import { msg } from '../util/msg.js';
import { emitJs, type RegexNode } from './regex/ast.js';
import { RegexSyntaxError, RegexUnsupportedError } from './regex/errors.js';
import { BudgetExceededError, compileRegex, type CompiledRegex } from './regex/matcher.js';
import { parsePcre, type PcreOptions } from './regex/pcre.js';
import { parsePosix, type PosixOptions } from './regex/posix.js';
import { describeOpenError, openFailure, readTableLines, type LookupTable } from './table.js';

type RegexType = 'regexp' | 'pcre';

interface Pattern {
  regex: CompiledRegex;
  /** false for a !/pattern/. */
  match: boolean;
}

type Rule =
  | { op: 'match'; line: number; first: Pattern; second?: Pattern }
  | { op: 'if'; line: number; cond: Pattern; endif?: Rule }
  | { op: 'endif'; line: number };

/** The whole table is refused: the message names the line. */
class TableRefused extends Error {}

/** Source text of one pattern with its flags, before compiling. */
interface RawPattern {
  source: string;
  flags: string;
  match: boolean;
}

const isSpace = (ch: string | undefined): boolean => ch !== undefined && ' \t\n\v\f\r'.includes(ch);
const isAlnum = (ch: string | undefined): boolean => ch !== undefined && /^[A-Za-z0-9]$/.test(ch);

class RuleParser {
  constructor(
    private readonly type: RegexType,
    private readonly mapName: string,
  ) {}

  private where(line: number): string {
    return `${this.type} map ${this.mapName}, line ${line}`;
  }

  private warn(line: number, text: string): void {
    msg.warn(`${this.where(line)}: ${text}`);
  }

  /** One pattern at `text[pos]`: negations, delimiter, body, flags; null when C would skip the rule. */
  getPattern(text: string, pos: number, line: number): { pattern: RawPattern; next: number } | null {
    let p = pos;
    let match = true;
    for (;;) {
      if (text[p] === '!') match = !match;
      else if (!isSpace(text[p])) break;
      p++;
    }
    if (p >= text.length) {
      this.warn(line, 'no regexp: skipping this rule');
      return null;
    }
    const delimiter = text[p] as string;
    const start = ++p;
    while (p < text.length) {
      if (text[p] === '\\') {
        if (p + 1 >= text.length) break;
        p++;
      } else if (text[p] === delimiter) {
        break;
      }
      p++;
    }
    if (p >= text.length) {
      const action = this.type === 'pcre' ? 'ignoring this rule' : 'skipping this rule';
      this.warn(line, `no closing regexp delimiter "${delimiter}": ${action}`);
      return null;
    }
    const source = text.slice(start, p);
    p++;
    const flagStart = p;
    const known = this.type === 'pcre' ? 'imsxAEUX' : 'imx';
    while (p < text.length && !isSpace(text[p]) && (this.type === 'pcre' || text[p] !== '!')) {
      const flag = text[p] as string;
      if (!known.includes(flag)) {
        this.warn(line, `unknown regexp option "${flag}": skipping this rule`);
        return null;
      }
      if (flag === 'X') this.warn(line, `ignoring obsolete regexp option "${flag}"`);
      p++;
    }
    return { pattern: { source, flags: text.slice(flagStart, p), match }, next: p };
  }

  /**
   * Postfix's mac_parse() pre-scan of the result text: the largest $n, or
   * null (after C's warning) when the rule must be skipped.
   */
  scanReplacement(text: string, line: number, match: boolean): number | null {
    let maxSub = 0;
    const names: string[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text[i] !== '$') continue;
      const next = text[i + 1];
      if (next === '$') {
        i++;
        continue;
      }
      let name: string;
      if (next === '{' || next === '(') {
        const close = text.indexOf(next === '{' ? '}' : ')', i + 2);
        if (close < 0) return this.badReplacement(line);
        name = text.slice(i + 2, close);
        i = close;
      } else {
        const m = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1));
        if (!m) continue;
        name = m[0];
        i += name.length;
      }
      if (name.length === 0) return this.badReplacement(line);
      names.push(name);
    }
    for (const name of names) {
      if (!/^[0-9]+$/.test(name)) {
        this.warn(line, `non-numeric replacement index "${name}"`);
        return this.badReplacement(line);
      }
      const n = Number(name);
      if (n < 1) {
        this.warn(line, `${this.type === 'pcre' ? 'out of range' : 'out-of-range'} replacement index "${name}"`);
        return this.badReplacement(line);
      }
      maxSub = Math.max(maxSub, n);
    }
    if (maxSub > 0 && !match) {
      this.warn(line, '$number found in negative match replacement text: skipping this rule');
      return null;
    }
    return maxSub;
  }

  private badReplacement(line: number): null {
    this.warn(line, 'bad replacement syntax: skipping this rule');
    return null;
  }

  /** Compiles a pattern; null (after C's warning) when the C library would refuse it. */
  compile(raw: RawPattern, line: number): { pattern: Pattern; captures: number } | null {
    let parsed: { tree: RegexNode; captures: number };
    try {
      parsed = this.type === 'pcre' ? parsePcre(raw.source, pcreOptions(raw.flags)) : parsePosix(raw.source, posixOptions(raw.flags));
    } catch (error) {
      if (error instanceof RegexSyntaxError) {
        this.warn(line, error.message);
        return null;
      }
      if (error instanceof RegexUnsupportedError) {
        throw new TableRefused(`${this.where(line)}: ${error.message} by fastflush; this table is not used`);
      }
      throw error;
    }
    return { pattern: { regex: compileRegex(emitJs(parsed.tree)), match: raw.match }, captures: parsed.captures };
  }

  /** One logical line; null when it adds no rule. */
  parseLine(text: string, line: number, nesting: number): Rule | null {
    if (!isAlnum(text[0])) return this.matchRule(text, line);
    if (/^if(?![A-Za-z0-9])/i.test(text)) {
      let p = 2;
      while (isSpace(text[p])) p++;
      const got = this.getPattern(text, p, line);
      if (!got) return null;
      const rest = text.slice(got.next).replace(/^[ \t\n\v\f\r]+/, '');
      if (rest.length > 0) {
        this.warn(line, `ignoring extra text after IF statement: "${rest}"`);
        this.warn(line, 'do not prepend whitespace to statements between IF and ENDIF');
      }
      const compiled = this.compile(got.pattern, line);
      return compiled ? { op: 'if', line, cond: compiled.pattern } : null;
    }
    if (/^endif(?![A-Za-z0-9])/i.test(text)) {
      if (nesting === 0) {
        this.warn(line, 'ignoring ENDIF without matching IF');
        return null;
      }
      if (/[^ \t\n\v\f\r]/.test(text.slice(5))) this.warn(line, 'ignoring extra text after ENDIF');
      return { op: 'endif', line };
    }
    this.warn(line, 'ignoring unrecognized request');
    return null;
  }

  private matchRule(text: string, line: number): Rule | null {
    const first = this.getPattern(text, 0, line);
    if (!first) return null;
    let p = first.next;
    let second: { pattern: RawPattern; next: number } | null = null;
    if (this.type === 'regexp' && text[p] === '!') {
      second = this.getPattern(text, p, line);
      if (!second) return null;
      p = second.next;
    }
    while (isSpace(text[p])) p++;
    const result = text.slice(p);
    if (result.length === 0) this.warn(line, 'no replacement text: using empty string');
    const maxSub = this.scanReplacement(result, line, first.pattern.match);
    if (maxSub === null) return null;
    const compiled = this.compile(first.pattern, line);
    if (!compiled) return null;
    if (maxSub > compiled.captures) {
      this.warn(line, `out of range replacement index "${maxSub}": skipping this rule`);
      return null;
    }
    let secondPattern: Pattern | undefined;
    if (second) {
      const compiledSecond = this.compile(second.pattern, line);
      if (!compiledSecond) return null;
      secondPattern = compiledSecond.pattern;
    }
    return { op: 'match', line, first: compiled.pattern, second: secondPattern };
  }
}

function posixOptions(flags: string): PosixOptions {
  const opts: PosixOptions = { extended: true, icase: true, newline: false };
  for (const flag of flags) {
    if (flag === 'i') opts.icase = !opts.icase;
    else if (flag === 'm') opts.newline = !opts.newline;
    else if (flag === 'x') opts.extended = !opts.extended;
  }
  return opts;
}

function pcreOptions(flags: string): PcreOptions {
  const opts: PcreOptions = {
    caseless: true, multiline: false, dotall: true, extended: false, anchored: false, dollarEndOnly: false, ungreedy: false,
  };
  const names: Record<string, keyof PcreOptions> = {
    i: 'caseless', m: 'multiline', s: 'dotall', x: 'extended', A: 'anchored', E: 'dollarEndOnly', U: 'ungreedy',
  };
  for (const flag of flags) {
    const name = names[flag];
    if (name) opts[name] = !opts[name];
  }
  return opts;
}

function parseRules(type: RegexType, mapName: string): Rule[] {
  const parser = new RuleParser(type, mapName);
  const rules: Rule[] = [];
  const open: Array<Extract<Rule, { op: 'if' }>> = [];
  for (const { text: raw, line } of readTableLines(mapName)) {
    const text = raw.replace(/[ \t\n\v\f\r]+$/, '');
    if (text.length === 0) continue;
    const rule = parser.parseLine(text, line, open.length);
    if (!rule) continue;
    if (rule.op === 'if') open.push(rule);
    if (rule.op === 'endif') (open.pop() as Extract<Rule, { op: 'if' }>).endif = rule;
    rules.push(rule);
  }
  for (const rule of open.reverse()) msg.warn(`${type} map ${mapName}, line ${rule.line}: IF has no matching ENDIF`);
  return rules;
}

/** Opens a regexp: or pcre: table; a surrogate (after an error) when it cannot be used. */
export function regexTable(type: RegexType, spec: string, path: string, fatal: boolean): LookupTable {
  let rules: Rule[];
  try {
    rules = parseRules(type, path);
  } catch (error) {
    if (error instanceof TableRefused) return openFailure(spec, error.message, fatal);
    if ((error as NodeJS.ErrnoException).code) return openFailure(spec, `open ${path}: ${describeOpenError(error)}`, fatal);
    throw error;
  }

  /** Whether the pattern holds for `key` (match or, negated, no match); false after a budget overrun. */
  const holds = async (pattern: Pattern, line: number, key: string): Promise<boolean> => {
    try {
      return (await pattern.regex.test(key)) === pattern.match;
    } catch (error) {
      if (!(error instanceof BudgetExceededError)) throw error;
      // C's wording for PCRE2's backtracking limit; here the limit is a time budget (matcher.ts).
      msg.warn(`${type} map ${path}, line ${line}: match limit exceeded`);
      return false;
    }
  };

  return {
    name: spec,
    fixedKeys: () => false,
    async lookup(key: string): Promise<boolean> {
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i] as Rule;
        if (rule.op === 'match') {
          if (!(await holds(rule.first, rule.line, key))) continue;
          if (rule.second && !(await holds(rule.second, rule.line, key))) continue;
          return true;
        }
        if (rule.op === 'if' && !(await holds(rule.cond, rule.line, key))) {
          // Skip the block; an IF without ENDIF hides the rest of the table.
          if (!rule.endif) return false;
          i = rules.indexOf(rule.endif);
        }
      }
      return false;
    },
  };
}
