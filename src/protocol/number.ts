/*
 * number.ts - the numbers Postfix's scanners accept, as glibc computes them.
 *
 * Postfix parses INT/LONG/BOOL values with sscanf(s, "%u%c") / "%lu%c" and rejects
 * the value unless exactly one conversion happened. With glibc on LP64 that means:
 * optional leading white space (C locale isspace), an optional '+' or '-', at least
 * one decimal digit, and nothing after the digits. The digits go through strtoul
 * (64-bit): a value above 2^64-1 saturates to 2^64-1 (sign ignored), otherwise a
 * '-' negates modulo 2^64. "%u" then keeps the low 32 bits. So "-1" → 4294967295,
 * "4294967296" → 0, "99999999999" → 1215752191.
 *
 * Exports: scanUnsigned, scanInt, scanLong.
 */

const ULONG_MAX = (1n << 64n) - 1n;

function isCSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/**
 * The unsigned value sscanf("%u"/"%lu") stores for `text` (bits 32 or 64), or null
 * where sscanf would not return exactly 1. `text` ends at its first NUL, as in C.
 */
export function scanUnsigned(text: Buffer, bits: 32 | 64): bigint | null {
  const nul = text.indexOf(0);
  const s = nul >= 0 ? text.subarray(0, nul) : text;
  let i = 0;
  while (i < s.length && isCSpace(s[i])) i++;
  let negative = false;
  if (s[i] === 0x2b || s[i] === 0x2d) negative = s[i++] === 0x2d;
  const start = i;
  while (i < s.length && s[i] >= 0x30 && s[i] <= 0x39) i++;
  if (i === start || i !== s.length) return null;
  const digits = s.toString('latin1', start, i).replace(/^0+/, '');
  // More than 20 significant digits is certainly above 2^64-1; skip the BigInt work.
  let value = digits.length > 20 ? ULONG_MAX + 1n : BigInt('0' + digits);
  if (value > ULONG_MAX) value = ULONG_MAX;
  else if (negative) value = BigInt.asUintN(64, -value);
  return BigInt.asUintN(bits, value);
}

/** An INT attribute value: the unsigned 32-bit result read back as a C int. */
export function scanInt(text: Buffer): number | null {
  const v = scanUnsigned(text, 32);
  return v === null ? null : Number(BigInt.asIntN(32, v));
}

/** A LONG attribute value: the unsigned 64-bit result read back as a C long. */
export function scanLong(text: Buffer): bigint | null {
  const v = scanUnsigned(text, 64);
  return v === null ? null : BigInt.asIntN(64, v);
}
