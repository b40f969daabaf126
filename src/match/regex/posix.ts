/*
 * posix.ts - POSIX regular expressions as glibc's regcomp() reads them in the
 * C locale (regexp: tables), parsed into the shared byte-level tree.
 *
 * Extended syntax (the default of regexp: tables) and basic syntax (the x
 * flag) follow glibc's RE_SYNTAX_POSIX_EXTENDED and RE_SYNTAX_POSIX_BASIC,
 * including the GNU operators (\w \W \s \S \b \B \< \> \` \'), "{,n}", an
 * unmatched ")" being an ordinary character in extended syntax, and the same
 * error for each refused pattern (regerror() wording). Case folding
 * (REG_ICASE) only pairs ASCII letters and REG_NEWLINE makes '.', [^...] and
 * the anchors stop at '\n', as in the C locale.
 *
 * Matching a POSIX expression means "is there a match anywhere", so POSIX's
 * leftmost-longest rule and JavaScript's leftmost-first rule give the same
 * yes/no: glibc, like a backtracking engine, accepts a back-reference when
 * some way of matching the groups makes it match. A back-reference \1..\9
 * must name a group closed earlier in the same alternative (glibc's "Invalid
 * back reference" otherwise); ast.ts decides whether JavaScript can give it
 * glibc's meaning (an unset group fails, a caseless pattern compares
 * references without ASCII case).
 *
 * Exports: PosixOptions, parsePosix.
 */
import { ByteSet, children, type RegexNode } from './ast.js';
import { RegexSyntaxError, RegexUnsupportedError } from './errors.js';

export interface PosixOptions {
  /** REG_EXTENDED (regexp: tables default; the x flag turns it off). */
  extended: boolean;
  /** REG_ICASE (default on; the i flag turns it off). */
  icase: boolean;
  /** REG_NEWLINE (the m flag). */
  newline: boolean;
}

/** glibc's RE_DUP_MAX. */
const DUP_MAX = 0x7fff;

const ERR = {
  BADPAT: 'Invalid regular expression',
  ECOLLATE: 'Invalid collation character',
  ECTYPE: 'Invalid character class name',
  EESCAPE: 'Trailing backslash',
  EBRACK: 'Unmatched [, [^, [:, [., or [=',
  EPAREN: 'Unmatched ( or \\(',
  EBRACE: 'Unmatched \\{',
  BADBR: 'Invalid content of \\{\\}',
  ERANGE: 'Invalid range end',
  BADRPT: 'Invalid preceding regular expression',
  ESIZE: 'Regular expression too big',
  ESUBREG: 'Invalid back reference',
  ERPAREN: 'Unmatched ) or \\)',
} as const;

type TokenType =
  | 'char'
  | 'period'
  | 'bracket'
  | 'backref'
  | 'anchor'
  | 'charclassOp'
  | 'alt'
  | 'star'
  | 'plus'
  | 'question'
  | 'openDup'
  | 'closeDup'
  | 'openGroup'
  | 'closeGroup'
  | 'end';

type AnchorKind = '^' | '$' | 'wordStart' | 'wordEnd' | 'wordBoundary' | 'notWordBoundary' | 'bufStart' | 'bufEnd';

interface Token {
  type: TokenType;
  /** The byte, for 'char' (and for the ',' test inside intervals). */
  c: number;
  length: number;
  anchor?: AnchorKind;
  /** \w \W \s \S. */
  classOp?: 'w' | 'W' | 's' | 'S';
}

const CHAR_CLASSES: Record<string, (c: number) => boolean> = {
  alpha: (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a),
  upper: (c) => c >= 0x41 && c <= 0x5a,
  lower: (c) => c >= 0x61 && c <= 0x7a,
  digit: (c) => c >= 0x30 && c <= 0x39,
  xdigit: (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  print: (c) => c >= 0x20 && c <= 0x7e,
  punct: (c) => (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e),
  graph: (c) => c >= 0x21 && c <= 0x7e,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  blank: (c) => c === 0x20 || c === 0x09,
  alnum: (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a),
};

function classSet(name: string): ByteSet {
  const test = CHAR_CLASSES[name] as (c: number) => boolean;
  const set = new ByteSet();
  for (let c = 0; c < 256; c++) if (test(c)) set.add(c);
  return set;
}

const LF = 0x0a;

function asciiLower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

class PosixParser {
  private pos = 0;
  private token: Token = { type: 'end', c: 0, length: 0 };

  constructor(
    private readonly re: string,
    private readonly opts: PosixOptions,
  ) {}

  /** Subexpressions (glibc's re_nsub): a replacement's $n must not exceed it. */
  captures = 0;
  /** Groups a back-reference may name: closed earlier in the current alternative (glibc's completed_bkref_map). */
  private completed = new Set<number>();
  /** Groups inside a {n,m} repeat (see noteCounted). */
  private readonly counted = new Set<number>();
  /** ^ and $ anchors of a pattern compiled without REG_NEWLINE, resolved after parsing. */
  private readonly carets = new Set<RegexNode>();
  private readonly dollars = new Set<RegexNode>();

  parse(): RegexNode {
    this.fetch(true);
    const tree = this.parseRegExp(0);
    if (this.token.type !== 'end') throw new RegexSyntaxError(ERR.ERPAREN);
    if (this.carets.size > 0 || this.dollars.size > 0) resolveAnchors(tree, this.carets, this.dollars);
    return tree;
  }

  private byte(at: number): number {
    return this.re.charCodeAt(at);
  }

  private fail(message: string): never {
    throw new RegexSyntaxError(message);
  }

  /** The current token's type (a method, so that TypeScript does not narrow it across fetches). */
  private currentType(): TokenType {
    return this.token.type;
  }

  /** Reads the next token; `caretHere` marks the start of a (sub)expression, where BRE's ^ anchors. */
  private fetch(caretHere = false): void {
    this.pos += this.token.length;
    this.token = this.peek(this.pos, caretHere);
  }

  private peek(at: number, caretHere = false): Token {
    const ext = this.opts.extended;
    if (at >= this.re.length) return { type: 'end', c: 0, length: 0 };
    const c = this.byte(at);
    const tok = (type: TokenType, length = 1, extra: Partial<Token> = {}): Token => ({ type, c, length, ...extra });
    if (c === 0x5c /* \ */) {
      if (at + 1 >= this.re.length) this.fail(ERR.EESCAPE);
      const c2 = this.byte(at + 1);
      const esc = (type: TokenType, extra: Partial<Token> = {}): Token => ({ type, c: c2, length: 2, ...extra });
      switch (String.fromCharCode(c2)) {
        case '|':
          return ext ? esc('char') : esc('alt');
        case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
          return esc('backref');
        case '<':
          return esc('anchor', { anchor: 'wordStart' });
        case '>':
          return esc('anchor', { anchor: 'wordEnd' });
        case 'b':
          return esc('anchor', { anchor: 'wordBoundary' });
        case 'B':
          return esc('anchor', { anchor: 'notWordBoundary' });
        case '`':
          return esc('anchor', { anchor: 'bufStart' });
        case "'":
          return esc('anchor', { anchor: 'bufEnd' });
        case 'w': case 'W': case 's': case 'S':
          return esc('charclassOp', { classOp: String.fromCharCode(c2) as Token['classOp'] });
        case '(':
          return ext ? esc('char') : esc('openGroup');
        case ')':
          return ext ? esc('char') : esc('closeGroup');
        case '+':
          return ext ? esc('char') : esc('plus');
        case '?':
          return ext ? esc('char') : esc('question');
        case '{':
          return ext ? esc('char') : esc('openDup');
        case '}':
          return ext ? esc('char') : esc('closeDup');
        default:
          return esc('char');
      }
    }
    switch (String.fromCharCode(c)) {
      case '|':
        return ext ? tok('alt') : tok('char');
      case '*':
        return tok('star');
      case '+':
        return ext ? tok('plus') : tok('char');
      case '?':
        return ext ? tok('question') : tok('char');
      case '{':
        return ext ? tok('openDup') : tok('char');
      case '}':
        return ext ? tok('closeDup') : tok('char');
      case '(':
        return ext ? tok('openGroup') : tok('char');
      case ')':
        return ext ? tok('closeGroup') : tok('char');
      case '[':
        return tok('bracket');
      case '.':
        return tok('period');
      case '^':
        if (!ext && !caretHere && at !== 0) return tok('char');
        return tok('anchor', 1, { anchor: '^' });
      case '$':
        if (!ext && at + 1 !== this.re.length) {
          const next = this.peek(at + 1);
          if (next.type !== 'alt' && next.type !== 'closeGroup') return tok('char');
        }
        return tok('anchor', 1, { anchor: '$' });
      default:
        return tok('char');
    }
  }

  private parseRegExp(nest: number): RegexNode {
    const initial = new Set(this.completed);
    const branches = [this.parseBranch(nest)];
    while (this.token.type === 'alt') {
      this.fetch(true);
      // A later alternative cannot refer to a group of an earlier one.
      const accumulated = this.completed;
      this.completed = new Set(initial);
      branches.push(this.parseBranch(nest));
      for (const n of accumulated) this.completed.add(n);
    }
    return branches.length === 1 ? (branches[0] as RegexNode) : { type: 'alt', items: branches };
  }

  private parseBranch(nest: number): RegexNode {
    const items: RegexNode[] = [];
    while (this.token.type !== 'alt' && this.token.type !== 'end' && (nest === 0 || this.token.type !== 'closeGroup')) {
      const expr = this.parseExpression(nest);
      if (expr) items.push(expr);
    }
    return items.length === 1 ? (items[0] as RegexNode) : { type: 'seq', items };
  }

  private parseExpression(nest: number): RegexNode | null {
    const tok = this.token;
    let tree: RegexNode | null;
    switch (tok.type) {
      case 'char':
        tree = { type: 'set', set: this.charSet(tok.c) };
        this.fetch();
        break;
      case 'period':
        tree = { type: 'set', set: this.opts.newline ? ByteSet.all().without(LF) : ByteSet.all() };
        this.fetch();
        break;
      case 'bracket':
        tree = { type: 'set', set: this.parseBracket() };
        break;
      case 'backref': {
        const number = tok.c - 0x30;
        if (!this.completed.has(number)) this.fail(ERR.ESUBREG);
        if (this.counted.has(number)) throw new RegexUnsupportedError(`a back-reference to a group in a {n,m} repeat`);
        tree = { type: 'backref', number, caseless: this.opts.icase };
        this.fetch();
        break;
      }
      case 'openGroup':
        tree = this.parseGroup(nest);
        break;
      case 'anchor':
        tree = { type: 'assert', kind: this.anchorKind(tok.anchor as AnchorKind) };
        if (!this.opts.newline && tok.anchor === '^') this.carets.add(tree);
        if (!this.opts.newline && tok.anchor === '$') this.dollars.add(tree);
        // An anchor takes no repetition: what follows starts a new expression.
        this.fetch();
        return tree;
      case 'charclassOp':
        tree = { type: 'set', set: this.classOpSet(tok.classOp as NonNullable<Token['classOp']>) };
        this.fetch();
        break;
      case 'openDup':
        this.fail(ERR.BADRPT);
      case 'star':
      case 'plus':
      case 'question':
        if (this.opts.extended) this.fail(ERR.BADRPT);
        tree = { type: 'set', set: this.charSet(tok.c) };
        this.fetch();
        break;
      case 'closeGroup':
        // glibc words an unmatched \) like an unmatched \(.
        if (!this.opts.extended) this.fail(ERR.EPAREN);
        tree = { type: 'set', set: ByteSet.of(0x29) };
        this.fetch();
        break;
      case 'closeDup':
        tree = { type: 'set', set: this.charSet(tok.c) };
        this.fetch();
        break;
      default:
        return null;
    }
    for (;;) {
      const t = this.token.type;
      if (t !== 'star' && t !== 'plus' && t !== 'question' && t !== 'openDup') break;
      tree = this.parseDup(tree);
      if (!this.opts.extended && (this.token.type === 'star' || this.token.type === 'openDup')) this.fail(ERR.BADRPT);
    }
    return tree;
  }

  private anchorKind(anchor: AnchorKind): Extract<RegexNode, { type: 'assert' }>['kind'] {
    switch (anchor) {
      case '^':
        return this.opts.newline ? 'lineStart' : 'start';
      case '$':
        return this.opts.newline ? 'lineEnd' : 'end';
      case 'bufStart':
        return 'start';
      case 'bufEnd':
        return 'end';
      default:
        return anchor;
    }
  }

  private charSet(c: number): ByteSet {
    const set = ByteSet.of(c);
    return this.opts.icase ? set.foldAsciiCase() : set;
  }

  private classOpSet(op: 'w' | 'W' | 's' | 'S'): ByteSet {
    const base = op === 'w' || op === 'W' ? classSet('alnum').add(0x5f) : classSet('space');
    return op === 'w' || op === 's' ? base : base.complement();
  }

  private parseGroup(nest: number): RegexNode {
    const number = ++this.captures;
    this.fetch(true);
    let body: RegexNode;
    if (this.token.type === 'closeGroup') {
      body = { type: 'seq', items: [] };
    } else {
      body = this.parseRegExp(nest + 1);
      if (this.currentType() !== 'closeGroup') this.fail(ERR.EPAREN);
    }
    this.fetch();
    this.completed.add(number);
    return { type: 'group', number, body };
  }

  /** glibc fetch_number(): -1 no digits, -2 invalid, else the number (capped above DUP_MAX). */
  private fetchNumber(): { num: number; last: Token } {
    let num = -1;
    for (;;) {
      this.fetch();
      const tok = this.token;
      if (tok.type === 'end') return { num: -2, last: tok };
      if (tok.type === 'closeDup' || tok.c === 0x2c) return { num, last: tok };
      num = tok.type !== 'char' || tok.c < 0x30 || tok.c > 0x39 || num === -2
        ? -2
        : num === -1
          ? tok.c - 0x30
          : Math.min(DUP_MAX + 1, num * 10 + tok.c - 0x30);
    }
  }

  private parseDup(body: RegexNode): RegexNode {
    const tok = this.token;
    let min: number;
    let max: number;
    if (tok.type === 'openDup') {
      const first = this.fetchNumber();
      let start = first.num;
      if (start === -1) {
        if (first.last.type === 'char' && first.last.c === 0x2c) start = 0;
        else this.fail(ERR.BADBR);
      }
      let end = 0;
      if (start !== -2) {
        end = first.last.type === 'closeDup'
          ? start
          : first.last.type === 'char' && first.last.c === 0x2c
            ? this.fetchNumber().num
            : -2;
      }
      if (start === -2 || end === -2) this.fail(this.token.type === 'end' ? ERR.EBRACE : ERR.BADBR);
      if ((end !== -1 && start > end) || this.token.type !== 'closeDup') this.fail(ERR.BADBR);
      if (DUP_MAX < (end === -1 ? start : end)) this.fail(ERR.ESIZE);
      min = start;
      max = end === -1 ? Infinity : end;
    } else {
      min = tok.type === 'plus' ? 1 : 0;
      max = tok.type === 'question' ? 1 : Infinity;
    }
    if (tok.type === 'openDup' && max > 1) this.noteCounted(body);
    this.fetch();
    return { type: 'repeat', body, min, max, greedy: true };
  }

  /**
   * glibc copies the body of a {n,m} repeat, and back-references to (or
   * inside) such copies match differently from any backtracking engine (e.g.
   * ^(a){0,2}\1$ does not match "aa"): those are refused.
   */
  private noteCounted(body: RegexNode): void {
    const visit = (node: RegexNode): void => {
      if (node.type === 'backref') throw new RegexUnsupportedError('a back-reference inside a {n,m} repeat');
      if (node.type === 'group') this.counted.add(node.number);
      children(node).forEach(visit);
    };
    visit(body);
  }

  /** A bracket expression, from just after '['; leaves the token after ']'. */
  private parseBracket(): ByteSet {
    let at = this.pos + 1;
    const set = new ByteSet();
    let negated = false;
    if (at < this.re.length && this.byte(at) === 0x5e /* ^ */) {
      negated = true;
      at++;
    }
    if (at >= this.re.length) this.fail(ERR.BADPAT);
    let first = true;
    for (;;) {
      if (at >= this.re.length) this.fail(ERR.EBRACK);
      if (this.byte(at) === 0x5d /* ] */ && !first) {
        at++;
        break;
      }
      const start = this.bracketElement(at, first);
      first = false;
      at = start.next;
      // A range needs '-' followed by something other than the closing ']'.
      if (at + 1 < this.re.length && this.byte(at) === 0x2d && this.byte(at + 1) !== 0x5d) {
        const end = this.bracketElement(at + 1, true);
        if (start.kind === 'class' || end.kind === 'class') this.fail(ERR.ERANGE);
        // With REG_ICASE glibc lower-cases both ends before comparing them.
        const low = this.opts.icase ? asciiLower(start.code as number) : (start.code as number);
        const high = this.opts.icase ? asciiLower(end.code as number) : (end.code as number);
        if (high < low) this.fail(ERR.ERANGE);
        set.addRange(low, high);
        at = end.next;
      } else if (start.kind === 'class') {
        set.addSet(start.set as ByteSet);
      } else {
        set.add(start.code as number);
      }
    }
    if (this.opts.icase) set.foldAsciiCase();
    let result = set;
    if (negated) {
      if (this.opts.newline) set.add(LF);
      result = set.complement();
    }
    this.token = { type: 'char', c: 0, length: at - this.pos };
    this.fetch();
    return result;
  }

  /**
   * One element of a bracket expression. A '-' may only start an element as
   * the first one, as the end of a range, or right before the closing ']'.
   */
  private bracketElement(at: number, acceptHyphen: boolean): { kind: 'char' | 'class'; code?: number; set?: ByteSet; next: number } {
    if (at >= this.re.length) this.fail(ERR.EBRACK);
    const c = this.byte(at);
    if (c === 0x2d && !acceptHyphen && at + 1 < this.re.length && this.byte(at + 1) !== 0x5d) this.fail(ERR.ERANGE);
    if (c === 0x5b /* [ */ && at + 1 < this.re.length) {
      const kind = String.fromCharCode(this.byte(at + 1));
      if (kind === ':' || kind === '.' || kind === '=') {
        const close = this.re.indexOf(`${kind}]`, at + 2);
        if (close < 0 || close - (at + 2) >= 32) this.fail(ERR.EBRACK);
        const name = this.re.slice(at + 2, close);
        const next = close + 2;
        if (kind === ':') {
          let className = name;
          if (this.opts.icase && (name === 'upper' || name === 'lower')) className = 'alpha';
          if (!(className in CHAR_CLASSES)) this.fail(ERR.ECTYPE);
          return { kind: 'class', set: classSet(className), next };
        }
        if (name.length !== 1) this.fail(ERR.ECOLLATE);
        return { kind: 'char', code: name.charCodeAt(0), next };
      }
    }
    return { kind: 'char', code: c, next: at + 1 };
  }
}

/**
 * Reachability of a point in the pattern, seen from the start (forward) or the
 * end (backward): with nothing consumed in between (NONE), with at least one
 * byte consumed (SOME), or both.
 */
const NONE = 1;
const SOME = 2;

type Walk = (node: RegexNode, state: number) => number;

/** The state after `node` when entered in `state`; `visit` sees every assertion's entry state. */
function walk(node: RegexNode, state: number, backward: boolean, visit: (n: RegexNode, s: number) => void): number {
  const next: Walk = (n, s) => walk(n, s, backward, visit);
  if (state === 0) return 0;
  switch (node.type) {
    case 'set':
      return SOME;
    case 'assert':
      visit(node, state);
      return state;
    case 'seq': {
      const items = backward ? [...node.items].reverse() : node.items;
      return items.reduce((s, item) => next(item, s), state);
    }
    case 'alt':
      return node.items.reduce((out, item) => out | next(item, state), 0);
    case 'repeat': {
      // The lattice has two bits, so two rounds reach every state the loop can.
      let s = state;
      for (let i = 0; i < Math.min(node.min, 2); i++) s = next(node.body, s);
      let out = node.min === 0 ? state : s;
      if (node.max > node.min) {
        for (let round = 0; round < 3; round++) {
          s = next(node.body, s);
          out |= s;
        }
      }
      return out;
    }
    case 'look':
    case 'atomic':
    case 'group':
      return next(node.body, state);
    case 'backref':
      // The group's text may be empty.
      return state | SOME;
    case 'cond':
      return next(node.yes, state) | next(node.no, state);
  }
}

/**
 * glibc without REG_NEWLINE: a ^ reached with nothing consumed only matches at
 * the start of the key, one reached after consuming bytes matches after a
 * newline the pattern consumed; a $ with nothing left to consume only matches
 * at the end, one followed by more pattern matches before a newline. An anchor
 * reachable both ways has no JavaScript equivalent here and is refused.
 */
function resolveAnchors(tree: RegexNode, carets: Set<RegexNode>, dollars: Set<RegexNode>): void {
  const seen = new Map<RegexNode, number>();
  const record = (n: RegexNode, s: number): void => {
    seen.set(n, (seen.get(n) ?? 0) | s);
  };
  walk(tree, NONE, false, (n, s) => carets.has(n) && record(n, s));
  walk(tree, NONE, true, (n, s) => dollars.has(n) && record(n, s));
  for (const node of [...carets, ...dollars]) {
    const state = seen.get(node) ?? NONE;
    const caret = carets.has(node);
    if (state === (NONE | SOME)) {
      throw new RegexUnsupportedError(`a ${caret ? '^' : '$'} that may or may not be ${caret ? 'preceded' : 'followed'} by other characters`);
    }
    const kind = state === SOME ? (caret ? 'afterNewline' : 'beforeNewline') : caret ? 'start' : 'end';
    Object.assign(node, { kind });
  }
}

/**
 * The tree for `re` (one character per byte) and its number of
 * subexpressions; throws RegexSyntaxError or RegexUnsupportedError.
 */
export function parsePosix(re: string, opts: PosixOptions): { tree: RegexNode; captures: number } {
  const parser = new PosixParser(re, opts);
  const tree = parser.parse();
  return { tree, captures: parser.captures };
}
