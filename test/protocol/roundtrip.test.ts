/*
 * roundtrip.test.ts - property tests: random attribute lists survive
 * serialize → scan in every format, and the reader's results (and warnings) do not
 * depend on how the input is cut into chunks.
 */
import test from 'ava';
import { serializeAttrs } from '../../src/protocol/serialize.js';
import { ATTR_FLAG, type AttrFormat, type OutAttr, type ScanValue, type Wanted } from '../../src/protocol/types.js';
import { REF_ATTR0, REF_SCANS } from './fixtures.js';
import { Rng, captureMessages, readAll, splitEvery, splitRandom } from './helpers.js';

const FORMATS: AttrFormat[] = ['attr0', 'attr64', 'plain'];
// ASCII, Latin-1, CJK and astral characters; the characters each format cannot carry are filtered out below.
const CHARS = [...'abcXYZ019 _-.:=@{}[]~\t\r\n\x01\x7f', 'é', 'ü', 'ß', '€', '中', '文', '😀'];

interface Case {
  attrs: OutAttr[];
  wanted: Wanted[];
  count: number;
  values: Map<string, ScanValue>;
  hash: Map<string, string>;
}

function text(rng: Rng, format: AttrFormat, min: number, isName: boolean): string {
  const banned = format === 'plain' ? (isName ? '\n=' : '\n') : '';
  let s = '';
  const len = rng.int(min, 12);
  while (s.length < len) {
    const c = rng.pick(CHARS);
    if (!banned.includes(c)) s += c;
  }
  return s;
}

/** A random list and what a scan asking for exactly its attributes must return. */
function randomCase(rng: Rng, format: AttrFormat): Case {
  const used = new Set<string>(['{', '}']);
  const fresh = (): string => {
    for (;;) {
      const s = text(rng, format, 1, true);
      if (!used.has(s)) {
        used.add(s);
        return s;
      }
    }
  };
  const c: Case = { attrs: [], wanted: [], count: 0, values: new Map(), hash: new Map() };
  const n = rng.int(0, 8);
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(['str', 'int', 'long', 'bool', 'data', 'hash'] as const);
    if (kind === 'hash') {
      const entries: Array<[string, string]> = [];
      for (let j = rng.int(0, 4); j > 0; j--) entries.push([fresh(), text(rng, format, 0, false)]);
      c.attrs.push({ kind: 'hash', entries });
      c.wanted.push({ kind: 'hash' });
      for (const [k, v] of entries) c.hash.set(k, v);
      c.count += entries.length;
      continue;
    }
    const name = fresh();
    let attr: OutAttr;
    let value: ScanValue;
    switch (kind) {
      case 'str':
        value = text(rng, format, 0, false);
        attr = { kind, name, value };
        break;
      case 'int':
        value = rng.int(-2147483648, 2147483647);
        attr = { kind, name, value };
        break;
      case 'long':
        value = BigInt.asIntN(64, (BigInt(rng.int(0, 2 ** 32 - 1)) << 32n) | BigInt(rng.int(0, 2 ** 32 - 1)));
        attr = { kind, name, value };
        break;
      case 'bool':
        value = rng.next() < 0.5;
        attr = { kind, name, value };
        break;
      case 'data':
        value = Buffer.from(Array.from({ length: rng.int(0, 40) }, () => rng.int(0, 255)));
        attr = { kind, name, value };
        break;
    }
    c.attrs.push(attr);
    c.wanted.push({ kind, name });
    c.values.set(name, value);
    c.count++;
  }
  return c;
}

for (const format of FORMATS) {
  test.serial(`${format}: 300 random lists round-trip, whole and in random chunks`, async (t) => {
    const rng = new Rng(0x5eed + format.length);
    for (let round = 0; round < 30; round++) {
      const cases = Array.from({ length: 10 }, () => randomCase(rng, format));
      const stream = Buffer.concat(cases.map((c) => serializeAttrs(format, c.attrs)));
      const scans = cases.map((c) => ({ flags: ATTR_FLAG.STRICT, wanted: c.wanted }));
      const whole = await captureMessages(() => readAll(format, [stream], scans));
      t.deepEqual(whole.messages, []);
      whole.result.forEach((r, i) => {
        const c = cases[i] as Case;
        t.is(r.count, c.count);
        t.deepEqual(r.values, c.values);
        t.deepEqual(r.hash, c.hash);
        t.is(r.truncated.size, 0);
      });
      const pieces = await readAll(format, splitRandom(stream, rng), scans);
      t.deepEqual(pieces, whole.result);
    }
  });
}

const ERROR_INPUTS: Array<[AttrFormat, string, Wanted[], number]> = [
  ['attr0', 'request\0add\0request\0x\0\0', [{ kind: 'str', name: 'request' }, { kind: 'str', name: 'site' }], ATTR_FLAG.STRICT],
  ['attr0', 'x\0partial', [{ kind: 'str', name: 'a' }], ATTR_FLAG.NONE],
  ['attr0', 'n\x007 \0\0', [{ kind: 'int', name: 'n' }], ATTR_FLAG.STRICT],
  ['attr0', 'a\x001\0b\0', [{ kind: 'str', name: 'a' }, { kind: 'hash' }], ATTR_FLAG.STRICT],
  ['attr64', 'c2l0ZQ==:YQ==:Yg==\n\n', [{ kind: 'str', name: 'site' }], ATTR_FLAG.STRICT],
  ['attr64', 'YWJj:Zm9*\n\n', [{ kind: 'str', name: 'abc' }], ATTR_FLAG.STRICT],
  ['plain', 'x=1\ny=2\n\n', [{ kind: 'str', name: 'a' }], ATTR_FLAG.MISSING],
  ['plain', '{\0\nk=v\nk=w\n}\0\nz=1\n\n', [{ kind: 'hash' }, { kind: 'str', name: 'a' }], ATTR_FLAG.STRICT],
];

test.serial('results and warnings are the same whole, byte by byte, and in random pieces', async (t) => {
  const rng = new Rng(99);
  const inputs: Array<[AttrFormat, Buffer, Array<{ flags: number; wanted: Wanted[] }>]> = ERROR_INPUTS.map(
    ([format, input, wanted, flags]) => [format, Buffer.from(input, 'latin1'), [{ flags, wanted }, { flags, wanted }]],
  );
  inputs.push(['attr0', REF_ATTR0, REF_SCANS]);
  for (const [format, bytes, scans] of inputs) {
    const whole = await captureMessages(() => readAll(format, [bytes], scans));
    const single = await captureMessages(() => readAll(format, splitEvery(bytes, 1), scans));
    t.deepEqual(single, whole, bytes.toString('latin1'));
    for (let i = 0; i < 10; i++) {
      const random = await captureMessages(() => readAll(format, splitRandom(bytes, rng), scans));
      t.deepEqual(random, whole, bytes.toString('latin1'));
    }
  }
});
