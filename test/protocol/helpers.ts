/*
 * helpers.ts - shared test tools for the protocol codec tests.
 *
 * Exports: hexBytes (parse a hexdump as printed in the spec), Rng (tiny seeded
 * PRNG), chunkSource (a ChunkSource over fixed chunks), splitEvery / splitRandom,
 * captureMessages (collect msg output), readAll (run several scans in a row).
 */

import { msg, type MsgSeverity } from '../../src/util/msg.js';
import { AttrReader } from '../../src/protocol/reader.js';
import type { AttrFormat, ChunkSource, ScanResult, Wanted } from '../../src/protocol/types.js';

/**
 * Bytes from a hexdump: either "0000  70 72 ..  ascii" lines (offset and ascii
 * column are dropped) or plain space-separated hex pairs.
 */
export function hexBytes(dump: string): Buffer {
  const pairs: string[] = [];
  for (const line of dump.split('\n')) {
    const m = /^\s*[0-9a-f]{4}\s{2}((?:[0-9a-f]{2} )*[0-9a-f]{2})/i.exec(line);
    const body = m ? (m[1] as string) : line;
    for (const tok of body.trim().split(/\s+/)) if (/^[0-9a-f]{2}$/i.test(tok)) pairs.push(tok);
  }
  return Buffer.from(pairs.join(''), 'hex');
}

/** mulberry32: small, seeded, good enough to generate test cases reproducibly. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
}

/**
 * A ChunkSource handing out `chunks` in order, then null - or, when `end` is an
 * Error, rejecting with it. `onRead` sees every call (for backpressure checks).
 */
export function chunkSource(chunks: readonly Buffer[], end: Error | null = null, onRead?: () => void): ChunkSource {
  let i = 0;
  return {
    read(): Promise<Buffer | null> {
      onRead?.();
      if (i < chunks.length) return Promise.resolve(chunks[i++] as Buffer);
      return end ? Promise.reject(end) : Promise.resolve(null);
    },
  };
}

export function splitEvery(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

export function splitRandom(data: Buffer, rng: Rng): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    const n = rng.int(1, Math.max(1, Math.min(40, data.length - i)));
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

export function errnoError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** Runs `fn` while recording every message as "severity: text". */
export async function captureMessages<T>(fn: () => Promise<T>): Promise<{ result: T; messages: string[] }> {
  const messages: string[] = [];
  const remove = msg.addSink((severity: MsgSeverity, text: string) => messages.push(`${severity}: ${text}`));
  try {
    return { result: await fn(), messages };
  } finally {
    remove();
  }
}

/** Scans the given requests one after another from `chunks`, as one connection would. */
export async function readAll(
  format: AttrFormat,
  chunks: readonly Buffer[],
  scans: ReadonlyArray<{ flags: number; wanted: Wanted[] }>,
  streamName = 'unknown_stream',
  end: Error | null = null,
): Promise<ScanResult[]> {
  const reader = new AttrReader(format, chunkSource(chunks, end), { streamName });
  const results: ScanResult[] = [];
  for (const s of scans) results.push(await reader.scan(s.flags, s.wanted));
  return results;
}
