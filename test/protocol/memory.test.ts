/*
 * memory.test.ts - a 10 MB value fed in 64 KiB chunks is consumed but cut, and the
 * reader never holds much more than maxStringLength plus one chunk.
 */
import test from 'ava';
import { AttrReader, KEPT_TAIL } from '../../src/protocol/reader.js';
import { ATTR_FLAG, type AttrFormat, type ChunkSource, type Wanted } from '../../src/protocol/types.js';
import { captureMessages } from './helpers.js';

const CHUNK = 64 * 1024;
const BIG = 10 * 1024 * 1024;
const LIMIT = 65536;

/**
 * prefix, then BIG bytes of `fill` in fresh 64 KiB chunks, then suffix. Records the
 * reader's bufferedBytes() at every read, i.e. whenever it asked for more.
 */
function bigSource(prefix: string, fill: string, suffix: string, probe: () => number) {
  const stats = { reads: 0, maxHeld: 0 };
  let sent = -1;
  const source: ChunkSource = {
    read(): Promise<Buffer | null> {
      stats.reads++;
      stats.maxHeld = Math.max(stats.maxHeld, probe());
      if (sent < 0) {
        sent = 0;
        return Promise.resolve(Buffer.from(prefix, 'latin1'));
      }
      if (sent < BIG) {
        sent += CHUNK;
        return Promise.resolve(Buffer.alloc(CHUNK, fill, 'latin1'));
      }
      if (sent === BIG) {
        sent++;
        return Promise.resolve(Buffer.from(suffix, 'latin1'));
      }
      return Promise.resolve(null);
    },
  };
  return { source, stats };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

const CASES: Array<[string, AttrFormat, string, string, string, Wanted, number]> = [
  ['attr0 string', 'attr0', 'big\0', 'x', '\0next\0ok\0\0', { kind: 'str', name: 'big' }, LIMIT + KEPT_TAIL],
  ['attr0 data', 'attr0', 'big\0', 'eHh4', '\0next\0ok\0\0', { kind: 'data', name: 'big' }, LIMIT + KEPT_TAIL],
  ['attr64 string', 'attr64', `${b64('big')}:`, 'eHh4', `\n${b64('next')}:${b64('ok')}\n\n`, { kind: 'str', name: 'big' }, LIMIT + KEPT_TAIL],
  ['plain string', 'plain', 'big=', 'x', '\nnext=ok\n\n', { kind: 'str', name: 'big' }, LIMIT + KEPT_TAIL],
  ['attr0 hash value', 'attr0', 'big\0', 'x', '\0next\0ok\0\0', { kind: 'hash' }, LIMIT + KEPT_TAIL],
];

for (const [label, format, prefix, fill, suffix, want, kept] of CASES) {
  test.serial(`${label}: 10 MB value is consumed, cut to its head and tail, memory stays bounded`, async (t) => {
    let reader: AttrReader | null = null;
    const { source, stats } = bigSource(prefix, fill, suffix, () => reader?.bufferedBytes() ?? 0);
    reader = new AttrReader(format, source, { streamName: 's', maxStringLength: LIMIT });
    const wanted: Wanted[] = want.kind === 'hash' ? [want] : [want, { kind: 'str', name: 'next' }];
    const { result, messages } = await captureMessages(() => (reader as AttrReader).scan(ATTR_FLAG.STRICT, wanted));
    t.deepEqual(messages, []);
    t.is(result.count, 2);
    if (want.kind === 'hash') {
      t.is(result.hash.get('big')?.length, kept);
      t.is(result.hash.get('next'), 'ok');
    } else {
      const value = result.values.get('big') as string | Buffer;
      t.is(value.length, kept);
      t.is(result.values.get('next'), 'ok');
    }
    t.deepEqual(result.truncated, new Set(['big']));
    t.true(stats.reads >= BIG / CHUNK, 'every chunk was pulled');
    t.true(stats.maxHeld <= LIMIT + KEPT_TAIL + CHUNK, `held at most ${stats.maxHeld} bytes`);
    t.is(reader.bufferedBytes(), 0);
  });
}

test.serial('a skipped 10 MB attribute keeps nothing', async (t) => {
  let reader: AttrReader | null = null;
  const { source, stats } = bigSource('big\0', 'x', '\0next\0ok\0\0', () => reader?.bufferedBytes() ?? 0);
  reader = new AttrReader('attr0', source, { streamName: 's', maxStringLength: LIMIT });
  const result = await reader.scan(ATTR_FLAG.MISSING, [{ kind: 'str', name: 'next' }]);
  t.is(result.count, 1);
  t.is(result.values.get('next'), 'ok');
  t.true(stats.maxHeld <= CHUNK, `held at most ${stats.maxHeld} bytes`);
});

test.serial('trigger mode is bounded too', async (t) => {
  let reader: AttrReader | null = null;
  const { source, stats } = bigSource('', 'W', '\0', () => reader?.bufferedBytes() ?? 0);
  reader = new AttrReader('attr0', source, { streamName: 's', maxStringLength: LIMIT });
  const request = await reader.readNullTerminated();
  t.is(request?.length, LIMIT + KEPT_TAIL);
  t.true(stats.maxHeld <= LIMIT + KEPT_TAIL + CHUNK);
});
