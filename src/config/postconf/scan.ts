/*
 * scan.ts - mac_expand()'s scan mode, which postconf uses to find every
 * `$name` a parameter value refers to (to validate user-defined parameters
 * and to report undefined ones). Unlike expansion (../expand.ts), scanning
 * visits both branches of `${x?a:b}` and both operands of `${{a} == {b}}`,
 * never looks at values, never evaluates a comparison, and produces no
 * text. Syntax errors give the same warnings as expansion; after the first
 * error nothing more is reported, as in Postfix.
 *
 * Exports: scanMacroNames.
 */
import { truncBytes } from '../c-text.js';
import { macroSegments } from '../expand.js';
import type { Warn } from './diag.js';

const OPERATOR_CHARS = '<>!=?+-*/~&|%';
const OPERATORS = new Set(['==', '!=', '<', '<=', '>=', '>']);
/* Postfix 3.7 builds this list by string pasting and doubles some quotes. */
const OPERATORS_EXPECTED = '"==" or "!="" or "<"" or "<="" or ">="" or ">"';

interface Scan {
  readonly onName: (name: string) => void;
  readonly warn: Warn;
  error: boolean;
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text[pos])) pos++;
  return pos;
}

const isNameChar = (ch: string | undefined): boolean => ch !== undefined && /^[A-Za-z0-9_]$/.test(ch);
const isAlnum = (ch: string | undefined): boolean => ch !== undefined && /^[A-Za-z0-9]$/.test(ch);

function fail(scan: Scan, warning: string): void {
  if (scan.error) return;
  scan.warn(warning);
  scan.error = true;
}

/** The "%.20s" tail Postfix shows after ">>>". */
function tail(text: string, pos: number): string {
  return truncBytes(text.slice(pos), 20);
}

/** mac_parse: only the `$` references matter here. */
function parse(scan: Scan, value: string): void {
  for (const segment of macroSegments(value)) {
    if (scan.error) return;
    if ('error' in segment) return fail(scan, segment.error);
    if ('expr' in segment) expression(scan, segment.expr);
  }
}

/** A `{payload}` at `open`, and the position after it and the blanks that follow. */
function payloadAt(scan: Scan, text: string, open: number): { payload: string; end: number } | undefined {
  let depth = 1;
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth <= 0) return { payload: text.slice(open + 1, i), end: skipSpace(text, i + 1) };
  }
  fail(scan, `unbalanced {} in attribute expression: "${text.slice(open)}"`);
  return undefined;
}

function curlyAt(text: string, pos: number): number {
  const at = skipSpace(text, pos);
  return text[at] === '{' ? at : -1;
}

/** Scans `{a} OP {b}`; returns the position after it, or undefined after an error. */
function relational(scan: Scan, text: string, open: number): number | undefined {
  const left = payloadAt(scan, text, open);
  if (left === undefined) return undefined;
  let cp = left.end;
  while (cp < text.length && OPERATOR_CHARS.includes(text[cp])) cp++;
  const operator = text.slice(left.end, cp);
  if (!OPERATORS.has(operator)) {
    fail(scan, `${OPERATORS_EXPECTED} expected at: "...${left.payload}}>>>${tail(text, left.end)}"`);
    return undefined;
  }
  if (isAlnum(text[cp])) {
    const suffixStart = cp;
    while (isAlnum(text[cp])) cp++;
    const suffix = text.slice(suffixStart, cp);
    if (suffix !== 'level') {
      fail(scan, `bad operator suffix at: "...${operator}>>>${suffix}"`);
      return undefined;
    }
  }
  const rightOpen = curlyAt(text, cp);
  if (rightOpen < 0) {
    fail(scan, `"{expression}" expected at: "...{${left.payload}} ${operator}>>>${tail(text, cp)}"`);
    return undefined;
  }
  const right = payloadAt(scan, text, rightOpen);
  if (right === undefined) return undefined;
  parse(scan, left.payload);
  parse(scan, right.payload);
  return scan.error ? undefined : right.end;
}

/** The branch text after `?` or `:`: a `{...}` payload, or all remaining text. */
function branch(scan: Scan, text: string, cp: number): { text: string; end: number } | undefined {
  const open = curlyAt(text, cp);
  if (open < 0) return { text: text.slice(cp), end: text.length };
  const payload = payloadAt(scan, text, open);
  return payload && { text: payload.payload, end: payload.end };
}

function expression(scan: Scan, text: string): void {
  let operator = '';
  let cp: number;
  const open = curlyAt(text, 0);
  if (open >= 0) {
    const end = relational(scan, text, open);
    if (end === undefined) return;
    cp = end;
    if (cp < text.length) {
      if (text[cp] !== '?' && text[cp] !== ':') return fail(scan, `"?" or ":" expected at: "...}>>>${tail(text, cp)}"`);
      operator = text[cp++];
    }
  } else {
    const start = skipSpace(text, 0);
    for (cp = start; ; cp++) {
      const next = skipSpace(text, cp);
      if (next === text.length) {
        scan.onName(text.slice(start, cp));
        break;
      }
      if (text[next] === '?' || text[next] === ':') {
        scan.onName(text.slice(start, cp));
        operator = text[next];
        cp = next + 1;
        break;
      }
      if (!isNameChar(text[cp])) {
        return fail(scan, `attribute name syntax error at: "...${text.slice(0, cp)}>>>${tail(text, cp)}"`);
      }
    }
  }
  if (operator === '?') {
    const taken = branch(scan, text, cp);
    if (taken === undefined) return;
    parse(scan, taken.text);
    cp = taken.end;
    if (cp === text.length || scan.error) return;
    if (text[cp] !== ':') return fail(scan, `":" expected at: "...${taken.text}}>>>${tail(text, cp)}"`);
    cp++;
    operator = ':';
  }
  if (operator === ':') {
    const taken = branch(scan, text, cp);
    if (taken === undefined) return;
    parse(scan, taken.text);
    if (taken.end !== text.length) fail(scan, `unexpected input at: "...${taken.text}}>>>${tail(text, taken.end)}"`);
  }
}

/** Calls onName for every `$name` in value, in order; syntax errors go to warn. */
export function scanMacroNames(value: string, onName: (name: string) => void, warn: Warn): void {
  parse({ onName, warn, error: false }, value);
}
