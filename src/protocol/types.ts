/*
 * types.ts - shared vocabulary of the attribute codec (Postfix src/util/attr.h).
 *
 * What a sender writes (OutAttr), what a receiver asks for (Wanted), what a scan
 * returns (ScanResult), the scan flags, the three wire formats, and the byte
 * source the incremental reader pulls from (ChunkSource).
 *
 * Exports: ATTR_FLAG, ATTR_HASH_LIMIT, AttrFormat, OutAttr, Wanted, ScanValue,
 * ScanResult, ChunkSource.
 */

/** Scan flags, same bit values as Postfix's ATTR_FLAG_* (any other bit is a panic). */
export const ATTR_FLAG = {
  NONE: 0,
  /** Warn when the list ends before every wanted attribute was seen. */
  MISSING: 1,
  /** Warn and stop at an attribute that was not asked for (its value stays unread). */
  EXTRA: 2,
  /** Stop after the last wanted item without reading the list terminator. */
  MORE: 4,
  /** Replace non-printable bytes in string and hash values with '?'. */
  PRINTABLE: 8,
  STRICT: 3,
  ALL: 0x0f,
} as const;

/** At most this many entries are stored into one hash table by one scan. */
export const ATTR_HASH_LIMIT = 1024;

/** attr0: NUL-terminated (flush and all internal services); attr64: base64 lines; plain: name=value lines. */
export type AttrFormat = 'attr0' | 'attr64' | 'plain';

/**
 * One attribute as a sender writes it. Names, 'str' values and hash entries are C
 * strings on the wire: anything from the first NUL byte on is not sent.
 */
export type OutAttr =
  | { kind: 'str'; name: string; value: string | Buffer }
  /** Sent as the unsigned 32-bit value: -1 becomes "4294967295". */
  | { kind: 'int'; name: string; value: number }
  /** Sent as the unsigned 64-bit value. */
  | { kind: 'long'; name: string; value: number | bigint }
  | { kind: 'bool'; name: string; value: boolean }
  /** Arbitrary bytes, base64-encoded on the wire. */
  | { kind: 'data'; name: string; value: Buffer }
  /** A `{` ... `}` group of string entries, written in the given order. */
  | { kind: 'hash'; entries: Array<[string, string]> };

/**
 * One item a receiver asks for, in the order it expects them. 'streq' demands an
 * exact value and is not counted in the result. 'hash' takes a `{`...`}` group if
 * the next name is `{`, otherwise every remaining attribute up to the list
 * terminator (so it must then be the last item).
 */
export type Wanted =
  | { kind: 'str' | 'int' | 'long' | 'bool' | 'data'; name: string }
  | { kind: 'streq'; name: string; expected: string }
  | { kind: 'hash' };

/** str → string, int → number (signed 32-bit), long → bigint (signed 64-bit), bool → boolean, data → Buffer. */
export type ScanValue = string | number | bigint | boolean | Buffer;

export interface ScanResult {
  /** Attributes converted (streq excluded, each hash entry counts one); -1 = malformed input or I/O error. */
  count: number;
  /** Converted values by wanted name; a name wanted twice keeps the later value. */
  values: Map<string, ScanValue>;
  /**
   * The bytes of each 'str' value, before text decoding: a value that is not
   * valid UTF-8 decodes to latin1 text, which cannot be told apart from some
   * valid UTF-8, so byte-exact consumers (site names) read them here.
   */
  bytes: Map<string, Buffer>;
  /** Entries of all hash items of this scan. */
  hash: Map<string, string>;
  /** Names (or hash keys) whose value was longer than maxStringLength and was cut. */
  truncated: Set<string>;
}

/**
 * Where the reader gets bytes. read() resolves null at end of input; it may reject
 * with an Error whose `code` is 'ETIMEDOUT' (I/O timeout) or another errno code.
 */
export interface ChunkSource {
  read(): Promise<Buffer | null>;
}
