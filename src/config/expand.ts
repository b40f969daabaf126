/*
 * expand.ts - `$name` expansion of parameter values as Postfix's mac_parse
 * and mac_expand do it in recursive mode (the only mode daemons and
 * `postconf -x` use).
 *
 * Forms: $name, ${name}, $(name), $$, ${name?text}, ${name:text},
 * ${name?{t}:{f}}, and relational expressions ${{a} OP {b}} with OP one of
 * == != < <= >= >, optionally suffixed with `level` to compare
 * compatibility levels. Postfix 3.7 (the installed reference) has no named
 * functions such as ${domain_to_ascii{...}}; they are syntax errors there, and
 * here. Undefined names expand to nothing.
 *
 * Errors behave as in Postfix: each problem produces a warning in Postfix's
 * words (reported through `warn` as it happens), expansion carries on without
 * output, and at the end the caller gets a MacroError listing the warnings.
 * Daemons turn that into "dictionary mail_dict: macro processing error",
 * postconf into "macro processing error". A numeric comparison that overflows
 * a C long is fatal on the spot (ConfigError), as in Postfix.
 *
 * Exports: MacroLookup, MacroError, expandValue.
 */
import { ConfigError } from './errors.js';
import { LONG_MAX, truncBytes } from './c-text.js';
import { compatLevelFromString, malformedCompatLevel } from './compat-level.js';

/** The raw (unexpanded) value of a name, or undefined when it has none. */
export type MacroLookup = (name: string) => string | undefined;

export class MacroError extends ConfigError {
  /** Every warning Postfix would have logged for this expansion, in order. */
  readonly warnings: readonly string[];

  constructor(warnings: readonly string[]) {
    super('macro processing error');
    this.name = 'MacroError';
    this.warnings = warnings;
  }
}

/** mac_expand's nesting limit: the counter may exceed it by one, not two. */
const MAX_NESTING = 100;
/*
 * Postfix expands each relational operand with a fresh nesting counter, so a
 * value that refers to itself inside an operand recurses until the C stack
 * overflows (postconf 3.7 dies with SIGSEGV). This bound on the total depth
 * turns that into the usual nesting error while staying far above anything
 * the per-context limit lets through in real configurations.
 */
const MAX_TOTAL_DEPTH = 500;

/** Whitespace inside expressions (Postfix CHARS_SPACE): no \v or \f. */
function isExprSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

/** ASCII letters and digits only, like Postfix's ISALNUM. */
function isAlnum(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  const c = ch.charCodeAt(0);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isNameChar(ch: string | undefined): boolean {
  return ch === '_' || isAlnum(ch);
}

function skipExprSpace(text: string, pos: number): number {
  while (pos < text.length && isExprSpace(text[pos])) pos++;
  return pos;
}

/** The "%.20s" tail Postfix shows after ">>>" in syntax errors. */
function tail(text: string, pos: number): string {
  return truncBytes(text.slice(pos), 20);
}

interface Shared {
  readonly lookup: MacroLookup;
  readonly warn: (text: string) => void;
  readonly warnings: string[];
  depth: number;
}

/** One mac_expand() call: its output, nesting counter and error flag. */
interface Context {
  readonly shared: Shared;
  out: string;
  level: number;
  error: boolean;
}

function newContext(shared: Shared): Context {
  return { shared, out: '', level: 0, error: false };
}

function fail(ctx: Context, warning: string): void {
  ctx.shared.warnings.push(warning);
  ctx.shared.warn(warning);
  ctx.error = true;
}

/** One piece of a value as mac_parse() sees it. */
export type MacroSegment = { literal: string; trailing: boolean } | { expr: string } | { error: string };

/**
 * mac_parse's lexer: literal runs (with `$$` already turned into a literal
 * `$` that is never rescanned) and the text of each `$name`, `${...}` or
 * `$(...)` reference, in order. Lazy, so that a caller that stops at its
 * first error reports errors in Postfix's order. Ends after an error.
 */
export function* macroSegments(value: string): Generator<MacroSegment> {
  let literal = '';
  let i = 0;
  while (i < value.length) {
    if (value[i] !== '$') {
      const dollar = value.indexOf('$', i);
      const end = dollar < 0 ? value.length : dollar;
      literal += value.slice(i, end);
      i = end;
      continue;
    }
    if (value[i + 1] === '$') {
      literal += '$';
      i += 2;
      continue;
    }
    if (literal !== '') {
      yield { literal, trailing: false };
      literal = '';
    }
    i++;
    let expr: string;
    const open = value[i];
    if (open === '{' || open === '(') {
      // Only the bracket kind that opened the reference is counted.
      const close = open === '{' ? '}' : ')';
      let depth = 1;
      let j = i + 1;
      for (; depth > 0; j++) {
        if (j >= value.length) {
          yield { error: `truncated macro reference: "${value}"` };
          return;
        }
        if (value[j] === open) depth++;
        else if (value[j] === close) depth--;
      }
      expr = value.slice(i + 1, j - 1);
      i = j;
    } else {
      let j = i;
      while (isNameChar(value[j])) j++;
      expr = value.slice(i, j);
      i = j;
    }
    if (expr === '') {
      yield { error: `empty macro name: "${value}"` };
      return;
    }
    yield { expr };
  }
  if (literal !== '') yield { literal, trailing: true };
}

/** mac_parse: hands each literal run and `$` reference to step(). */
function parse(ctx: Context, value: string): void {
  for (const segment of macroSegments(value)) {
    if ('error' in segment) {
      fail(ctx, segment.error);
      return;
    }
    if ('expr' in segment) step(ctx, true, segment.expr);
    // Postfix drops the trailing literal once anything went wrong.
    else if (!(segment.trailing && ctx.error)) step(ctx, false, segment.literal);
  }
}

function step(ctx: Context, isExpr: boolean, text: string): void {
  ctx.shared.depth++;
  try {
    // The counter is only lowered on success, as in Postfix: after an error,
    // every further segment at this depth repeats the nesting warning.
    if (ctx.level++ > MAX_NESTING || ctx.shared.depth > MAX_TOTAL_DEPTH) {
      fail(ctx, `unreasonable macro call nesting: "${text}"`);
    }
    if (ctx.error) return;
    if (!isExpr) {
      ctx.out += text;
    } else if (!expandExpression(ctx, text)) {
      return;
    }
    ctx.level--;
  } finally {
    ctx.shared.depth--;
  }
}

/** Index of the `{` that follows optional whitespace at pos, or -1. */
function findLeftCurly(text: string, pos: number): number {
  const at = skipExprSpace(text, pos);
  return text[at] === '{' ? at : -1;
}

/** A brace-balanced `{payload}` starting at `open`; `end` is past trailing whitespace. */
function extractPayload(ctx: Context, text: string, open: number): { payload: string; end: number } | undefined {
  let depth = 1;
  let i = open + 1;
  for (; ; i++) {
    if (i >= text.length) {
      fail(ctx, `unbalanced {} in attribute expression: "${text.slice(open)}"`);
      return undefined;
    }
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth <= 0) break;
  }
  return { payload: text.slice(open + 1, i), end: skipExprSpace(text, i + 1) };
}

/** Expands the text of one `${...}`; false after a syntax error. */
function expandExpression(ctx: Context, text: string): boolean {
  let value: string | undefined;
  let operator = '';
  let cp: number;

  const curly = findLeftCurly(text, 0);
  if (curly >= 0) {
    const relational = evalRelational(ctx, text, curly);
    if (relational === undefined) return false;
    value = relational.value;
    cp = relational.end;
    if (cp < text.length) {
      if (text[cp] !== '?' && text[cp] !== ':') {
        fail(ctx, `"?" or ":" expected at: "...}>>>${tail(text, cp)}"`);
        return false;
      }
      operator = text[cp++];
    }
  } else {
    const start = skipExprSpace(text, 0);
    let name: string;
    for (cp = start; ; cp++) {
      const next = skipExprSpace(text, cp);
      if (next === text.length) {
        name = text.slice(start, cp);
        break;
      }
      if (text[next] === '?' || text[next] === ':') {
        name = text.slice(start, cp);
        operator = text[next];
        cp = next + 1;
        break;
      }
      if (!isNameChar(text[cp])) {
        fail(ctx, `attribute name syntax error at: "...${text.slice(0, cp)}>>>${tail(text, cp)}"`);
        return false;
      }
    }
    value = ctx.shared.lookup(name);
  }

  const nonEmpty = value !== undefined && value !== '';
  if (operator === '?') {
    const branch = takeBranch(ctx, text, cp);
    if (branch === undefined) return false;
    if (nonEmpty) parse(ctx, branch.text);
    cp = branch.end;
    if (cp === text.length) return true;
    if (text[cp] !== ':') {
      fail(ctx, `":" expected at: "...${branch.text}}>>>${tail(text, cp)}"`);
      return false;
    }
    cp++;
    operator = ':';
  }
  if (operator === ':') {
    const branch = takeBranch(ctx, text, cp);
    if (branch === undefined) return false;
    if (!nonEmpty) parse(ctx, branch.text);
    if (branch.end !== text.length) {
      fail(ctx, `unexpected input at: "...${branch.text}}>>>${tail(text, branch.end)}"`);
      return false;
    }
    return true;
  }
  // Plain reference: the looked-up value is itself expanded (recursive mode).
  if (nonEmpty) parse(ctx, value as string);
  return true;
}

/**
 * The text after `?` or `:`: a `{...}` payload, or (the pre-3.0 form) all
 * remaining text verbatim, leading blanks included.
 */
function takeBranch(ctx: Context, text: string, cp: number): { text: string; end: number } | undefined {
  const curly = findLeftCurly(text, cp);
  if (curly < 0) return { text: text.slice(cp), end: text.length };
  const payload = extractPayload(ctx, text, curly);
  return payload && { text: payload.payload, end: payload.end };
}

const OPERATOR_CHARS = '<>!=?+-*/~&|%';
const OPERATORS = new Set(['==', '!=', '<', '<=', '>=', '>']);
/* Postfix 3.7 builds this list by string pasting and doubles some quotes. */
const OPERATORS_EXPECTED = '"==" or "!="" or "<"" or "<="" or ">="" or ">"';

type Relop = (ctx: Context, left: string, operator: string, right: string) => boolean | undefined;

/** `{left} OP {right}` starting at the first `{`; value is "true" or "". */
function evalRelational(ctx: Context, text: string, open: number): { value: string; end: number } | undefined {
  const left = extractPayload(ctx, text, open);
  if (left === undefined) return undefined;
  const opStart = left.end;
  let cp = opStart;
  while (cp < text.length && OPERATOR_CHARS.includes(text[cp])) cp++;
  const operator = text.slice(opStart, cp);
  if (!OPERATORS.has(operator)) {
    fail(ctx, `${OPERATORS_EXPECTED} expected at: "...${left.payload}}>>>${tail(text, opStart)}"`);
    return undefined;
  }
  let relop: Relop = compareValues;
  if (isAlnum(text[cp])) {
    const suffixStart = cp;
    while (isAlnum(text[cp])) cp++;
    const suffix = text.slice(suffixStart, cp);
    // "level" is the only suffix Postfix registers (compat_level.c).
    if (suffix !== 'level') {
      fail(ctx, `bad operator suffix at: "...${operator}>>>${suffix}"`);
      return undefined;
    }
    relop = compareCompatLevels;
  }
  const rightOpen = findLeftCurly(text, cp);
  if (rightOpen < 0) {
    fail(ctx, `"{expression}" expected at: "...{${left.payload}} ${operator}>>>${tail(text, cp)}"`);
    return undefined;
  }
  const right = extractPayload(ctx, text, rightOpen);
  if (right === undefined) return undefined;

  // Each operand is a separate expansion with its own nesting counter.
  const leftValue = expandOperand(ctx, left.payload);
  const rightValue = expandOperand(ctx, right.payload);
  // Postfix compares even after an operand failed, so its warnings still appear.
  const result = relop(ctx, leftValue, operator, rightValue);
  if (result === undefined || ctx.error) return undefined;
  return { value: result ? 'true' : '', end: right.end };
}

function expandOperand(ctx: Context, operand: string): string {
  const sub = newContext(ctx.shared);
  parse(sub, operand);
  if (sub.error) ctx.error = true;
  return sub.out;
}

function applyOperator(operator: string, delta: number): boolean {
  switch (operator) {
    case '==':
      return delta === 0;
    case '!=':
      return delta !== 0;
    case '<':
      return delta < 0;
    case '<=':
      return delta <= 0;
    case '>=':
      return delta >= 0;
    default:
      return delta > 0;
  }
}

function allDigits(text: string): boolean {
  return /^[0-9]+$/.test(text);
}

/** mac_exp_eval: numeric when both sides are all digits, else strcmp() on bytes. */
function compareValues(_ctx: Context, left: string, operator: string, right: string): boolean {
  if (allDigits(left) && allDigits(right)) {
    const a = toLong(left);
    const b = toLong(right);
    return applyOperator(operator, a === b ? 0 : a < b ? -1 : 1);
  }
  return applyOperator(operator, Buffer.compare(Buffer.from(left), Buffer.from(right)));
}

function toLong(digits: string): bigint {
  const value = BigInt(digits);
  if (value > LONG_MAX) throw new ConfigError(`mac_exp_eval: bad conversion: ${digits}`);
  return value;
}

/** The `level` operators; a malformed operand is a warning plus an error. */
function compareCompatLevels(ctx: Context, left: string, operator: string, right: string): boolean | undefined {
  const a = compatLevelFromString(left);
  const b = a === undefined ? undefined : compatLevelFromString(right);
  if (a === undefined || b === undefined) {
    fail(ctx, malformedCompatLevel(a === undefined ? left : right));
    return undefined;
  }
  return applyOperator(operator, a === b ? 0 : a < b ? -1 : 1);
}

/**
 * Expands a parameter value. `lookup` returns raw values, which are expanded
 * in turn. Throws MacroError after any syntax or nesting error (its warnings
 * were also passed to `warn` as they occurred).
 */
export function expandValue(value: string, lookup: MacroLookup, warn: (text: string) => void = () => {}): string {
  const shared: Shared = { lookup, warn, warnings: [], depth: 0 };
  const ctx = newContext(shared);
  parse(ctx, value);
  if (ctx.error) throw new MacroError(shared.warnings);
  return ctx.out;
}
