/*
 * c-text.ts - the few C library behaviours Postfix's configuration code leans
 * on, reproduced for JavaScript strings: isspace() in the C locale, strtol()
 * in base 10, and printf's "%.Ns" precision (which counts bytes, not
 * characters).
 *
 * Exports: isCSpace, skipCSpace, strtol10, LONG_MAX, truncBytes.
 */

/** C isspace() in the "C" locale: space, \t, \n, \v, \f, \r. */
export function isCSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

/** Index of the first non-isspace() character at or after `pos`. */
export function skipCSpace(text: string, pos = 0): number {
  while (pos < text.length && isCSpace(text[pos])) pos++;
  return pos;
}

export const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

export interface StrtolResult {
  /** The value, clamped to the C long range as strtol() clamps it. */
  readonly value: bigint;
  /** Index just past the digits; equals the start index when no digits were found. */
  readonly end: number;
  /** strtol() would have set errno to ERANGE. */
  readonly overflow: boolean;
}

/**
 * strtol(text + start, &end, 10): leading isspace() and one sign are
 * accepted, then decimal digits. BigInt keeps 64-bit longs exact.
 */
export function strtol10(text: string, start = 0): StrtolResult {
  let pos = skipCSpace(text, start);
  let negative = false;
  if (text[pos] === '+' || text[pos] === '-') {
    negative = text[pos] === '-';
    pos++;
  }
  const digitsStart = pos;
  while (pos < text.length && text[pos] >= '0' && text[pos] <= '9') pos++;
  if (pos === digitsStart) return { value: 0n, end: start, overflow: false };
  let value = BigInt(text.slice(digitsStart, pos));
  if (negative) value = -value;
  if (value > LONG_MAX) return { value: LONG_MAX, end: pos, overflow: true };
  if (value < LONG_MIN) return { value: LONG_MIN, end: pos, overflow: true };
  return { value, end: pos, overflow: false };
}

/**
 * printf("%.<n>s", text): at most n bytes of UTF-8. A character that would
 * straddle the limit is dropped whole instead of being cut in half.
 */
export function truncBytes(text: string, n: number): string {
  if (text.length <= n / 3) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > n) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}
