/*
 * serialize.ts - the sending half of the attribute codec (Postfix attr_print0.c,
 * attr_print64.c, attr_print_plain.c), producing the exact bytes those write.
 *
 *   attr0:  name NUL value NUL ... NUL                 (hash: "{" NUL k NUL v NUL ... "}" NUL)
 *   attr64: b64(name) ':' b64(value) LF ... LF         (hash: "ew==" LF ... "fQ==" LF)
 *   plain:  name '=' value LF ... LF                   (hash: "{" NUL LF ... "}" NUL LF)
 *
 * Numbers go out as unsigned decimal (int: 32-bit, long: 64-bit), booleans as 1/0
 * (plain: true/false), data as base64. Names, string values and hash entries are C
 * strings: bytes from the first NUL on are dropped, as strlen() does in C. Plain
 * format values are written raw (a LF inside would break the list, as in Postfix).
 * The plain group markers carry a stray NUL before the LF because Postfix writes
 * sizeof("{") bytes; receivers compare names as C strings, so it round-trips.
 *
 * Exports: serializeAttrs.
 */

import { base64Encode } from './base64.js';
import type { AttrFormat, OutAttr } from './types.js';

const NUL = Buffer.from([0]);
const LF = Buffer.from('\n');
const COLON = Buffer.from(':');
const EQUALS = Buffer.from('=');

/** The bytes C's strlen() would cover. */
function cString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const nul = bytes.indexOf(0);
  return nul >= 0 ? bytes.subarray(0, nul) : bytes;
}

function b64(bytes: Buffer): Buffer {
  return Buffer.from(base64Encode(bytes), 'latin1');
}

/** The value's text before format-specific framing: decimal, boolean, base64, or string bytes. */
function valueBytes(format: AttrFormat, attr: Exclude<OutAttr, { kind: 'hash' }>): Buffer {
  switch (attr.kind) {
    case 'str':
      return cString(attr.value);
    case 'int':
      if (!Number.isInteger(attr.value)) throw new RangeError(`int attribute ${attr.name}: not an integer`);
      return Buffer.from(BigInt.asUintN(32, BigInt(attr.value)).toString(), 'latin1');
    case 'long':
      if (typeof attr.value === 'number' && !Number.isInteger(attr.value)) {
        throw new RangeError(`long attribute ${attr.name}: not an integer`);
      }
      return Buffer.from(BigInt.asUintN(64, BigInt(attr.value)).toString(), 'latin1');
    case 'bool':
      if (format === 'plain') return Buffer.from(attr.value ? 'true' : 'false', 'latin1');
      return Buffer.from(attr.value ? '1' : '0', 'latin1');
    case 'data':
      return b64(attr.value);
  }
}

function pushPair(format: AttrFormat, out: Buffer[], name: Buffer, value: Buffer): void {
  switch (format) {
    case 'attr0':
      out.push(name, NUL, value, NUL);
      break;
    case 'attr64':
      out.push(b64(name), COLON, b64(value), LF);
      break;
    case 'plain':
      out.push(name, EQUALS, value, LF);
      break;
  }
}

function pushMarker(format: AttrFormat, out: Buffer[], marker: '{' | '}'): void {
  const m = Buffer.from(marker, 'latin1');
  switch (format) {
    case 'attr0':
      out.push(m, NUL);
      break;
    case 'attr64':
      out.push(b64(m), LF);
      break;
    case 'plain':
      out.push(m, NUL, LF);
      break;
  }
}

/**
 * Encodes one attribute list. Without `more` the list terminator is appended;
 * with it the caller continues the same list in a later call.
 */
export function serializeAttrs(format: AttrFormat, attrs: readonly OutAttr[], opts?: { more?: boolean }): Buffer {
  const out: Buffer[] = [];
  for (const attr of attrs) {
    if (attr.kind === 'hash') {
      pushMarker(format, out, '{');
      for (const [key, value] of attr.entries) pushPair(format, out, cString(key), cString(value));
      pushMarker(format, out, '}');
    } else {
      // attr64 sends base64 of every value's text; for data that text is the raw bytes (encoded once, not twice).
      const value = format === 'attr64' && attr.kind === 'data' ? attr.value : valueBytes(format, attr);
      pushPair(format, out, cString(attr.name), value);
    }
  }
  if (!opts?.more) out.push(format === 'attr0' ? NUL : LF);
  return Buffer.concat(out);
}
