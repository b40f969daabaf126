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
 * Exports: ByteSet, RegexNode, AssertKind, emitJs, EmittedRegex,
 * lookbehindLengths.
 */

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
    if (n === 256) return '[^]';
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
  | { type: 'atomic'; body: RegexNode };

export interface EmittedRegex {
  /** Exact for every key. */
  anyKey: string;
  /** Exact for keys that contain no '\n'; equal to anyKey when nothing is line-sensitive. */
  singleLine: string;
}

const WORD = '[0-9A-Z_a-z]';

function emitAssert(kind: AssertKind, singleLine: boolean): string {
  switch (kind) {
    case 'start':
      return '^';
    case 'end':
      return '$';
    case 'endOrFinalNewline':
      return singleLine ? '$' : '(?=\\n?$)';
    case 'lineStart':
      return singleLine ? '^' : '(?<![^\\n])';
    case 'lineStartPcre':
      return singleLine ? '^' : '(?:^|(?<=\\n)(?=[^]))';
    case 'afterNewline':
    case 'beforeNewline':
      // Without a newline in the key these never hold; an empty class never matches.
      return singleLine ? '[]' : kind === 'afterNewline' ? '(?<=\\n)' : '(?=\\n)';
    case 'lineEnd':
      return singleLine ? '$' : '(?![^\\n])';
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

class Emitter {
  /** Captures exist only to emulate atomic groups; user groups never capture. */
  private captures = 0;

  constructor(private readonly singleLine: boolean) {}

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
        return emitAssert(node.kind, this.singleLine);
      case 'look':
        return `(?${node.behind ? '<' : ''}${node.negated ? '!' : '='}${this.emit(node.body)})`;
      case 'atomic': {
        // (?=(X))\N matches what X matches first and never gives it back.
        const index = ++this.captures;
        return `(?:(?=(${this.emit(node.body)}))\\${index})`;
      }
    }
  }

  private emitInSeq(node: RegexNode): string {
    return node.type === 'alt' ? `(?:${this.emit(node)})` : this.emit(node);
  }
}

const LINE_SENSITIVE = new Set<AssertKind>(['endOrFinalNewline', 'lineStart', 'lineStartPcre', 'lineEnd', 'afterNewline', 'beforeNewline']);

function lineSensitive(node: RegexNode): boolean {
  switch (node.type) {
    case 'assert':
      return LINE_SENSITIVE.has(node.kind);
    case 'seq':
    case 'alt':
      return node.items.some(lineSensitive);
    case 'repeat':
    case 'look':
    case 'atomic':
      return lineSensitive(node.body);
    case 'set':
      return false;
  }
}

export function emitJs(node: RegexNode): EmittedRegex {
  const anyKey = new Emitter(false).emit(node);
  return { anyKey, singleLine: lineSensitive(node) ? new Emitter(true).emit(node) : anyKey };
}

/**
 * The lengths (in bytes) a subtree can match, as PCRE2 10.42 computes them for
 * a look-behind: a set of lengths when every top-level alternative has a fixed
 * length, null when some part has a variable length.
 */
export function lookbehindLengths(node: RegexNode): number[] | null {
  if (node.type === 'alt') {
    const lengths: number[] = [];
    for (const item of node.items) {
      const fixed = fixedLength(item);
      if (fixed === null) return null;
      lengths.push(fixed);
    }
    return lengths;
  }
  const fixed = fixedLength(node);
  return fixed === null ? null : [fixed];
}

function fixedLength(node: RegexNode): number | null {
  switch (node.type) {
    case 'set':
      return 1;
    case 'assert':
    case 'look':
      return 0;
    case 'seq': {
      let total = 0;
      for (const item of node.items) {
        const n = fixedLength(item);
        if (n === null) return null;
        total += n;
      }
      return total;
    }
    case 'alt': {
      const lengths = node.items.map(fixedLength);
      const first = lengths[0] ?? 0;
      return lengths.every((n) => n === first) ? first : null;
    }
    case 'repeat': {
      if (node.min !== node.max) return null;
      const n = fixedLength(node.body);
      return n === null ? null : n * node.min;
    }
    case 'atomic':
      return fixedLength(node.body);
  }
}
