/*
 * reader.ts - the receiving half of the attribute codec: Postfix's attr_scan0.c,
 * attr_scan64.c and attr_scan_plain.c (plus attr_scan_more*) as one pull-based,
 * incremental reader over a ChunkSource.
 *
 * scan() follows the C scanners step by step, including their warnings (word for
 * word, with streamName where C prints VSTREAM_PATH), their return counts and
 * where they leave the stream: an unexpected attribute under ATTR_FLAG_EXTRA stays
 * unread apart from its name, ATTR_FLAG_MORE leaves the terminator in place.
 *
 * Bytes are pulled from the source only when the buffer is empty, so a slow
 * consumer naturally slows the producer. Memory is bounded: a string is consumed
 * up to its terminator, but only its first maxStringLength bytes and its last
 * 4096 are kept, joined (the name is then listed in ScanResult.truncated): the
 * start is what log lines quote, the end is what parent-domain matching looks
 * at, so a cut site name still gets the verdict and warning of the whole one. A number, boolean or streq value
 * that was cut cannot be judged and is treated as malformed / not equal; C would
 * still accept e.g. 70000 leading zeros, which no real client sends.
 *
 * Text: names and values are C strings, as Postfix's consumers see them through
 * STR() - bytes from the first NUL on are ignored (only attr64/plain can carry a
 * NUL at all); data values keep every byte. Bytes become JS strings as UTF-8 when
 * they are valid UTF-8 (site names may be UTF-8), otherwise as latin1, which keeps
 * every byte recoverable with Buffer.from(s, 'latin1'); ScanResult.bytes keeps
 * each string's bytes too, for consumers that must judge bytes (a latin1 string
 * cannot be told from some valid UTF-8). Name matching compares
 * bytes, not decoded strings. ATTR_FLAG_PRINTABLE masks as Postfix does with its
 * default util_utf8_enable = 0: every byte outside 0x20..0x7e becomes '?'.
 *
 * One operation (scan, scanMore, readNullTerminated) at a time per reader.
 *
 * Deliberate difference from C: after end-of-input or an I/O error the reader
 * never calls source.read() again (C would retry the read system call, and get the
 * same answer from a socket). A timeout stays remembered, as VSTREAM's flag does,
 * so later warnings say "timeout" too.
 *
 * Exports: AttrReader, AttrReaderOptions, KEPT_TAIL.
 */

import { isUtf8 } from 'node:buffer';
import { msg } from '../util/msg.js';
import { Base64StreamDecoder, type ByteSink } from './base64.js';
import { scanInt, scanLong, scanUnsigned } from './number.js';
import { ATTR_FLAG, ATTR_HASH_LIMIT } from './types.js';
import type { AttrFormat, ChunkSource, ScanResult, ScanValue, Wanted } from './types.js';

export interface AttrReaderOptions {
  /** Used in warnings where Postfix prints the stream's path, e.g. "flush socket". */
  streamName: string;
  /** Bytes kept per string; longer strings are consumed but cut. Default 65536. */
  maxStringLength?: number;
}

const EOF = -1;
const NUL = 0x00;
const LF = 0x0a;
const COLON = 0x3a;
const EQUALS = 0x3d;
const OPEN = Buffer.from('{');
const CLOSE = Buffer.from('}');
const CTX_NAME = 'input attribute name';
const CTX_VALUE = 'input attribute value';
const MYNAME: Record<AttrFormat, string> = { attr0: 'attr_scan0', attr64: 'attr_scan64', plain: 'attr_scan_plain' };

/** One name or value as read: the kept (decoded) bytes, the full decoded length, and the byte that ended it. */
interface Field {
  bytes: Buffer;
  length: number;
  end: number;
}

type ScalarWanted = Exclude<Wanted, { kind: 'hash' }>;
/** counted/uncounted: converted (streq does not count); stop: return the count so far; error: return -1. */
type Outcome = 'counted' | 'uncounted' | 'stop' | 'error';

/** Bytes kept from the end of a string that was cut (see the header). */
export const KEPT_TAIL = 4096;

/**
 * Collects the first `limit` bytes of what is written to it and, once past
 * that, the last KEPT_TAIL bytes; counts all of it. A limit of 0 keeps nothing.
 */
class Keeper implements ByteSink {
  private parts: Buffer[] = [];
  private tail: Buffer = Buffer.alloc(0);
  kept = 0;
  length = 0;
  constructor(private readonly limit: number) {}

  write(part: Buffer): void {
    this.length += part.length;
    let rest = part;
    if (this.kept < this.limit && part.length > 0) {
      const take = part.subarray(0, this.limit - this.kept);
      this.parts.push(take);
      this.kept += take.length;
      rest = part.subarray(take.length);
    }
    if (this.limit > 0 && rest.length > 0) {
      const joined = this.tail.length > 0 ? Buffer.concat([this.tail, rest]) : rest;
      this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - KEPT_TAIL)));
      this.kept = this.limit + this.tail.length;
    }
  }

  bytes(): Buffer {
    const parts = this.tail.length > 0 ? [...this.parts, this.tail] : this.parts;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

/** What C code sees through STR(): the bytes before the first NUL. */
function cstr(bytes: Buffer): Buffer {
  const nul = bytes.indexOf(NUL);
  return nul >= 0 ? bytes.subarray(0, nul) : bytes;
}

/** The C string of a field, and whether it is complete (a NUL inside the kept part makes a cut harmless). */
function cText(field: Field): { bytes: Buffer; whole: boolean } {
  const bytes = cstr(field.bytes);
  return { bytes, whole: bytes.length < field.bytes.length || field.length === field.bytes.length };
}

function decodeText(bytes: Buffer): string {
  return bytes.toString(isUtf8(bytes) ? 'utf8' : 'latin1');
}

/** Postfix printable() with util_utf8_enable off; returns a copy. */
function printable(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) {
    if (out[i] < 0x20 || out[i] > 0x7e) out[i] = 0x3f;
  }
  return out;
}

export class AttrReader {
  private readonly format: AttrFormat;
  private readonly source: ChunkSource;
  private readonly path: string;
  private readonly limit: number;
  /** Unread input; the first chunk is consumed up to `head`. */
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  /** The string being assembled, counted by bufferedBytes(). */
  private current: Keeper | null = null;
  private atEnd = false;
  private timedOut = false;
  private failure: Error | null = null;

  constructor(format: AttrFormat, source: ChunkSource, opts: AttrReaderOptions) {
    const limit = opts.maxStringLength ?? 65536;
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`bad maxStringLength: ${limit}`);
    this.format = format;
    this.source = source;
    this.path = opts.streamName;
    this.limit = limit;
  }

  /** Puts bytes back in front of the unread input (e.g. a chunk the caller read to size up the request). */
  unshift(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.head > 0) {
      this.chunks[0] = this.chunks[0].subarray(this.head);
      this.head = 0;
    }
    this.chunks.unshift(chunk);
    this.buffered += chunk.length;
  }

  /** Bytes the reader holds right now: unread input plus the kept part of a string being read. */
  bufferedBytes(): number {
    return this.buffered + (this.current?.kept ?? 0);
  }

  /** The error the source rejected with, if any (for "%m"-style messages). */
  lastError(): Error | null {
    return this.failure;
  }

  /** Receives one attribute list (or part of one, with ATTR_FLAG.MORE); see ScanResult. */
  async scan(flags: number, wanted: readonly Wanted[]): Promise<ScanResult> {
    if ((flags & ~ATTR_FLAG.ALL) !== 0) {
      msg.panic(`${MYNAME[this.format]}: bad flags: 0x${(flags >>> 0).toString(16)}`);
    }
    const result: ScanResult = { count: 0, values: new Map(), bytes: new Map(), hash: new Map(), truncated: new Set() };
    // End-of-input before anything else is a clean end, not an error.
    if ((await this.peekByte()) !== EOF) result.count = await this.scanList(flags, wanted, result);
    return result;
  }

  /** attr_scan_more: 0 = list terminator (consumed), 1 = more attributes follow, -1 = end of input. */
  async scanMore(): Promise<-1 | 0 | 1> {
    const b = await this.peekByte();
    if (b === EOF) return -1;
    if (b === (this.format === 'attr0' ? NUL : LF)) {
      this.consume(1);
      return 0;
    }
    return 1;
  }

  /** Trigger mode: one string up to NUL or end of input; null if not a single byte could be read. */
  async readNullTerminated(): Promise<string | null> {
    const keeper = new Keeper(this.limit);
    this.current = keeper;
    const end = await this.readToken(NUL, -1, keeper);
    this.current = null;
    return end === EOF && keeper.length === 0 ? null : decodeText(keeper.bytes());
  }

  // ---- the scanner proper ----

  private async scanList(flags: number, wanted: readonly Wanted[], result: ScanResult): Promise<number> {
    const hashKeys = new Set<string>();
    let conversions = 0;
    let next = 0;
    /** The scalar item being looked for; null while the terminator or a hash is wanted. */
    let item: ScalarWanted | null = null;
    /** hash: taking every attribute up to the terminator; group: inside "{" ... "}". */
    let mode: 'item' | 'hash' | 'group' = 'item';
    let wantedName = '';

    for (;;) {
      if (mode === 'item') {
        const w = next < wanted.length ? wanted[next++] : null;
        item = null;
        if (w === null) {
          if (flags & ATTR_FLAG.MORE) return conversions;
          wantedName = '(list terminator)';
        } else if (w.kind === 'hash') {
          mode = 'hash';
          wantedName = '(any attribute name or list terminator)';
        } else {
          item = w;
          wantedName = w.name;
        }
      }

      // Find the next attribute of interest, skipping (or, with EXTRA, stopping at) others.
      let name: Field | null = null;
      let groupClosed = false;
      while (name === null && !groupClosed) {
        const f = await this.readField(true, false);
        if (f === null) return -1;
        if (f.length === 0 && (this.format === 'attr0' || f.end === LF)) {
          if ((item === null && mode === 'item') || mode === 'hash') return conversions;
          if (flags & ATTR_FLAG.MISSING) msg.warn(`missing attribute ${wantedName} in input from ${this.path}`);
          return conversions;
        }
        const key = cstr(f.bytes);
        // Group markers count only as a whole name field (in attr64/plain: one without a value).
        const bare = this.format === 'attr0' || f.end === LF;
        if (mode === 'hash' && bare && key.equals(OPEN)) {
          mode = 'group';
          wantedName = "(any attribute name or '}')";
        } else if (mode === 'group' && bare && key.equals(CLOSE)) {
          mode = 'item';
          groupClosed = true;
        } else if (mode !== 'item' || (item !== null && key.equals(Buffer.from(item.name)))) {
          name = f;
        } else if (flags & ATTR_FLAG.EXTRA) {
          msg.warn(`unexpected attribute ${decodeText(key)} from ${this.path} (expecting: ${wantedName})`);
          return conversions;
        } else {
          await this.skipValue(f);
        }
      }
      if (name === null) continue;

      const outcome =
        mode === 'item'
          ? await this.convert(flags, item as ScalarWanted, name, result)
          : await this.hashEntry(flags, name, hashKeys, result);
      if (outcome === 'error') return -1;
      if (outcome === 'stop') return conversions;
      if (outcome === 'counted') conversions++;
    }
  }

  private async convert(flags: number, item: ScalarWanted, name: Field, result: ScanResult): Promise<Outcome> {
    switch (item.kind) {
      case 'int':
      case 'long':
      case 'bool': {
        // attr_scan_plain says "number" for a boolean without value, attr_scan64 "boolean".
        const what = item.kind === 'bool' && this.format === 'attr64' ? 'boolean' : 'number';
        const v = await this.value(name, what, false);
        if (v === null) return 'error';
        const parsed = this.numeric(item.kind, v);
        if (parsed === null || !this.single(name, v)) return 'error';
        result.values.set(item.name, parsed);
        return 'counted';
      }
      case 'str': {
        const v = await this.value(name, 'string', false);
        if (v === null || !this.single(name, v)) return 'error';
        const text = cText(v);
        const bytes = flags & ATTR_FLAG.PRINTABLE ? printable(text.bytes) : text.bytes;
        result.values.set(item.name, decodeText(bytes));
        result.bytes.set(item.name, bytes);
        if (!text.whole) result.truncated.add(item.name);
        return 'counted';
      }
      case 'data': {
        const v = await this.value(name, 'data', true);
        if (v === null || !this.single(name, v)) return 'error';
        result.values.set(item.name, v.bytes);
        if (v.length > v.bytes.length) result.truncated.add(item.name);
        return 'counted';
      }
      case 'streq': {
        const v = await this.value(name, 'string', false);
        if (v === null || !this.single(name, v)) return 'error';
        const text = cText(v);
        if (!text.whole || !text.bytes.equals(Buffer.from(item.expected))) {
          msg.warn(
            `unexpected ${decodeText(cstr(name.bytes))} ${decodeText(text.bytes)} from ${this.path}` +
              ` (expected: ${item.expected})`,
          );
          return 'error';
        }
        return 'uncounted';
      }
    }
  }

  private async hashEntry(flags: number, name: Field, keys: Set<string>, result: ScanResult): Promise<Outcome> {
    const v = await this.value(name, 'string', false);
    if (v === null || !this.single(name, v)) return 'error';
    let key = cstr(name.bytes);
    const text = cText(v);
    let value = text.bytes;
    if (flags & ATTR_FLAG.PRINTABLE) {
      key = printable(key);
      value = printable(value);
    }
    // Duplicates are judged on bytes; latin1 maps bytes to a string one to one.
    const rawKey = key.toString('latin1');
    if (keys.has(rawKey)) {
      if (flags & ATTR_FLAG.EXTRA) {
        msg.warn(`duplicate attribute ${decodeText(key)} in input from ${this.path}`);
        return 'stop';
      }
      // Without EXTRA the repeat is ignored, yet C still counts it.
    } else if (keys.size >= ATTR_HASH_LIMIT) {
      msg.warn(`attribute count exceeds limit ${ATTR_HASH_LIMIT} in input from ${this.path}`);
      return 'stop';
    } else {
      keys.add(rawKey);
      const k = decodeText(key);
      result.hash.set(k, decodeText(value));
      if (!text.whole) result.truncated.add(k);
    }
    return 'counted';
  }

  /** Converts an int/long/bool value, warning as Postfix does when it is malformed. */
  private numeric(kind: 'int' | 'long' | 'bool', v: Field): ScanValue | null {
    const text = cText(v);
    const shown = (): string => decodeText(text.bytes.subarray(0, 100));
    if (kind === 'bool' && this.format === 'plain') {
      const word = text.whole ? text.bytes.toString('latin1') : '';
      if (word === 'true' || word === 'false') return word === 'true';
    } else {
      let n: number | bigint | null = null;
      if (text.whole) {
        if (kind === 'int') n = scanInt(text.bytes);
        else if (kind === 'long') n = scanLong(text.bytes);
        else n = scanUnsigned(text.bytes, 32);
      }
      if (n === null) {
        msg.warn(`malformed numerical data from ${this.path} while reading ${CTX_VALUE}: ${shown()}`);
        return null;
      }
      if (kind !== 'bool') return n;
      if (n === 0n || n === 1n) return n === 1n;
    }
    msg.warn(`malformed boolean value from ${this.path} while reading ${CTX_VALUE}: ${shown()}`);
    return null;
  }

  /** Reads the value belonging to `name`; in attr64/plain the name must have ended in ':' / '='. */
  private async value(name: Field, what: string, data: boolean): Promise<Field | null> {
    if (this.format !== 'attr0' && name.end !== (this.format === 'attr64' ? COLON : EQUALS)) {
      msg.warn(`missing value for ${what} attribute ${decodeText(cstr(name.bytes))} from ${this.path}`);
      return null;
    }
    return this.readField(false, data);
  }

  /** attr64 only: a value ending in ':' instead of LF is a multi-valued attribute. */
  private single(name: Field, v: Field): boolean {
    if (this.format === 'attr64' && v.end !== LF) {
      msg.warn(`multiple values for attribute ${decodeText(cstr(name.bytes))} from ${this.path}`);
      return false;
    }
    return true;
  }

  /** Skips the value of an attribute nobody asked for, keeping none of it. */
  private async skipValue(name: Field): Promise<void> {
    if (this.format === 'attr0') {
      // C reads it with its normal string reader: end-of-input here already warns, and
      // the following name read warns again and fails the scan.
      await this.readField(false, false, 0);
    } else if (name.end !== LF) {
      await this.readToken(LF, -1, new Keeper(0));
    }
  }

  /**
   * Reads one name or value field, decoding base64 where the format calls for it.
   * Warns and returns null at end of input, on an I/O error, or on bad base64.
   */
  private async readField(isName: boolean, data: boolean, limit = this.limit): Promise<Field | null> {
    const context = isName ? CTX_NAME : CTX_VALUE;
    const keeper = new Keeper(limit);
    const decoder = this.format === 'attr64' || data ? new Base64StreamDecoder(keeper) : null;
    let stopA = NUL;
    let stopB = -1;
    if (this.format === 'attr64') [stopA, stopB] = [COLON, LF];
    else if (this.format === 'plain') [stopA, stopB] = isName ? [EQUALS, LF] : [LF, -1];

    this.current = keeper;
    const end = await this.readToken(stopA, stopB, decoder ?? keeper);
    this.current = null;

    if (end === EOF) {
      const rawLength = decoder ? decoder.rawLength : keeper.length;
      // attr0 tells a cut-off string apart from no string at all; the others do not.
      if (this.format === 'attr0' && rawLength > 0) {
        msg.warn(`unexpected end-of-input from ${this.path} while reading ${context}`);
      } else {
        const why = this.timedOut ? 'timeout' : 'premature end-of-input';
        msg.warn(`${why} on ${this.path} while reading ${context}`);
      }
      return null;
    }
    if (decoder && !decoder.finish()) {
      const raw = decodeText(cstr(decoder.rawHead()));
      if (this.format === 'attr64') msg.warn(`malformed base64 data from ${this.path}: ${raw}`);
      else msg.warn(`malformed base64 data from ${this.path} while reading ${context}: ${raw}`);
      return null;
    }
    return { bytes: keeper.bytes(), length: keeper.length, end };
  }

  // ---- byte buffer ----

  /** Feeds `sink` up to the first stopA/stopB byte, consumes that byte and returns it, or EOF. */
  private async readToken(stopA: number, stopB: number, sink: ByteSink): Promise<number> {
    for (;;) {
      if (this.buffered === 0 && !(await this.fill())) return EOF;
      const chunk = this.chunks[0];
      const from = this.head;
      let at = -1;
      if (stopB < 0) {
        at = chunk.indexOf(stopA, from);
      } else {
        // One pass for two stop bytes; two indexOf calls could rescan the chunk per field.
        for (let i = from; i < chunk.length; i++) {
          const b = chunk[i];
          if (b === stopA || b === stopB) {
            at = i;
            break;
          }
        }
      }
      if (at >= 0) {
        sink.write(chunk.subarray(from, at));
        this.consume(at + 1 - from);
        return chunk[at];
      }
      sink.write(chunk.subarray(from));
      this.consume(chunk.length - from);
    }
  }

  private async peekByte(): Promise<number> {
    if (this.buffered === 0 && !(await this.fill())) return EOF;
    return this.chunks[0][this.head];
  }

  private consume(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head >= this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Pulls chunks until one has bytes; false at end of input or after an I/O error. */
  private async fill(): Promise<boolean> {
    while (this.buffered === 0) {
      if (this.atEnd) return false;
      let chunk: Buffer | null;
      try {
        chunk = await this.source.read();
      } catch (err) {
        this.atEnd = true;
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.timedOut = (err as { code?: unknown } | null)?.code === 'ETIMEDOUT';
        return false;
      }
      if (chunk === null) {
        this.atEnd = true;
        return false;
      }
      if (chunk.length > 0) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
    return true;
  }
}
