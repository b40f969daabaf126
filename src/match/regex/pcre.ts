/*
 * pcre.ts - PCRE2 patterns (pcre: tables) as Postfix compiles them with PCRE2
 * 10.42 in 8-bit, non-UTF mode, parsed into the shared byte-level tree.
 *
 * Supported, with PCRE2's meaning: literals and every escape of a byte
 * (\a \e \f \n \r \t \0oo \o{..} \xhh \x{..} \cX, octal \ddd, \Q..\E,
 * escaped punctuation), . \C \N, the ASCII classes \d \D \s \S \w \W \h \H
 * \v \V and \R, Unicode properties \p \P (of code points 0..255) and \X,
 * [...] with ranges, negation, escapes and [:name:] / [:^name:] classes,
 * ^ $ \A \Z \z \G \b \B (with the i m s x U flags and PCRE's "$ also before a
 * final newline"), groups (capturing, (?:), named, (?|) branch reset), option
 * settings (?imnsxxUJ-...) and (?^), comments (?#...), callouts (ignored, as
 * Postfix sets no callout function), alternation, greedy, lazy and possessive
 * quantifiers, atomic groups (?>...), look-ahead, and look-behind with PCRE's
 * fixed-length rule, quantified assertions, \K (it only moves the reported
 * match start, which a table lookup never uses), back-references (\1 and
 * PCRE2's digit rules, \g{n} \g{-n} \g{+n} \gn, \k<name> \k'name' \k{name}
 * \g{name}, (?P=name)) and conditions (?(n) (?(<name>) (?(R) (?(DEFINE)
 * (?(VERSION..) (?(?=..)), which ast.ts translates or refuses, subroutine
 * calls that do not recurse ((?n) (?-n) (?+n) (?&name) (?P>name) \g<..>),
 * inlined, (*FAIL), (*MARK) and the leading options that change no answer.
 *
 * Refused as unsupported (RegexUnsupportedError): recursion, backtracking
 * verbs that cut the search ((*ACCEPT) (*COMMIT) (*PRUNE) (*SKIP) (*THEN)),
 * leading options that change the mode ((*UTF) (*UCP) (*CR) ...), a
 * reference to a name that several groups share, a call of a group that
 * tests captures, Unicode property names fastflush does not know. Patterns
 * PCRE2 itself refuses raise RegexSyntaxError with PCRE2's message and
 * offset where it is known.
 *
 * Exports: PcreOptions, parsePcre.
 */
import { ByteSet, children, lookbehindLengths, type AssertKind, type RegexNode } from './ast.js';
import { RegexSyntaxError, RegexUnsupportedError } from './errors.js';
import { unicodePropertySet } from './unicode-properties.js';

export interface PcreOptions {
  caseless: boolean;
  multiline: boolean;
  dotall: boolean;
  extended: boolean;
  anchored: boolean;
  dollarEndOnly: boolean;
  ungreedy: boolean;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  /** PCRE2_EXTENDED_MORE ((?xx)): also ignore space and tab in classes. */
  xx: boolean;
  U: boolean;
  /** PCRE2_DUPNAMES ((?J)). */
  J: boolean;
  /** PCRE2_NO_AUTO_CAPTURE ((?n)): plain parentheses do not capture. */
  n: boolean;
}

/** A subroutine call, inlined once the whole pattern is read. */
interface PendingCall {
  /** The items of the placeholder sequence that receives the called group's copy. */
  items: RegexNode[];
  /** An absolute number, or a name. */
  target: number | string;
  /** PCRE2's error offset when the group does not exist. */
  offset: number;
}

/** A back-reference whose group is known only once the whole pattern is read. */
interface PendingRef {
  /** An absolute number, or a name. */
  target: number | string;
  /** PCRE2's error offset when the group does not exist. */
  offset: number;
}

const MAX_QUANTIFIER = 65535;
const LF = 0x0a;

const range = (from: number, to: number): ByteSet => ByteSet.range(from, to);
const DIGIT = (): ByteSet => range(0x30, 0x39);
const WORD = (): ByteSet => range(0x30, 0x39).addRange(0x41, 0x5a).addRange(0x61, 0x7a).add(0x5f);
const SPACE = (): ByteSet => ByteSet.of(0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20);
const HSPACE = (): ByteSet => ByteSet.of(0x09, 0x20, 0xa0);
const VSPACE = (): ByteSet => ByteSet.of(0x0a, 0x0b, 0x0c, 0x0d, 0x85);

const POSIX_CLASSES: Record<string, () => ByteSet> = {
  alpha: () => range(0x41, 0x5a).addRange(0x61, 0x7a),
  upper: () => range(0x41, 0x5a),
  lower: () => range(0x61, 0x7a),
  digit: DIGIT,
  xdigit: () => range(0x30, 0x39).addRange(0x41, 0x46).addRange(0x61, 0x66),
  space: SPACE,
  print: () => range(0x20, 0x7e),
  punct: () => range(0x21, 0x2f).addRange(0x3a, 0x40).addRange(0x5b, 0x60).addRange(0x7b, 0x7e),
  graph: () => range(0x21, 0x7e),
  cntrl: () => range(0x00, 0x1f).add(0x7f),
  blank: () => ByteSet.of(0x09, 0x20),
  alnum: () => range(0x30, 0x39).addRange(0x41, 0x5a).addRange(0x61, 0x7a),
  word: WORD,
  ascii: () => range(0x00, 0x7f),
};

/** Characters ignored in extended mode outside classes (PCRE2's Pattern_White_Space below 0x100). */
function isExtendedSpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0x85;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWordChar(c: number): boolean {
  return WORD().has(c);
}

type Atom = RegexNode & { repeatable: boolean };

class PcreParser {
  private pos = 0;
  private inQuote = false;
  private lookaroundDepth = 0;
  /** Capturing groups so far: a replacement's $n must not exceed the total. */
  captures = 0;
  /** \K seen inside the look-around being parsed. */
  private keepOutInLookaround = false;
  /** Group numbers by name. */
  private readonly names = new Map<string, number[]>();
  private readonly refs: PendingRef[] = [];
  private readonly calls: PendingCall[] = [];
  /** Look-behinds, checked for a fixed length once every group is known (as PCRE2 does). */
  private readonly lookbehinds: Array<{ body: RegexNode; open: number }> = [];
  private readonly groups = new Map<number, RegexNode[]>();
  /** Errors PCRE2 reports only after reading the whole pattern: offset and message. */
  private readonly compileErrors: Array<[number, string]> = [];

  constructor(
    private readonly re: string,
    private readonly opts: PcreOptions,
  ) {}

  parse(): RegexNode {
    const flags: Flags = {
      i: this.opts.caseless, m: this.opts.multiline, s: this.opts.dotall, x: this.opts.extended, xx: false, U: this.opts.ungreedy, J: false, n: false,
    };
    this.leadingOptions();
    const body = this.parseAlternation(flags, 0);
    if (this.pos < this.re.length) this.syntax(this.pos, 'unmatched closing parenthesis');
    this.resolveRefs(body);
    this.expandCalls();
    for (const [offset, message] of this.compileErrors) this.syntax(offset, message);
    for (const { body: behind, open } of this.lookbehinds) {
      if (lookbehindLengths(behind, (n) => this.groups.get(n) ?? []) === null) this.syntax(open, 'lookbehind assertion is not fixed length');
    }
    if (!this.opts.anchored) return body;
    return { type: 'seq', items: [{ type: 'assert', kind: 'start' }, body] };
  }

  private syntax(offset: number, message: string): never {
    throw new RegexSyntaxError(`error in regex at offset ${offset}: ${message}`);
  }

  private unsupported(what: string): never {
    throw new RegexUnsupportedError(`${what} is not supported`);
  }

  private at(offset = this.pos): number {
    return offset < this.re.length ? this.re.charCodeAt(offset) : -1;
  }

  /** Skips extended-mode white space and comments, and \E outside a quote. */
  private skipIgnored(flags: Flags): void {
    for (;;) {
      if (this.inQuote) return;
      const c = this.at();
      if (flags.x && isExtendedSpace(c)) {
        this.pos++;
      } else if (flags.x && c === 0x23 /* # */) {
        while (this.pos < this.re.length && this.at() !== LF) this.pos++;
      } else if (c === 0x5c && this.at(this.pos + 1) === 0x45 /* \E */) {
        this.pos += 2;
      } else if (c === 0x5c && this.at(this.pos + 1) === 0x51 /* \Q */) {
        this.pos += 2;
        this.inQuote = true;
        if (this.re.startsWith('\\E', this.pos)) {
          this.inQuote = false;
          this.pos += 2;
          continue;
        }
        return;
      } else if (c === 0x28 && this.re.startsWith('(?#', this.pos)) {
        const close = this.re.indexOf(')', this.pos);
        if (close < 0) this.syntax(this.re.length, 'missing ) after (?# comment');
        this.pos = close + 1;
      } else {
        return;
      }
    }
  }

  private parseAlternation(flags: Flags, depth: number): RegexNode {
    const branches: RegexNode[] = [];
    for (;;) {
      branches.push(this.parseBranch(flags, depth));
      if (this.at() !== 0x7c /* | */ || this.inQuote) break;
      this.pos++;
    }
    return branches.length === 1 ? (branches[0] as RegexNode) : { type: 'alt', items: branches };
  }

  private parseBranch(flags: Flags, depth: number): RegexNode {
    const items: RegexNode[] = [];
    for (;;) {
      this.skipIgnored(flags);
      if (this.pos >= this.re.length) {
        if (this.inQuote) this.inQuote = false;
        break;
      }
      const c = this.at();
      if (!this.inQuote && (c === 0x7c || c === 0x29)) {
        if (c === 0x29 && depth === 0) this.syntax(this.pos, 'unmatched closing parenthesis');
        break;
      }
      const atom = this.parseAtom(flags, depth);
      if (atom === null) continue;
      items.push(this.parseQuantifiers(atom, flags));
    }
    return items.length === 1 ? (items[0] as RegexNode) : { type: 'seq', items };
  }

  private setNode(set: ByteSet, flags: Flags): Atom {
    return { type: 'set', set: flags.i ? set.foldAsciiCase() : set, repeatable: true };
  }

  private assertNode(kind: AssertKind): Atom {
    return { type: 'assert', kind, repeatable: false };
  }

  /** One atom, or null when the text only changed options. */
  private parseAtom(flags: Flags, depth: number): Atom | null {
    const c = this.at();
    if (this.inQuote) {
      if (c === 0x5c && this.at(this.pos + 1) === 0x45) {
        this.inQuote = false;
        this.pos += 2;
        return null;
      }
      this.pos++;
      return this.setNode(ByteSet.of(c), flags);
    }
    switch (c) {
      case 0x28 /* ( */:
        return this.parseGroup(flags, depth);
      case 0x5b /* [ */:
        // parseClass folds case itself (but not in \p members).
        return { type: 'set', set: this.parseClass(flags), repeatable: true };
      case 0x2e /* . */:
        this.pos++;
        return this.setNode(flags.s ? ByteSet.all() : ByteSet.all().without(LF), flags);
      case 0x5e /* ^ */:
        this.pos++;
        return this.assertNode(flags.m ? 'lineStartPcre' : 'start');
      case 0x24 /* $ */:
        this.pos++;
        return this.assertNode(flags.m ? 'lineEnd' : this.opts.dollarEndOnly ? 'end' : 'endOrFinalNewline');
      case 0x2a /* * */:
      case 0x2b /* + */:
      case 0x3f /* ? */:
        this.syntax(this.pos, 'quantifier does not follow a repeatable item');
        break;
      case 0x7b /* { */: {
        const q = this.quantifierAt(this.pos);
        if (q) this.syntax(q.end - 1, 'quantifier does not follow a repeatable item');
        this.pos++;
        return this.setNode(ByteSet.of(c), flags);
      }
      case 0x5c /* \ */:
        return this.parseEscape(flags);
      default:
        this.pos++;
        return this.setNode(ByteSet.of(c), flags);
    }
    return null;
  }

  /** {n}, {n,} or {n,m} at `offset` (PCRE2 10.42 syntax: digits only, no spaces). */
  private quantifierAt(offset: number): { min: number; max: number; end: number } | null {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.re.slice(offset, offset + 32));
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { min, max, end: offset + m[0].length };
  }

  private parseQuantifiers(atom: Atom, flags: Flags): RegexNode {
    this.skipIgnored(flags);
    if (this.inQuote) return atom;
    const c = this.at();
    let min: number;
    let max: number;
    let end: number;
    if (c === 0x2a || c === 0x2b || c === 0x3f) {
      min = c === 0x2b ? 1 : 0;
      max = c === 0x3f ? 1 : Infinity;
      end = this.pos + 1;
    } else {
      const q = c === 0x7b ? this.quantifierAt(this.pos) : null;
      if (!q) return atom;
      if (q.min > MAX_QUANTIFIER || (q.max !== Infinity && q.max > MAX_QUANTIFIER)) {
        this.syntax(q.end - 1, 'number too big in {} quantifier');
      }
      if (q.max < q.min) this.syntax(q.end - 1, 'numbers out of order in {} quantifier');
      ({ min, max, end } = q);
    }
    if (!atom.repeatable && atom.type !== 'look') {
      this.syntax(c === 0x7b ? end - 1 : this.pos, 'quantifier does not follow a repeatable item');
    }
    this.pos = end;
    let greedy = !flags.U;
    let possessive = false;
    if (this.at() === 0x3f) {
      greedy = !greedy;
      this.pos++;
    } else if (this.at() === 0x2b) {
      possessive = true;
      this.pos++;
    }
    const { repeatable: _ignored, ...body } = atom;
    let repeat: RegexNode = { type: 'repeat', body, min, max, greedy: possessive ? true : greedy };
    if (atom.type === 'look') {
      // PCRE2 runs a quantified assertion once ({1,} and more), optionally ({0,n}), or never ({0}).
      const empty: RegexNode = { type: 'seq', items: [] };
      repeat = max === 0 ? empty : min > 0 ? body : { type: 'alt', items: greedy || possessive ? [body, empty] : [empty, body] };
    }
    const result: Atom = possessive ? { type: 'atomic', body: repeat, repeatable: false } : { ...repeat, repeatable: false };
    this.skipIgnored(flags);
    const next = this.at();
    if (!this.inQuote) {
      const brace = next === 0x7b ? this.quantifierAt(this.pos) : null;
      if (brace) this.syntax(brace.end - 1, 'quantifier does not follow a repeatable item');
      if (next === 0x2a || next === 0x2b || next === 0x3f) this.syntax(this.pos, 'quantifier does not follow a repeatable item');
    }
    return result;
  }

  private parseGroup(flags: Flags, depth: number): Atom | null {
    const open = this.pos;
    this.pos++;
    if (this.at() === 0x2a /* (* */) return this.verb(flags);
    if (this.at() !== 0x3f /* ? */) {
      if (flags.n) return this.groupBody(flags, depth, (body) => body);
      const number = ++this.captures;
      return this.groupBody(flags, depth, (body) => this.capture(number, body));
    }
    this.pos++;
    const c = this.at();
    switch (c) {
      case 0x3a /* : */:
        this.pos++;
        return this.groupBody(flags, depth, (body) => body);
      case 0x7c /* | */:
        this.pos++;
        return this.groupBody(flags, depth, (body) => body, true);
      case 0x3e /* > */:
        this.pos++;
        return this.groupBody(flags, depth, (body) => ({ type: 'atomic', body }));
      case 0x3d /* = */:
      case 0x21 /* ! */:
        this.pos++;
        return this.lookaround(flags, depth, open, false, c === 0x21);
      case 0x3c /* < */: {
        const next = this.at(this.pos + 1);
        if (next === 0x3d || next === 0x21) {
          this.pos += 2;
          return this.lookaround(flags, depth, open, true, next === 0x21);
        }
        this.pos++;
        const number = this.groupName(0x3e, flags);
        return this.groupBody(flags, depth, (body) => this.capture(number, body));
      }
      case 0x27 /* ' */: {
        this.pos++;
        const number = this.groupName(0x27, flags);
        return this.groupBody(flags, depth, (body) => this.capture(number, body));
      }
      case 0x50 /* P */: {
        const kind = this.at(this.pos + 1);
        if (kind === 0x3c /* < */) {
          this.pos += 2;
          const number = this.groupName(0x3e, flags);
          return this.groupBody(flags, depth, (body) => this.capture(number, body));
        }
        if (kind === 0x3d /* = */) {
          this.pos += 2;
          const offset = this.pos;
          const name = this.readName(0x29);
          return this.reference(name, offset, flags);
        }
        if (kind !== 0x3e /* > */) this.syntax(this.pos + 1, 'unrecognized character after (?P');
        this.pos += 2;
        return this.call(this.readNameAt());
      }
      case 0x28 /* ( */:
        return this.conditional(flags, depth);
      case 0x43 /* C */:
        this.pos++;
        this.callout();
        return null;
      case 0x52 /* R */:
        this.unsupported('recursion and subroutine calls');
        break;
      case 0x26 /* & */:
        this.pos++;
        return this.call(this.readNameAt());
      default: {
        const m = /^([+-]?)([0-9]+)\)/.exec(this.re.slice(this.pos));
        if (!m) return this.optionSetting(flags, depth);
        this.pos += m[0].length;
        return this.call(this.numberTarget(m[1] as string, Number(m[2]), this.pos - 1));
      }
    }
    return null;
  }

  /**
   * (*NAME) options at the start of the pattern: those that only tune PCRE2's
   * optimisations and limits, or restate Postfix's defaults, change no answer.
   */
  private leadingOptions(): void {
    for (;;) {
      const m = /^\(\*([A-Z_0-9]+)(?:=([0-9]+))?\)/.exec(this.re.slice(this.pos));
      if (!m) return;
      const name = m[1] as string;
      const harmless = ['NO_AUTO_POSSESS', 'NO_DOTSTAR_ANCHOR', 'NO_JIT', 'NO_START_OPT', 'LF', 'BSR_UNICODE'];
      const limits = ['LIMIT_DEPTH', 'LIMIT_HEAP', 'LIMIT_MATCH', 'LIMIT_RECURSION'];
      if (m[2] === undefined ? harmless.includes(name) : limits.includes(name)) {
        this.pos += m[0].length;
        continue;
      }
      const changing = ['UTF', 'UCP', 'CR', 'CRLF', 'ANYCRLF', 'ANY', 'NUL', 'BSR_ANYCRLF', 'NOTEMPTY', 'NOTEMPTY_ATSTART'];
      if (changing.includes(name)) this.unsupported(`the leading option (*${name})`);
      return;
    }
  }

  /** (*VERB) inside the pattern, from its '*' (leading options are read by parse()). */
  private verb(flags: Flags): Atom | null {
    const close = this.re.indexOf(')', this.pos);
    const name = close < 0 ? '' : this.re.slice(this.pos + 1, close);
    if (/^(?:F|FAIL)(?::[^)]*)?$/.test(name)) {
      this.pos = close + 1;
      return this.setNode(new ByteSet(), flags);
    }
    if (/^(?:MARK)?:[^)]+$/.test(name)) {
      // A mark only names a point for (*SKIP:NAME) and the caller.
      this.pos = close + 1;
      return null;
    }
    if (/^(?:ACCEPT|COMMIT|PRUNE|SKIP|THEN)(?::[^)]*)?$/.test(name)) this.unsupported(`the backtracking control verb (*${name})`);
    this.syntax(close < 0 ? this.re.length : close, '(*VERB) not recognized or malformed');
  }

  /** (?C), (?Cn), (?C"text") and the other delimiters, from after the C: Postfix sets no callout function, so they do nothing. */
  private callout(): void {
    const c = this.at();
    if (c < 0) this.syntax(this.pos, 'missing closing parenthesis');
    if (isDigit(c) || c === 0x29) {
      const digits = /^[0-9]*/.exec(this.re.slice(this.pos))?.[0] as string;
      this.pos += digits.length;
      if (Number(digits) > 255) this.syntax(this.pos, 'number after (?C is greater than 255');
    } else {
      const delimiters: Record<string, string> = { '`': '`', "'": "'", '"': '"', '^': '^', '%': '%', '#': '#', $: '$', '{': '}' };
      const end = delimiters[String.fromCharCode(c)];
      if (end === undefined) this.syntax(this.pos, 'unrecognized string delimiter follows (?C');
      const open = this.pos;
      for (this.pos++; ; this.pos++) {
        if (this.pos >= this.re.length) this.syntax(open, 'missing terminating delimiter for callout with string argument');
        if (this.re[this.pos] !== end) continue;
        if (this.re[this.pos + 1] !== end) break;
        this.pos++;
      }
      this.pos++;
    }
    if (this.at() !== 0x29) this.syntax(this.pos, 'closing parenthesis for (?C expected');
    this.pos++;
  }

  /** (?(condition)yes|no), from after the second '('. */
  private conditional(flags: Flags, depth: number): Atom {
    const start = ++this.pos;
    const branches = (): RegexNode[] => {
      const alternatives = this.parseBranches(flags, depth);
      // PCRE2 finds this after checking the groups that references name.
      if (alternatives.length > 2) this.compileErrors.push([start - 3, 'conditional subpattern contains more than two branches']);
      return alternatives;
    };
    const twoWay = (alternatives: RegexNode[]): [RegexNode, RegexNode] => [alternatives[0] as RegexNode, alternatives[1] ?? { type: 'seq', items: [] }];
    if (this.at(start) === 0x3f /* (?( followed by an assertion */) {
      const kind = this.re.slice(start + 1, start + 3);
      const behind = kind === '<=' || kind === '<!';
      if (!behind && kind[0] !== '=' && kind[0] !== '!') this.syntax(start - 1, 'assertion expected after (?( or (?(?C)');
      this.pos = start + (behind ? 3 : 2);
      const look = this.lookaround(flags, depth, start - 1, behind, (behind ? kind[1] : kind[0]) === '!');
      const [yes, no] = twoWay(branches());
      const { repeatable: _ignored, ...test } = look;
      const opposite: RegexNode = { ...(test as Extract<RegexNode, { type: 'look' }>), negated: !(test as { negated: boolean }).negated };
      return { type: 'alt', items: [{ type: 'seq', items: [test, yes] }, { type: 'seq', items: [opposite, no] }], repeatable: true };
    }
    const close = this.re.indexOf(')', start);
    if (close < 0) {
      if (/^[A-Za-z_]\w*$/.test(this.re.slice(start))) this.syntax(this.re.length, 'syntax error in subpattern name (missing terminator?)');
      this.syntax(this.re.length, 'missing closing parenthesis for condition');
    }
    const text = this.re.slice(start, close);
    let number: number | null = null;
    let m: RegExpExecArray | null;
    if ((m = /^([+-]?)([0-9]+)$/.exec(text))) {
      const n = Number(m[2]);
      const target = m[1] === '' ? n : m[1] === '-' ? this.captures - n + 1 : this.captures + n;
      number = this.pendingNumber(target < 1 ? 0 : target, m[1] === '' ? start - 1 : close);
    } else if ((m = /^(?:<(\w+)>|'(\w+)')$/.exec(text))) {
      number = this.pendingNumber((m[1] ?? m[2]) as string, start + 1);
    } else if (text === 'DEFINE') {
      this.pos = close + 1;
      const alternatives = this.parseBranches(flags, depth);
      if (alternatives.length > 1) this.syntax(start, 'DEFINE subpattern contains more than one branch');
      // Its groups exist only for subroutine calls; it never matches anything itself.
      return { type: 'repeat', body: alternatives[0] as RegexNode, min: 0, max: 0, greedy: true, repeatable: true };
    } else if ((m = /^R(?:([0-9]+)|&(\w+))?$/.exec(text))) {
      // There is no recursion, so "inside recursion" is false; the group must still exist.
      if (m[1] !== undefined || m[2] !== undefined) this.pendingNumber(m[2] ?? Number(m[1]), m[2] !== undefined ? start + 2 : start);
      this.pos = close + 1;
      return { ...twoWay(branches())[1], repeatable: true };
    } else if ((m = /^VERSION(>?=)([0-9]+)(?:\.([0-9]+))?$/.exec(text))) {
      const wanted = Number(m[2]) * 100 + Number(m[3] ?? 0);
      const holds = m[1] === '=' ? wanted === 1042 : 1042 >= wanted;
      this.pos = close + 1;
      const [yes, no] = twoWay(branches());
      return { ...(holds ? yes : no), repeatable: true };
    } else if (/^\w+$/.test(text) && !isDigit(text.charCodeAt(0))) {
      number = this.pendingNumber(text, start);
    } else {
      this.unsupported('this kind of condition (?(...)');
    }
    this.pos = close + 1;
    const [yes, no] = twoWay(branches());
    return { type: 'cond', number, yes, no, repeatable: true };
  }

  /** A call's group: absolute, or relative to the groups opened so far (0 for none). */
  private numberTarget(sign: string, n: number, offset: number): { target: number; offset: number } {
    if (sign === '' && n === 0) this.unsupported('recursion and subroutine calls');
    const target = sign === '' ? n : sign === '-' ? this.captures - n + 1 : this.captures + n;
    return { target: n === 0 || target < 1 ? 0 : target, offset };
  }

  /** A name up to `terminator` (default ')') as a call target, with the name's offset. */
  private readNameAt(terminator = 0x29): { target: string; offset: number } {
    const offset = this.pos;
    return { target: this.readName(terminator), offset };
  }

  /** A subroutine call: a placeholder sequence until expandCalls() copies the group into it. */
  private call({ target, offset }: { target: number | string; offset: number }): Atom {
    const items: RegexNode[] = [];
    this.calls.push({ items, target, offset });
    return { type: 'seq', items, repeatable: true };
  }

  /**
   * Inlines every subroutine call: since PCRE2 10.30 a call backtracks like
   * the group itself, uses the options in force where the group is written,
   * and gives back the captures it made, so a copy of the group's body
   * without captures matches the same. Recursion has no such copy, nor has a
   * called group that tests captures (back-references, conditions).
   */
  private expandCalls(): void {
    const bodies = this.calls.map(({ target, offset }) => {
      const numbers = typeof target === 'number' ? (target > 0 && target <= this.captures ? [target] : []) : this.names.get(target) ?? [];
      if (numbers.length === 0) this.syntax(offset, 'reference to non-existent subpattern');
      const groups = numbers.flatMap((n) => this.groups.get(n) ?? []);
      if (groups.length !== 1) this.unsupported('a subroutine call to a group number or name that several groups share');
      return (groups[0] as Extract<RegexNode, { type: 'group' }>).body;
    });
    const byItems = new Map(this.calls.map((call, i) => [call.items, i]));
    const state: Array<'busy' | 'done' | undefined> = [];
    const copy = (node: RegexNode): RegexNode => {
      switch (node.type) {
        case 'seq': {
          const pending = byItems.get(node.items);
          if (pending !== undefined) expand(pending);
          return { type: 'seq', items: node.items.map(copy) };
        }
        case 'alt':
          return { type: 'alt', items: node.items.map(copy) };
        case 'group':
          return copy(node.body);
        case 'repeat':
        case 'look':
        case 'atomic':
          return { ...node, body: copy(node.body) };
        case 'backref':
        case 'cond':
          return this.unsupported('a subroutine call to a group that tests captures');
        case 'set':
        case 'assert':
          return node;
      }
    };
    const expand = (i: number): void => {
      if (state[i] === 'done') return;
      if (state[i] === 'busy') this.unsupported('recursion and subroutine calls');
      state[i] = 'busy';
      (this.calls[i] as PendingCall).items.push(copy(bodies[i] as RegexNode));
      state[i] = 'done';
    };
    this.calls.forEach((_call, i) => expand(i));
  }

  /** A name up to `terminator` (which it skips). */
  private readName(terminator: number): string {
    const start = this.pos;
    while (isWordChar(this.at())) this.pos++;
    const name = this.re.slice(start, this.pos);
    if (isDigit(this.re.charCodeAt(start))) this.syntax(start, 'subpattern name must start with a non-digit');
    if (name.length === 0) this.syntax(start, 'subpattern name expected');
    if (name.length > 32) this.syntax(start + 32, 'subpattern name is too long (maximum 32 code units)');
    if (this.at() !== terminator) this.syntax(this.pos, 'syntax error in subpattern name (missing terminator?)');
    this.pos++;
    return name;
  }

  /** The name of a named group up to `terminator`; returns the group's number. */
  private groupName(terminator: number, flags: Flags): number {
    const name = this.readName(terminator);
    const number = ++this.captures;
    const numbers = this.names.get(name) ?? [];
    if (!numbers.includes(number)) {
      if (numbers.length > 0 && !flags.J) this.syntax(this.pos, 'two named subpatterns have the same name (PCRE2_DUPNAMES not set)');
      numbers.push(number);
    }
    for (const [other, taken] of this.names) {
      if (other !== name && taken.includes(number)) this.syntax(this.pos, 'different names for subpatterns of the same number are not allowed');
    }
    this.names.set(name, numbers);
    return number;
  }

  private capture(number: number, body: RegexNode): RegexNode {
    const node: RegexNode = { type: 'group', number, body };
    this.groups.set(number, [...(this.groups.get(number) ?? []), node]);
    return node;
  }

  /** A back-reference to a group number or name, resolved when the pattern is read. */
  private reference(target: number | string, offset: number, flags: Flags): Atom {
    return { type: 'backref', number: this.pendingNumber(target, offset), caseless: flags.i, repeatable: true };
  }

  /** A placeholder group number (-1 for the first reference, ...) until resolveRefs(). */
  private pendingNumber(target: number | string, offset: number): number {
    this.refs.push({ target, offset });
    return -this.refs.length;
  }

  /** Gives every back-reference of `tree` its group number. */
  private resolveRefs(tree: RegexNode): void {
    const numbers = this.refs.map(({ target, offset }) => {
      if (typeof target === 'number') {
        if (target === 0 || target > this.captures) this.syntax(offset, 'reference to non-existent subpattern');
        return target;
      }
      const named = this.names.get(target);
      if (!named) this.syntax(offset, 'reference to non-existent subpattern');
      if (named.length > 1) this.unsupported('a back-reference to a name that several groups share');
      return named[0] as number;
    });
    const visit = (node: RegexNode): void => {
      if ((node.type === 'backref' || node.type === 'cond') && node.number < 0) node.number = numbers[-node.number - 1] as number;
      children(node).forEach(visit);
    };
    visit(tree);
  }

  /** (?imnsxUJ-imnsxUJ) or (?^...) then ')' or ':'. */
  private optionSetting(flags: Flags, depth: number): Atom | null {
    const next: Flags = { ...flags };
    let on = true;
    if (this.at() === 0x5e /* ^ */) {
      next.i = next.m = next.s = next.x = next.xx = next.n = next.U = false;
      this.pos++;
    }
    for (;;) {
      const c = this.at();
      if (c === 0x29 /* ) */) {
        this.pos++;
        Object.assign(flags, next);
        return null;
      }
      if (c === 0x3a /* : */) {
        this.pos++;
        return this.groupBody(next, depth, (body) => body);
      }
      const letter = String.fromCharCode(c);
      if (letter === '-' && on) {
        on = false;
      } else if (letter === 'x') {
        // (?x) also ends (?xx); (?-x) ends both.
        const double = this.at(this.pos + 1) === 0x78;
        if (double) this.pos++;
        next.x = on;
        next.xx = on && double;
      } else if (letter === 'i' || letter === 'm' || letter === 's' || letter === 'U' || letter === 'n' || letter === 'J') {
        next[letter] = on;
      } else {
        if (c < 0) this.syntax(this.pos, 'missing closing parenthesis');
        this.syntax(this.pos, 'unrecognized character after (? or (?-');
      }
      this.pos++;
    }
  }

  /** The alternatives up to the closing ')'; in a (?| group each one numbers its groups from the same start. */
  private parseBranches(flags: Flags, depth: number, branchReset = false): RegexNode[] {
    const inner: Flags = { ...flags };
    const first = this.captures;
    let most = first;
    const branches = [this.parseBranch(inner, depth + 1)];
    while (this.at() === 0x7c && !this.inQuote) {
      this.pos++;
      if (branchReset) {
        most = Math.max(most, this.captures);
        this.captures = first;
      }
      branches.push(this.parseBranch(inner, depth + 1));
    }
    if (branchReset) this.captures = Math.max(most, this.captures);
    if (this.at() !== 0x29) this.syntax(this.re.length, 'missing closing parenthesis');
    this.pos++;
    return branches;
  }

  private groupBody(flags: Flags, depth: number, wrap: (body: RegexNode) => RegexNode, branchReset = false): Atom {
    const branches = this.parseBranches(flags, depth, branchReset);
    const body: RegexNode = branches.length === 1 ? (branches[0] as RegexNode) : { type: 'alt', items: branches };
    return { ...wrap(body), repeatable: true };
  }

  private lookaround(flags: Flags, depth: number, open: number, behind: boolean, negated: boolean): Atom {
    this.lookaroundDepth++;
    const branches = this.parseBranches(flags, depth);
    this.lookaroundDepth--;
    if (this.keepOutInLookaround) {
      this.keepOutInLookaround = false;
      this.syntax(this.pos, '\\K is not allowed in lookarounds (but see PCRE2_EXTRA_ALLOW_LOOKAROUND_BSK)');
    }
    // Only the top-level alternatives of a look-behind may differ in length.
    const body: RegexNode = branches.length === 1 ? (branches[0] as RegexNode) : { type: 'alt', items: branches };
    if (behind) this.lookbehinds.push({ body: branches.length === 1 ? { type: 'seq', items: branches } : body, open });
    return { type: 'look', body, behind, negated, repeatable: false };
  }

  /** An escape outside a class. */
  private parseEscape(flags: Flags): Atom | null {
    const start = this.pos;
    if (this.pos + 1 >= this.re.length) this.syntax(this.re.length, '\\ at end of pattern');
    const c = this.at(this.pos + 1);
    const letter = String.fromCharCode(c);
    this.pos += 2;
    switch (letter) {
      case 'd': return this.setNode(DIGIT(), flags);
      case 'D': return this.setNode(DIGIT().complement(), flags);
      case 's': return this.setNode(SPACE(), flags);
      case 'S': return this.setNode(SPACE().complement(), flags);
      case 'w': return this.setNode(WORD(), flags);
      case 'W': return this.setNode(WORD().complement(), flags);
      case 'h': return this.setNode(HSPACE(), flags);
      case 'H': return this.setNode(HSPACE().complement(), flags);
      case 'v': return this.setNode(VSPACE(), flags);
      case 'V': return this.setNode(VSPACE().complement(), flags);
      case 'C': return this.setNode(ByteSet.all(), flags);
      case 'N':
        if (this.at() === 0x7b && !this.quantifierAt(this.pos)) this.namedCharacter();
        return this.setNode(ByteSet.all().without(LF), flags);
      case 'R': {
        // \R is atomic: CR LF is never split into CR then LF.
        const body: RegexNode = {
          type: 'alt',
          items: [
            { type: 'seq', items: [{ type: 'set', set: ByteSet.of(0x0d) }, { type: 'set', set: ByteSet.of(LF) }] },
            { type: 'set', set: VSPACE() },
          ],
        };
        return { type: 'atomic', body, repeatable: true };
      }
      case 'b': return this.assertNode('wordBoundary');
      case 'B': return this.assertNode('notWordBoundary');
      case 'A': return this.assertNode('start');
      case 'G': return this.assertNode('start');
      case 'Z': return this.assertNode('endOrFinalNewline');
      case 'z': return this.assertNode('end');
      case 'K':
        // PCRE2 reports this when the look-around closes.
        if (this.lookaroundDepth > 0) this.keepOutInLookaround = true;
        return null;
      case 'p': case 'P':
        // Caseless matching does not change a Unicode property.
        return { type: 'set', set: this.property(letter === 'P'), repeatable: true };
      case 'X': {
        // An extended grapheme cluster: below U+0100 only CR LF is more than one character.
        const body: RegexNode = {
          type: 'alt',
          items: [{ type: 'seq', items: [{ type: 'set', set: ByteSet.of(0x0d) }, { type: 'set', set: ByteSet.of(LF) }] }, { type: 'set', set: ByteSet.all() }],
        };
        return { type: 'atomic', body, repeatable: true };
      }
      case 'g':
        return this.gReference(flags);
      case 'k':
        return this.kReference(start, flags);
      default:
        break;
    }
    if (c >= 0x31 && c <= 0x39) {
      // pcre2pattern: a back-reference when below 10, starting with 8 or 9, or when that many groups precede; else octal.
      const digits = /^[0-9]+/.exec(this.re.slice(start + 1))?.[0] as string;
      const number = Number(digits);
      if (number < 10 || c >= 0x38 || number <= this.captures) {
        this.pos = start + 1 + digits.length;
        return this.reference(number, this.pos - 1, flags);
      }
    }
    this.pos = start;
    return this.setNode(ByteSet.of(this.escapedByte(false)), flags);
  }

  /** The rest of a \p or \P escape (this.pos after the letter): \pL, \p{name}, \p{^name}. */
  private property(negated: boolean): ByteSet {
    let name: string;
    if (this.at() === 0x7b) {
      const close = this.re.indexOf('}', this.pos);
      if (close < 0) this.syntax(this.re.length, 'malformed \\P or \\p sequence');
      name = this.re.slice(this.pos + 1, close);
      this.pos = close + 1;
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
    } else {
      if (this.pos >= this.re.length) this.syntax(this.pos, 'malformed \\P or \\p sequence');
      name = this.re[this.pos++] as string;
    }
    const set = unicodePropertySet(name);
    if (!set) this.unsupported(`the Unicode property name "${name}"`);
    return negated ? set.complement() : set;
  }

  /** \g{n} \g{-n} \g{+n} \gn \g-n \g+n \g{name}, from the backslash at `start`; \g<..> and \g'..' are calls. */
  private gReference(flags: Flags): Atom {
    const open = this.at();
    if (open === 0x3c || open === 0x27) {
      const terminator = open === 0x3c ? 0x3e : 0x27;
      this.pos++;
      const m = /^([+-]?)([0-9]+)/.exec(this.re.slice(this.pos));
      if (!m) return this.call(this.readNameAt(terminator));
      this.pos += m[0].length;
      if (this.at() !== terminator) this.syntax(this.pos, '\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number');
      this.pos++;
      return this.call(this.numberTarget(m[1] as string, Number(m[2]), this.pos - 1));
    }
    const braced = open === 0x7b;
    const body = braced ? this.pos + 1 : this.pos;
    const m = /^([+-]?)([0-9]+)/.exec(this.re.slice(body));
    if (m) {
      const end = body + m[0].length;
      if (braced && this.at(end) !== 0x7d) this.syntax(end, '\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number');
      this.pos = braced ? end + 1 : end;
      const n = Number(m[2]);
      if (m[1] === '') return this.reference(n, n === 0 ? this.pos : this.pos - 1, flags);
      const target = m[1] === '-' ? this.captures - n + 1 : this.captures + n;
      return this.reference(target < 1 || n === 0 ? 0 : target, braced ? this.pos - m[0].length - 2 : this.pos, flags);
    }
    if (!braced) this.syntax(this.pos, '\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number');
    this.pos = body;
    const offset = this.pos;
    return this.reference(this.readName(0x7d), offset, flags);
  }

  /** \k<name> \k'name' \k{name}, from the backslash at `start`. */
  private kReference(start: number, flags: Flags): Atom {
    const terminators: Record<number, number> = { 0x3c: 0x3e, 0x27: 0x27, 0x7b: 0x7d };
    const terminator = terminators[this.at()];
    if (terminator === undefined) this.syntax(start + 2, '\\k is not followed by a braced, angle-bracketed, or quoted name');
    this.pos++;
    const offset = this.pos;
    return this.reference(this.readName(terminator), offset, flags);
  }

  /**
   * The byte of a single-character escape at this.pos ('\' included); moves
   * past it. `inClass` admits \b (backspace) and octal \1..\7.
   */
  private escapedByte(inClass: boolean): number {
    const escStart = this.pos;
    const c = this.at(this.pos + 1);
    this.pos += 2;
    const letter = String.fromCharCode(c);
    const octalDigit = (d: number): boolean => d >= 0x30 && d <= 0x37;
    switch (letter) {
      case 'a': return 0x07;
      case 'e': return 0x1b;
      case 'f': return 0x0c;
      case 'n': return 0x0a;
      case 'r': return 0x0d;
      case 't': return 0x09;
      case 'b':
        if (inClass) return 0x08;
        break;
      case '0': {
        let value = 0;
        for (let n = 0; n < 2 && octalDigit(this.at()); n++) value = value * 8 + this.at(this.pos++) - 0x30;
        return value;
      }
      case 'o':
        if (this.at() !== 0x7b) this.syntax(this.pos >= this.re.length ? this.pos - 1 : this.pos, 'missing opening brace after \\o');
        return this.bracedNumber(8);
      case 'x': {
        if (this.at() === 0x7b) return this.bracedNumber(16);
        let value = 0;
        for (let n = 0; n < 2 && /[0-9a-fA-F]/.test(String.fromCharCode(this.at())); n++) {
          value = value * 16 + parseInt(String.fromCharCode(this.at(this.pos++)), 16);
        }
        return value;
      }
      case 'c': {
        const x = this.at();
        if (x < 0) this.syntax(this.pos, '\\c at end of pattern');
        if (x < 0x20 || x > 0x7e) this.syntax(this.pos, '\\c must be followed by a printable ASCII character');
        this.pos++;
        const upper = x >= 0x61 && x <= 0x7a ? x - 0x20 : x;
        return upper ^ 0x40;
      }
      default:
        break;
    }
    if (c >= 0x31 && c <= 0x37) {
      // Outside a class only when parseEscape found no back-reference.
      let value = c - 0x30;
      for (let n = 0; n < 2 && octalDigit(this.at()); n++) value = value * 8 + this.at(this.pos++) - 0x30;
      if (value > 0xff) this.syntax(this.pos, 'octal value is greater than \\377 in 8-bit non-UTF-8 mode');
      return value;
    }
    // \8 and \9 in a class are the digits.
    if (inClass && (c === 0x38 || c === 0x39)) return c;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c)) {
      if ('LlUuF'.includes(letter)) this.syntax(escStart + 2, 'PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or \\u');
      this.syntax(escStart + 1, 'unrecognized character follows \\');
    }
    return c;
  }

  /** The {digits} of \\x{..} (radix 16) or \\o{..} (radix 8), from its '{'; PCRE2's errors when malformed. */
  private bracedNumber(radix: 8 | 16): number {
    const open = this.pos;
    let end = open + 1;
    const digit = radix === 16 ? /[0-9a-fA-F]/ : /[0-7]/;
    while (end < this.re.length && digit.test(this.re[end] as string)) end++;
    if (this.at(end) !== 0x7d) {
      if (end === open + 1 && (end >= this.re.length || this.at(end) === 0x7d)) this.syntax(end, 'digits missing in \\x{} or \\o{} or \\N{U+}');
      const kind = radix === 16 ? 'non-hex character in \\x{}' : 'non-octal character in \\o{}';
      this.syntax(end >= this.re.length ? end - 1 : end, `${kind} (closing brace missing?)`);
    }
    if (end === open + 1) this.syntax(end, 'digits missing in \\x{} or \\o{} or \\N{U+}');
    const value = parseInt(this.re.slice(open + 1, end), radix);
    if (value > 0xff) this.syntax(end, 'character code point value in \\x{} or \\o{} is too large');
    this.pos = end + 1;
    return value;
  }

  /** \\N{...} (this.pos at the '{'): never valid without UTF mode. */
  private namedCharacter(): never {
    if (this.re.startsWith('{U+', this.pos)) this.syntax(this.pos, '\\N{U+dddd} is supported only in Unicode (UTF) mode');
    this.syntax(this.pos, 'PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or \\u');
  }

  /** A [...] class at this.pos; returns the set before case folding by the caller. */
  private parseClass(flags: Flags): ByteSet {
    this.pos++;
    let negated = false;
    if (this.at() === 0x5e) {
      negated = true;
      this.pos++;
    }
    const set = new ByteSet();
    /** \p members, which caseless matching leaves alone. */
    const properties = new ByteSet();
    let first = true;
    let quote = false;
    for (;;) {
      if (this.pos >= this.re.length) this.syntax(this.re.length, 'missing terminating ] for character class');
      let c = this.at();
      if (!quote && flags.xx && (c === 0x20 || c === 0x09)) {
        this.pos++;
        continue;
      }
      if (quote) {
        if (c === 0x5c && this.at(this.pos + 1) === 0x45) {
          quote = false;
          this.pos += 2;
          continue;
        }
      } else if (c === 0x5c && (this.at(this.pos + 1) === 0x51 || this.at(this.pos + 1) === 0x45)) {
        quote = this.at(this.pos + 1) === 0x51;
        this.pos += 2;
        continue;
      } else if (c === 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      const item = this.classItem(quote);
      if (item.set) {
        if (!quote && this.at() === 0x2d && this.at(this.pos + 1) !== 0x5d && this.pos + 1 < this.re.length) {
          this.syntax(this.pos, 'invalid range in character class');
        }
        (item.property ? properties : set).addSet(item.set);
        continue;
      }
      const low = item.code as number;
      c = this.at();
      if (c === 0x2d && this.at(this.pos + 1) !== 0x5d && this.pos + 1 < this.re.length) {
        this.pos++;
        const high = this.classItem(quote && !(this.at() === 0x5c && this.at(this.pos + 1) === 0x45));
        if (high.set) this.syntax(this.pos, 'invalid range in character class');
        if ((high.code as number) < low) this.syntax(this.pos - 1, 'range out of order in character class');
        set.addRange(low, high.code as number);
      } else {
        set.add(low);
      }
    }
    if (flags.i) set.foldAsciiCase();
    set.addSet(properties);
    return negated ? set.complement() : set;
  }

  /** One class member: a byte, or a set for \d-style escapes and [:name:]. */
  private classItem(quoted: boolean): { code?: number; set?: ByteSet; property?: boolean } {
    const c = this.at();
    if (quoted) {
      this.pos++;
      return { code: c };
    }
    if (c === 0x5b /* [ */) {
      const kind = this.at(this.pos + 1);
      if (kind === 0x3a || kind === 0x2e || kind === 0x3d) {
        const terminator = `${String.fromCharCode(kind)}]`;
        const close = this.re.indexOf(terminator, this.pos + 2);
        const closeBracket = this.re.indexOf(']', this.pos + 2);
        if (close >= 0 && close < closeBracket + 1) {
          if (kind !== 0x3a) this.syntax(this.pos, 'POSIX collating elements are not supported');
          let name = this.re.slice(this.pos + 2, close);
          let negate = false;
          if (name.startsWith('^')) {
            negate = true;
            name = name.slice(1);
          }
          const make = POSIX_CLASSES[name];
          if (!make) this.syntax(this.pos + 2, 'unknown POSIX class name');
          this.pos = close + 2;
          const set = make();
          return { set: negate ? set.complement() : set };
        }
      }
      this.pos++;
      return { code: c };
    }
    if (c !== 0x5c) {
      this.pos++;
      return { code: c };
    }
    const e = String.fromCharCode(this.at(this.pos + 1));
    const sets: Record<string, () => ByteSet> = {
      d: DIGIT, D: () => DIGIT().complement(), s: SPACE, S: () => SPACE().complement(),
      w: WORD, W: () => WORD().complement(), h: HSPACE, H: () => HSPACE().complement(),
      v: VSPACE, V: () => VSPACE().complement(),
    };
    const make = sets[e];
    if (make) {
      this.pos += 2;
      return { set: make() };
    }
    if (e === 'p' || e === 'P') {
      this.pos += 2;
      return { set: this.property(e === 'P'), property: true };
    }
    if ('BRXNCgkAzZGK'.includes(e) && e !== '') {
      if (e === 'N' && this.at(this.pos + 2) === 0x7b) {
        this.pos += 2;
        this.namedCharacter();
      }
      if (e === 'N') this.syntax(this.pos + 2, '\\N is not supported in a class');
      this.syntax(this.pos + 1, 'escape sequence is invalid in character class');
    }
    if (this.pos + 1 >= this.re.length) this.syntax(this.re.length, '\\ at end of pattern');
    return { code: this.escapedByte(true) };
  }
}

/**
 * The tree for `re` (one character per byte) and its number of capturing
 * groups; throws RegexSyntaxError or RegexUnsupportedError.
 */
export function parsePcre(re: string, opts: PcreOptions): { tree: RegexNode; captures: number } {
  const parser = new PcreParser(re, opts);
  const tree = parser.parse();
  return { tree, captures: parser.captures };
}
