/*
 * base64.ts - base64 exactly as Postfix's base64_code.c encodes and decodes it.
 *
 * Encoding is the standard alphabet with '=' padding and no line breaks, which is
 * what Node produces, so it delegates. Decoding follows Postfix's rules rather
 * than Node's lenient decoder: the length must be a multiple of 4, any byte
 * outside the alphabet fails, an '=' in the third or fourth position of a group
 * ends decoding (whatever follows is ignored), empty input gives empty output.
 *
 * The decoder is incremental (Base64StreamDecoder) so the attribute reader can
 * decode a huge value chunk by chunk while keeping only a bounded prefix.
 *
 * Exports: base64Encode, base64Decode, Base64StreamDecoder, ByteSink.
 */

/** Receives bytes piece by piece; pieces may be views into buffers the caller reuses. */
export interface ByteSink {
  write(part: Buffer): void;
}

const INVALID = 0xff;
const PAD = 0x3d; // '='
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const UN_B64 = (() => {
  const table = new Uint8Array(256).fill(INVALID);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

export function base64Encode(data: Buffer): string {
  return data.toString('base64');
}

/** Decodes with Postfix's rules; null where Postfix's base64_decode() fails. */
export function base64Decode(input: Buffer | string): Buffer | null {
  const out: Buffer[] = [];
  const decoder = new Base64StreamDecoder({ write: (part) => out.push(Buffer.from(part)) });
  decoder.write(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
  return decoder.finish() ? Buffer.concat(out) : null;
}

/**
 * Incremental Postfix base64 decoder. Feed the encoded text with write(); decoded
 * bytes go to `output` as they become available; finish() tells whether the whole
 * text was valid. It also remembers the first 100 encoded bytes, because Postfix's
 * "malformed base64 data" warning quotes them.
 */
export class Base64StreamDecoder implements ByteSink {
  private readonly output: ByteSink;
  private readonly group = new Uint8Array(4);
  private groupLen = 0;
  private stopped = false;
  private failed = false;
  private head: Buffer[] = [];
  private headLen = 0;
  /** Number of encoded bytes seen so far. */
  rawLength = 0;

  constructor(output: ByteSink) {
    this.output = output;
  }

  write(part: Buffer): void {
    this.rawLength += part.length;
    if (this.headLen < 100) {
      const take = part.subarray(0, 100 - this.headLen);
      this.head.push(Buffer.from(take));
      this.headLen += take.length;
    }
    if (this.stopped || this.failed) return;
    const out = Buffer.allocUnsafe(Math.floor((this.groupLen + part.length) / 4) * 3);
    let n = 0;
    for (let i = 0; i < part.length; i++) {
      const g = this.group;
      g[this.groupLen++] = part[i];
      if (this.groupLen < 4) continue;
      this.groupLen = 0;
      const c0 = UN_B64[g[0]];
      const c1 = UN_B64[g[1]];
      if (c0 === INVALID || c1 === INVALID) {
        this.failed = true;
        break;
      }
      out[n++] = ((c0 << 2) | (c1 >> 4)) & 0xff;
      if (g[2] === PAD) {
        this.stopped = true;
        break;
      }
      const c2 = UN_B64[g[2]];
      if (c2 === INVALID) {
        this.failed = true;
        break;
      }
      out[n++] = ((c1 << 4) | (c2 >> 2)) & 0xff;
      if (g[3] === PAD) {
        this.stopped = true;
        break;
      }
      const c3 = UN_B64[g[3]];
      if (c3 === INVALID) {
        this.failed = true;
        break;
      }
      out[n++] = ((c2 << 6) | c3) & 0xff;
    }
    if (n > 0 && !this.failed) this.output.write(out.subarray(0, n));
  }

  /** True if the complete input was valid Postfix base64. */
  finish(): boolean {
    return !this.failed && this.rawLength % 4 === 0;
  }

  /** The first (up to) 100 encoded bytes, for warnings. */
  rawHead(): Buffer {
    return Buffer.concat(this.head);
  }
}
