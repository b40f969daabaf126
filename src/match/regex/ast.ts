/*
 * ast.ts - the regular expression tree shared by the POSIX (regexp:) and PCRE
 * (pcre:) front ends, and its translation to JavaScript source.
 *
 * Postfix matches both table types on bytes: glibc regcomp() runs in the C
 * locale and dict_pcre compiles without PCRE2_UTF, so '.' is one byte and case
 * folding only pairs ASCII letters. The tree therefore works on bytes: every
 * character item is a set of byte values, with case folding already applied by
 * the parser, and the key is matched as a "byte string" (one JS character per
 * byte, as latin1 decoding gives). The emitted JavaScript never uses the i, m,
 * s or u flags, whose rules differ from the C engines (JS folds latin1 letters,
 * treats \r as a line end, ...): sets become explicit byte ranges.
 *
 * Line-sensitive anchors (multi-line ^ and $, PCRE's "end or before a final
 * newline") need look-arounds in general, which V8's linear-time engine cannot
 * run. When the key holds no newline they are plain ^ and $, so two variants
 * are emitted: `anyKey` (exact for every key) and `singleLine` (exact for keys
 * without '\n').
 *
 * Back-references follow the C libraries: a reference to a group that is
 * unset fails (JavaScript would match the empty string), a group keeps its
 * value from an earlier iteration of a loop (JavaScript clears it), and a
 * caseless reference folds ASCII letters only. emitJs() therefore decides for
 * every reference (and PCRE condition on a group), from the pattern's
 * structure: the group is set on every path that reaches it in JavaScript's
 * semantics (both engines then see the same text, the group's last capture);
 * or unset on every path in the C library's (the reference never matches);
 * or either, with both engines agreeing on when (no loop between the group
 * and the reference can skip or clear it): then a guard tests at run time
 * whether the group is set, through a sentinel character appended to the key
 * that the group also captures. Anything else is refused
 * (RegexUnsupportedError). A caseless reference is run on the key folded to
 * lower case, which needs every set of the pattern to be closed under ASCII
 * case (it is, when the whole pattern is caseless).
 *
 * Exports: ByteSet, RegexNode, AssertKind, emitJs, EmittedRegex, SENTINEL,
 * children, lookbehindLengths.
 */
import { RegexUnsupportedError } from './errors.js';

/** A set of byte values 0..255. */
export class ByteSet {
  private readonly bits = new Uint8Array(256);

  static of(...codes: number[]): ByteSet {
    const set = new ByteSet();
    for (const code of codes) set.add(code);
    return set;
  }

  static range(from: number, to: number): ByteSet {
    return new ByteSet().addRange(from, to);
  }

  static all(): ByteSet {
    return ByteSet.range(0, 255);
  }

  add(code: number): this {
    this.bits[code] = 1;
    return this;
  }

  addRange(from: number, to: number): this {
    for (let c = from; c <= to; c++) this.bits[c] = 1;
    return this;
  }

  addSet(other: ByteSet): this {
    for (let c = 0; c < 256; c++) if (other.bits[c]) this.bits[c] = 1;
    return this;
  }

  has(code: number): boolean {
    return this.bits[code] === 1;
  }

  complement(): ByteSet {
    const out = new ByteSet();
    for (let c = 0; c < 256; c++) if (!this.bits[c]) out.bits[c] = 1;
    return out;
  }

  without(code: number): ByteSet {
    const out = new ByteSet().addSet(this);
    out.bits[code] = 0;
    return out;
  }

  /** Whether every ASCII letter in the set comes with its other case. */
  caseClosed(): boolean {
    for (let c = 0x41; c <= 0x5a; c++) if (this.bits[c] !== this.bits[c + 0x20]) return false;
    return true;
  }

  /** Adds the other case of every ASCII letter (C-locale case folding). */
  foldAsciiCase(): this {
    for (let c = 0x41; c <= 0x5a; c++) {
      if (this.bits[c] || this.bits[c + 0x20]) {
        this.bits[c] = 1;
        this.bits[c + 0x20] = 1;
      }
    }
    return this;
  }

  size(): number {
    let n = 0;
    for (let c = 0; c < 256; c++) n += this.bits[c] as number;
    return n;
  }

  /** JavaScript source for "one byte of this set", without the u flag. */
  toJs(): string {
    const n = this.size();
    // Not [^]: a key may end with the sentinel (see emitJs), which no byte set matches.
    if (n === 256) return '[\\x00-\\xff]';
    if (n === 0) return '[]';
    if (n === 1) return byteLiteral(this.bits.indexOf(1));
    let body = '';
    for (let c = 0; c < 256; c++) {
      if (!this.bits[c]) continue;
      let end = c;
      while (end + 1 < 256 && this.bits[end + 1]) end++;
      body += end === c ? classByte(c) : end === c + 1 ? classByte(c) + classByte(end) : `${classByte(c)}-${classByte(end)}`;
      c = end;
    }
    return `[${body}]`;
  }
}

function isAsciiAlnum(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function hex(code: number): string {
  return `\\x${code.toString(16).padStart(2, '0')}`;
}

function byteLiteral(code: number): string {
  return isAsciiAlnum(code) ? String.fromCharCode(code) : hex(code);
}

function classByte(code: number): string {
  return isAsciiAlnum(code) ? String.fromCharCode(code) : hex(code);
}

export type AssertKind =
  /** Start of the key (\A, ^ without multi-line). */
  | 'start'
  /** End of the key (\z, POSIX $, PCRE $ with DOLLAR_ENDONLY). */
  | 'end'
  /** End of the key or before a newline that ends it (PCRE $, \Z). */
  | 'endOrFinalNewline'
  /** Start of the key or after a newline (POSIX multi-line ^). */
  | 'lineStart'
  /** Start of the key or after a newline that is not the last byte (PCRE multi-line ^). */
  | 'lineStartPcre'
  /** Right after a newline (glibc's ^ when the pattern consumed that newline). */
  | 'afterNewline'
  /** Right before a newline (glibc's $ when the pattern goes on to consume it). */
  | 'beforeNewline'
  /** End of the key or before a newline (multi-line $). */
  | 'lineEnd'
  | 'wordBoundary'
  | 'notWordBoundary'
  /** GNU \< and \>. */
  | 'wordStart'
  | 'wordEnd';

export type RegexNode =
  | { type: 'set'; set: ByteSet }
  | { type: 'seq'; items: RegexNode[] }
  | { type: 'alt'; items: RegexNode[] }
  | { type: 'repeat'; body: RegexNode; min: number; max: number; greedy: boolean }
  | { type: 'assert'; kind: AssertKind }
  | { type: 'look'; body: RegexNode; behind: boolean; negated: boolean }
  /** An atomic group (PCRE (?>...) and possessive quantifiers). */
  | { type: 'atomic'; body: RegexNode }
  /** A capturing group; PCRE's (?| groups give several groups the same number. */
  | { type: 'group'; number: number; body: RegexNode }
  /** A back-reference; `caseless` compares ASCII letters without case. */
  | { type: 'backref'; number: number; caseless: boolean }
  /** PCRE's (?(n)yes|no): `yes` when group n is set. */
  | { type: 'cond'; number: number; yes: RegexNode; no: RegexNode };

export interface EmittedRegex {
  /** Exact for every key. */
  anyKey: string;
  /** Exact for keys that contain no '\n'; equal to anyKey when nothing is line-sensitive. */
  singleLine: string;
  /** Match the key with ASCII letters folded to lower case (caseless back-references). */
  foldKey: boolean;
  /** Match the key followed by SENTINEL (guarded back-references). */
  sentinel: boolean;
}

const WORD = '[0-9A-Z_a-z]';

/** The character appended to the key when a guard needs it (see emitJs); never a byte. */
export const SENTINEL = '\u0100';

function emitAssert(kind: AssertKind, singleLine: boolean, sentinel: boolean): string {
  const end = sentinel ? '(?=\\u0100)' : '$';
  switch (kind) {
    case 'start':
      return '^';
    case 'end':
      return end;
    case 'endOrFinalNewline':
      return singleLine ? end : `(?=\\n?${sentinel ? '\\u0100' : '$'})`;
    case 'lineStart':
      return singleLine ? '^' : '(?<![^\\n])';
    case 'lineStartPcre':
      return singleLine ? '^' : '(?:^|(?<=\\n)(?=[\\x00-\\xff]))';
    case 'afterNewline':
    case 'beforeNewline':
      // Without a newline in the key these never hold; an empty class never matches.
      return singleLine ? '[]' : kind === 'afterNewline' ? '(?<=\\n)' : '(?=\\n)';
    case 'lineEnd':
      return singleLine ? end : sentinel ? '(?![^\\n\\u0100])' : '(?![^\\n])';
    case 'wordBoundary':
      return '\\b';
    case 'notWordBoundary':
      return '\\B';
    case 'wordStart':
      return `\\b(?=${WORD})`;
    case 'wordEnd':
      return `\\b(?<=${WORD})`;
  }
}

/** JavaScript has no quantifier above 2^53; C engines cap far lower, so this only guards the emitter. */
function emitCount(min: number, max: number): string {
  if (max === Infinity) return min === 0 ? '*' : min === 1 ? '+' : `{${min},}`;
  if (min === max) return `{${min}}`;
  if (min === 0 && max === 1) return '?';
  return `{${min},${max}}`;
}

/** Every capturing group node of the tree, by number, in pattern order. */
function groupsByNumber(node: RegexNode, out = new Map<number, RegexNode[]>()): Map<number, RegexNode[]> {
  if (node.type === 'group') {
    const list = out.get(node.number) ?? [];
    list.push(node);
    out.set(node.number, list);
  }
  for (const child of children(node)) groupsByNumber(child, out);
  return out;
}

/** The direct subtrees of a node. */
export function children(node: RegexNode): RegexNode[] {
  switch (node.type) {
    case 'cond':
      return [node.yes, node.no];
    case 'seq':
    case 'alt':
      return node.items;
    case 'repeat':
    case 'look':
    case 'atomic':
    case 'group':
      return [node.body];
    case 'set':
    case 'assert':
    case 'backref':
      return [];
  }
}

function numbersIn(node: RegexNode): Set<number> {
  return new Set(groupsByNumber(node).keys());
}

/** Whether the subtree can match the empty string. */
function nullable(node: RegexNode): boolean {
  switch (node.type) {
    case 'set':
      return false;
    case 'seq':
      return node.items.every(nullable);
    case 'alt':
      return node.items.some(nullable);
    case 'cond':
      return nullable(node.yes) || nullable(node.no);
    case 'repeat':
      return node.min === 0 || nullable(node.body);
    case 'group':
    case 'atomic':
      return nullable(node.body);
    case 'assert':
    case 'look':
    case 'backref':
      return true;
  }
}

const intersect = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a].filter((n) => b.has(n)));
const union = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a, ...b]);
const minus = (a: Set<number>, b: Set<number>): Set<number> => new Set([...a].filter((n) => !b.has(n)));

/** Groups that every match of the subtree sets. */
function alwaysSets(node: RegexNode): Set<number> {
  switch (node.type) {
    case 'seq':
      return node.items.map(alwaysSets).reduce(union, new Set<number>());
    case 'alt':
      return node.items.map(alwaysSets).reduce(intersect);
    case 'cond':
      return intersect(alwaysSets(node.yes), alwaysSets(node.no));
    case 'group':
      return union(alwaysSets(node.body), new Set([node.number]));
    case 'repeat':
      return node.min > 0 ? alwaysSets(node.body) : new Set();
    case 'look':
      return node.negated ? new Set() : alwaysSets(node.body);
    case 'atomic':
      return alwaysSets(node.body);
    case 'set':
    case 'assert':
    case 'backref':
      return new Set();
  }
}

/**
 * 'set': the group is set on every path in JavaScript's semantics; 'unset':
 * it is unset on every path in C's; 'guard': either can happen, and both
 * engines agree on when, so a run-time test decides (see emitJs).
 */
type Verdict = 'set' | 'unset' | 'guard';

/** What the verdicts of a back-reference or condition rest on. */
class BackrefAnalysis {
  private readonly alwaysSet = new Map<RegexNode, boolean>();
  private readonly everSet = new Map<RegexNode, boolean>();
  private readonly lookbehindGroups: Array<Set<number>> = [];
  /** Loops (more than one iteration) around each group, back-reference and condition. */
  private readonly loopsAround = new Map<RegexNode, RegexNode[]>();
  private readonly loops: RegexNode[] = [];

  constructor(
    private readonly referenced: Set<number>,
    private readonly groups: Map<number, RegexNode[]>,
  ) {}

  verdicts(tree: RegexNode): Map<RegexNode, Verdict> {
    this.jsMust(tree, new Set());
    this.cMay(tree, new Set());
    const out = new Map<RegexNode, Verdict>();
    for (const [node, always] of this.alwaysSet) {
      if (always) out.set(node, 'set');
      else if (!this.everSet.get(node)) out.set(node, 'unset');
      else if (this.agreeOnSet(node)) out.set(node, 'guard');
      else {
        const what = node.type === 'cond' ? 'a condition on group' : 'a back-reference to group';
        throw new RegexUnsupportedError(`${what} ${(node as { number: number }).number}, which may keep a value from an earlier loop iteration there,`);
      }
    }
    return out;
  }

  /**
   * Whether JavaScript and C agree, on every path, on whether the group of
   * `ref` is set there (and then on its text). JavaScript clears a loop's
   * groups at each iteration, C keeps them: they agree when every loop
   * around the group sets it in each iteration and does not contain `ref`.
   */
  private agreeOnSet(ref: RegexNode): boolean {
    const number = (ref as { number: number }).number;
    const refLoops = this.loopsAround.get(ref) ?? [];
    return (this.groups.get(number) ?? []).every((group) => (this.loopsAround.get(group) ?? []).every((loop) =>
      !refLoops.includes(loop) && alwaysSets((loop as { body: RegexNode }).body).has(number)));
  }

  /** Groups set on every path, in JavaScript's semantics (a loop clears its groups at each iteration). */
  private jsMust(node: RegexNode, state: Set<number>): Set<number> {
    switch (node.type) {
      case 'set':
      case 'assert':
        return state;
      case 'backref':
        if (this.lookbehindGroups.some((inside) => inside.has(node.number))) {
          // JavaScript matches a look-behind from right to left, PCRE from left to right.
          throw new RegexUnsupportedError('a back-reference to a group of the same look-behind');
        }
        this.alwaysSet.set(node, (this.alwaysSet.get(node) ?? true) && state.has(node.number));
        this.loopsAround.set(node, [...this.loops]);
        return state;
      case 'cond':
        this.alwaysSet.set(node, (this.alwaysSet.get(node) ?? true) && state.has(node.number));
        this.loopsAround.set(node, [...this.loops]);
        return intersect(this.jsMust(node.yes, state), this.jsMust(node.no, state));
      case 'seq':
        return node.items.reduce((s, item) => this.jsMust(item, s), state);
      case 'alt':
        return node.items.map((item) => this.jsMust(item, state)).reduce(intersect);
      case 'group':
        this.loopsAround.set(node, [...this.loops]);
        return union(this.jsMust(node.body, state), new Set([node.number]));
      case 'atomic':
        return this.jsMust(node.body, state);
      case 'look': {
        if (node.behind) this.lookbehindGroups.push(numbersIn(node.body));
        const after = this.jsMust(node.body, state);
        if (node.behind) this.lookbehindGroups.pop();
        return node.negated ? state : after;
      }
      case 'repeat': {
        if (node.max === 0) return state;
        const inside = numbersIn(node.body);
        if ((node.max > node.min || node.max > 1) && nullable(node.body) && [...inside].some((n) => this.referenced.has(n))) {
          // An empty iteration ends a PCRE loop but is undone by JavaScript, and glibc has rules of
          // its own for empty iterations: the groups' texts differ.
          throw new RegexUnsupportedError('a back-reference to a group in a loop that can match the empty string');
        }
        if (node.max > 1) this.loops.push(node);
        const after = this.jsMust(node.body, minus(state, inside));
        if (node.max > 1) this.loops.pop();
        return node.min === 0 ? intersect(state, after) : after;
      }
    }
  }

  /** Groups possibly set, in the C library's semantics (a group keeps its last value). */
  private cMay(node: RegexNode, state: Set<number>): Set<number> {
    switch (node.type) {
      case 'set':
      case 'assert':
        return state;
      case 'backref':
        this.everSet.set(node, (this.everSet.get(node) ?? false) || state.has(node.number));
        return state;
      case 'cond':
        this.everSet.set(node, (this.everSet.get(node) ?? false) || state.has(node.number));
        return union(this.cMay(node.yes, state), this.cMay(node.no, state));
      case 'seq':
        return node.items.reduce((s, item) => this.cMay(item, s), state);
      case 'alt':
        return node.items.map((item) => this.cMay(item, state)).reduce(union);
      case 'group':
        return union(this.cMay(node.body, state), new Set([node.number]));
      case 'atomic':
        return this.cMay(node.body, state);
      case 'look': {
        const after = this.cMay(node.body, state);
        return node.negated ? state : after;
      }
      case 'repeat': {
        if (node.max === 0) return state;
        const inside = numbersIn(node.body);
        // Later iterations see what earlier ones set.
        const after = this.cMay(node.body, node.max > 1 ? union(state, inside) : state);
        return union(state, after);
      }
    }
  }
}

/** Groups whose being set matters: those of back-references and conditions. */
function referencedNumbers(node: RegexNode, out = new Set<number>()): Set<number> {
  if (node.type === 'backref' || node.type === 'cond') out.add(node.number);
  for (const child of children(node)) referencedNumbers(child, out);
  return out;
}

function everySet(node: RegexNode, test: (set: ByteSet) => boolean): boolean {
  if (node.type === 'set') return test(node.set);
  return children(node).every((child) => everySet(child, test));
}

/** The names the emitted groups get, for back-references and guards. */
interface GroupNaming {
  /** Named capture of a user group whose text a back-reference needs. */
  capture: Map<RegexNode, string>;
  /** Named capture of the sentinel, inside a user group whose being set a guard tests. */
  marker: Map<RegexNode, string>;
  captureByNumber: Map<number, string[]>;
  markerByNumber: Map<number, string[]>;
}

class Emitter {
  /** Named groups emulating atomic groups. */
  private atomics = 0;

  constructor(
    private readonly singleLine: boolean,
    private readonly sentinel: boolean,
    private readonly naming: GroupNaming,
    private readonly verdicts: Map<RegexNode, Verdict>,
  ) {}

  emit(node: RegexNode): string {
    switch (node.type) {
      case 'set':
        return node.set.toJs();
      case 'seq':
        return node.items.map((item) => this.emitInSeq(item)).join('');
      case 'alt':
        return node.items.map((item) => this.emit(item)).join('|');
      case 'repeat':
        return `(?:${this.emit(node.body)})${emitCount(node.min, node.max)}${node.greedy ? '' : '?'}`;
      case 'assert':
        return emitAssert(node.kind, this.singleLine, this.sentinel);
      case 'look':
        return `(?${node.behind ? '<' : ''}${node.negated ? '!' : '='}${this.emit(node.body)})`;
      case 'atomic': {
        // (?=(X))\k matches what X matches first and never gives it back.
        const name = `a${++this.atomics}`;
        return `(?:(?=(?<${name}>${this.emit(node.body)}))\\k<${name}>)`;
      }
      case 'group': {
        const marker = this.naming.marker.get(node);
        // The marker captures the sentinel at the key's end, so it is never empty once set.
        const body = this.emitInSeq(node.body) + (marker === undefined ? '' : `(?=[\\x00-\\xff]*(?<${marker}>\\u0100))`);
        const name = this.naming.capture.get(node);
        return name === undefined ? `(?:${body})` : `(?<${name}>${body})`;
      }
      case 'cond': {
        const verdict = this.verdicts.get(node);
        if (verdict !== 'guard') return this.emitInSeq(verdict === 'set' ? node.yes : node.no);
        const isSet = this.guard(node.number);
        return `(?:(?=${isSet})${this.emitInSeq(node.yes)}|(?!${isSet})${this.emitInSeq(node.no)})`;
      }
      case 'backref': {
        const verdict = this.verdicts.get(node);
        if (verdict === undefined || verdict === 'unset') return '[]';
        // Groups sharing a number ((?|...)) are alternatives: at most one of them is set, the others match empty.
        const text = (this.naming.captureByNumber.get(node.number) ?? []).map((name) => `\\k<${name}>`).join('');
        return verdict === 'set' ? `(?:${text})` : `(?:(?=${this.guard(node.number)})${text})`;
      }
    }
  }

  /** A look-ahead body that holds when group `number` is set: some marker of it is, and it holds the sentinel. */
  private guard(number: number): string {
    const markers = (this.naming.markerByNumber.get(number) ?? []).map((name) => `\\k<${name}>`).join('');
    return `[^\\u0100]*(?:${markers})$`;
  }

  private emitInSeq(node: RegexNode): string {
    return node.type === 'alt' ? `(?:${this.emit(node)})` : this.emit(node);
  }
}

const LINE_SENSITIVE = new Set<AssertKind>(['endOrFinalNewline', 'lineStart', 'lineStartPcre', 'lineEnd', 'afterNewline', 'beforeNewline']);

function lineSensitive(node: RegexNode): boolean {
  return node.type === 'assert' ? LINE_SENSITIVE.has(node.kind) : children(node).some(lineSensitive);
}

/**
 * JavaScript source for the tree; throws RegexUnsupportedError for
 * back-references it cannot give C's meaning. A reference (or condition) to
 * a group that may or may not be set is guarded: the group also captures a
 * sentinel character appended to the key, and a look-ahead tests that
 * capture, since a reference to an unset group would match the empty string.
 */
export function emitJs(node: RegexNode): EmittedRegex {
  const referenced = referencedNumbers(node);
  const groups = groupsByNumber(node);
  const verdicts = referenced.size > 0 ? new BackrefAnalysis(referenced, groups).verdicts(node) : new Map<RegexNode, Verdict>();
  const live = [...verdicts]
    .filter(([ref, verdict]) => verdict !== 'unset' && ref.type === 'backref')
    .map(([ref]) => ref as Extract<RegexNode, { type: 'backref' }>);
  const foldKey = live.some((ref) => ref.caseless);
  if (foldKey && (!live.every((ref) => ref.caseless) || !everySet(node, (set) => set.caseClosed()))) {
    throw new RegexUnsupportedError('a caseless back-reference in a pattern with case-sensitive parts ((?-i), \\p{..})');
  }
  const guarded = new Set([...verdicts].filter(([, verdict]) => verdict === 'guard').map(([ref]) => (ref as { number: number }).number));
  const naming: GroupNaming = { capture: new Map(), marker: new Map(), captureByNumber: new Map(), markerByNumber: new Map() };
  const nameAll = (number: number, list: RegexNode[], prefix: string, byNode: Map<RegexNode, string>, byNumber: Map<number, string[]>): void => {
    byNumber.set(number, list.map((group, i) => {
      const name = `${prefix}${number}_${i}`;
      byNode.set(group, name);
      return name;
    }));
  };
  for (const [number, list] of groups) {
    const captured = live.some((ref) => ref.number === number);
    if (!captured && !guarded.has(number)) continue;
    // A group emitted twice (the test of a conditional assertion) cannot carry one name.
    if (new Set(list).size !== list.length) throw new RegexUnsupportedError('a back-reference to a group inside a conditional assertion');
    if (captured) nameAll(number, list, 'g', naming.capture, naming.captureByNumber);
    if (guarded.has(number)) nameAll(number, list, 's', naming.marker, naming.markerByNumber);
  }
  const sentinel = guarded.size > 0;
  const emit = (singleLine: boolean): string => {
    const source = new Emitter(singleLine, sentinel, naming, verdicts).emit(node);
    // No match may start after the sentinel.
    return sentinel ? `(?<!\\u0100)(?:${source})` : source;
  };
  const anyKey = emit(false);
  return { anyKey, singleLine: lineSensitive(node) ? emit(true) : anyKey, foldKey, sentinel };
}

/**
 * The lengths (in bytes) a subtree can match, as PCRE2 10.42 computes them for
 * a look-behind: a set of lengths when every top-level alternative has a fixed
 * length, null when some part has a variable length. `groups` gives the
 * pattern's groups, for back-references (fixed when their group is).
 */
export function lookbehindLengths(node: RegexNode, groups: (number: number) => RegexNode[] = () => []): number[] | null {
  const items = node.type === 'alt' ? node.items : [node];
  const lengths: number[] = [];
  for (const item of items) {
    const fixed = fixedLength(item, groups, new Set());
    if (fixed === null) return null;
    lengths.push(fixed);
  }
  return lengths;
}

function fixedLength(node: RegexNode, groups: (number: number) => RegexNode[], visiting: Set<number>): number | null {
  const recurse = (n: RegexNode): number | null => fixedLength(n, groups, visiting);
  switch (node.type) {
    case 'set':
      return 1;
    case 'assert':
    case 'look':
      return 0;
    case 'seq': {
      let total = 0;
      for (const item of node.items) {
        const n = recurse(item);
        if (n === null) return null;
        total += n;
      }
      return total;
    }
    case 'alt': {
      const lengths = node.items.map(recurse);
      const first = lengths[0] ?? 0;
      return lengths.every((n) => n === first) ? first : null;
    }
    case 'repeat': {
      if (node.min !== node.max) return null;
      const n = recurse(node.body);
      return n === null ? null : n * node.min;
    }
    case 'atomic':
    case 'group':
      return recurse(node.body);
    case 'cond': {
      const yes = recurse(node.yes);
      return yes !== null && yes === recurse(node.no) ? yes : null;
    }
    case 'backref': {
      const targets = groups(node.number);
      if (targets.length !== 1 || visiting.has(node.number)) return null;
      visiting.add(node.number);
      const n = fixedLength(targets[0] as RegexNode, groups, visiting);
      visiting.delete(node.number);
      return n;
    }
  }
}
