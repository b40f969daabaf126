/*
 * reader.test.ts - AttrReader behaviour beyond the reference vectors: flags,
 * hash tables, per-format checks, end of input and I/O errors, warnings word for
 * word (spec §1.3, checked against attr_scan0.c / attr_scan64.c / attr_scan_plain.c).
 */
import test from 'ava';
import { FatalError } from '../../src/util/msg.js';
import { AttrReader, KEPT_TAIL } from '../../src/protocol/reader.js';
import { ATTR_FLAG, type AttrFormat, type ScanResult, type Wanted } from '../../src/protocol/types.js';
import { captureMessages, chunkSource, errnoError } from './helpers.js';

const { NONE, MISSING, EXTRA, STRICT, MORE, PRINTABLE } = ATTR_FLAG;

async function scan(
  format: AttrFormat,
  input: string | Buffer,
  flags: number,
  wanted: Wanted[],
  opts: { end?: Error; maxStringLength?: number } = {},
): Promise<{ result: ScanResult; messages: string[]; reader: AttrReader }> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const reader = new AttrReader(format, chunkSource(bytes.length ? [bytes] : [], opts.end ?? null), {
    streamName: 's',
    ...(opts.maxStringLength === undefined ? {} : { maxStringLength: opts.maxStringLength }),
  });
  const { result, messages } = await captureMessages(() => reader.scan(flags, wanted));
  return { result, messages, reader };
}

const str = (name: string): Wanted => ({ kind: 'str', name });

// ---- list structure and flags ----

test.serial('MISSING off: an early terminator returns the count quietly', async (t) => {
  const { result, messages } = await scan('attr0', 'a\x001\0\0', NONE, [str('a'), str('b')]);
  t.is(result.count, 1);
  t.deepEqual(messages, []);
});

test.serial('EXTRA off: unwanted attributes are skipped, also after the last wanted one', async (t) => {
  const { result, messages, reader } = await scan('attr0', 'x\0y\0a\x001\0z\0w\0\0rest', NONE, [str('a')]);
  t.is(result.count, 1);
  t.is(result.values.get('a'), '1');
  t.deepEqual(messages, []);
  t.is(await reader.readNullTerminated(), 'rest');
});

test.serial('an empty wanted list just reads to the terminator', async (t) => {
  const { result, reader } = await scan('attr0', '\0next', STRICT, []);
  t.is(result.count, 0);
  t.is(await reader.readNullTerminated(), 'next');
});

test.serial('MORE with an empty wanted list reads nothing', async (t) => {
  const { result, reader } = await scan('attr0', 'a\0b\0\0', STRICT | MORE, []);
  t.is(result.count, 0);
  t.is(reader.bufferedBytes(), 5);
});

test.serial('bad flag bits panic', async (t) => {
  for (const [format, name] of [
    ['attr0', 'attr_scan0'],
    ['attr64', 'attr_scan64'],
    ['plain', 'attr_scan_plain'],
  ] as const) {
    const reader = new AttrReader(format, chunkSource([]), { streamName: 's' });
    const { messages } = await captureMessages(async () => {
      await t.throwsAsync(reader.scan(0x10, []), { instanceOf: FatalError });
    });
    t.deepEqual(messages, [`panic: ${name}: bad flags: 0x10`]);
  }
});

test.serial('scanMore: terminator consumed (0), more (1), end of input (-1)', async (t) => {
  for (const [format, term] of [
    ['attr0', '\0'],
    ['attr64', '\n'],
    ['plain', '\n'],
  ] as const) {
    const r = new AttrReader(format, chunkSource([Buffer.from(`${term}x`)]), { streamName: 's' });
    t.is(await r.scanMore(), 0);
    t.is(await r.scanMore(), 1);
    t.is(r.bufferedBytes(), 1);
    t.is(await r.readNullTerminated(), 'x');
    t.is(await r.scanMore(), -1);
  }
});

// ---- value conversions ----

test.serial('malformed numbers and booleans (attr0)', async (t) => {
  const cases: Array<[string, Wanted, string]> = [
    ['n\x007 \0\0', { kind: 'int', name: 'n' }, 'malformed numerical data from s while reading input attribute value: 7 '],
    ['n\0\0\0', { kind: 'long', name: 'n' }, 'malformed numerical data from s while reading input attribute value: '],
    ['b\x002\0\0', { kind: 'bool', name: 'b' }, 'malformed boolean value from s while reading input attribute value: 2'],
    ['b\0yes\0\0', { kind: 'bool', name: 'b' }, 'malformed numerical data from s while reading input attribute value: yes'],
    ['d\0Zg=\0\0', { kind: 'data', name: 'd' }, 'malformed base64 data from s while reading input attribute value: Zg='],
  ];
  for (const [input, want, warning] of cases) {
    const { result, messages } = await scan('attr0', input, STRICT, [want]);
    t.is(result.count, -1, input);
    t.deepEqual(messages, [`warning: ${warning}`]);
  }
});

test.serial('booleans go through "%u" first: 4294967297 is true', async (t) => {
  const { result } = await scan('attr0', 'b\x004294967297\0c\0 0\0\0', STRICT, [
    { kind: 'bool', name: 'b' },
    { kind: 'bool', name: 'c' },
  ]);
  t.is(result.count, 2);
  t.is(result.values.get('b'), true);
  t.is(result.values.get('c'), false);
});

test.serial('int values follow the glibc rules end to end', async (t) => {
  const { result } = await scan('attr0', 'a\0-1\0b\x0099999999999\0c\0 +7\0\0', STRICT, [
    { kind: 'int', name: 'a' },
    { kind: 'int', name: 'b' },
    { kind: 'int', name: 'c' },
  ]);
  t.deepEqual([...result.values.values()], [-1, 1215752191, 7]);
});

test.serial('streq mismatch fails the scan; a match does not count', async (t) => {
  const bad = await scan('attr0', 'protocol\0other\0\0', STRICT, [{ kind: 'streq', name: 'protocol', expected: 'p' }]);
  t.is(bad.result.count, -1);
  t.deepEqual(bad.messages, ['warning: unexpected protocol other from s (expected: p)']);
  const good = await scan('attr0', 'protocol\0p\0\0', STRICT, [{ kind: 'streq', name: 'protocol', expected: 'p' }]);
  t.is(good.result.count, 0);
  t.deepEqual(good.messages, []);
});

test.serial('PRINTABLE masks string and hash values (and keys), not data', async (t) => {
  const input = Buffer.concat([
    Buffer.from('s\0a'),
    Buffer.from([0x01, 0x62, 0xff]),
    Buffer.from('c\0d\0AP8=\0k'),
    Buffer.from([0x07]),
    Buffer.from('\0v\tw\0\0'),
  ]);
  const wanted: Wanted[] = [str('s'), { kind: 'data', name: 'd' }, { kind: 'hash' }];
  const { result } = await scan('attr0', input, STRICT | PRINTABLE, wanted);
  t.is(result.values.get('s'), 'a?b?c');
  t.deepEqual(result.values.get('d'), Buffer.from([0x00, 0xff]));
  t.deepEqual(result.hash, new Map([['k?', 'v?w']]));
  const plain = await scan('attr0', input, STRICT, wanted);
  t.is(plain.result.values.get('s'), 'a\x01b\xffc');
});

test.serial('text: valid UTF-8 decodes as UTF-8, anything else as latin1', async (t) => {
  const input = Buffer.concat([Buffer.from('a\0bücher.example\0b\0'), Buffer.from([0x62, 0xfc, 0]), Buffer.from([0])]);
  const { result } = await scan('attr0', input, STRICT, [str('a'), str('b')]);
  t.is(result.values.get('a'), 'bücher.example');
  t.is(result.values.get('b'), 'b\u00fc');
});

test.serial('names are matched on bytes', async (t) => {
  // 0xe9 alone is "é" in latin1 but not the UTF-8 name "é"
  const input = Buffer.concat([Buffer.from([0xe9, 0]), Buffer.from('x\0\0')]);
  const { result, messages } = await scan('attr0', input, STRICT, [str('é')]);
  t.is(result.count, 0);
  // (msg masks non-ASCII text unless smtputf8 logging is on)
  t.deepEqual(messages, ['warning: unexpected attribute ? from s (expecting: ?)']);
});

// ---- hash tables ----

test.serial('hash without a group takes the rest of the list; later wanted items are ignored', async (t) => {
  const { result } = await scan('attr0', 'a\x001\0b\x002\0c\x003\0\0', STRICT, [str('a'), { kind: 'hash' }, str('z')]);
  t.is(result.count, 3);
  t.deepEqual(result.hash, new Map([['b', '2'], ['c', '3']]));
});

test.serial('hash: "}" outside a group and "{" inside one are ordinary keys', async (t) => {
  const outside = await scan('attr0', '}\0x\0\0', STRICT, [{ kind: 'hash' }]);
  t.deepEqual(outside.result.hash, new Map([['}', 'x']]));
  const inside = await scan('attr0', '{\0{\0x\0}\0\0', STRICT, [{ kind: 'hash' }]);
  t.is(inside.result.count, 1);
  t.deepEqual(inside.result.hash, new Map([['{', 'x']]));
});

test.serial('hash: an empty group converts nothing and the scan goes on', async (t) => {
  const { result } = await scan('attr0', '{\0}\0a\x001\0\0', STRICT, [{ kind: 'hash' }, str('a')]);
  t.is(result.count, 1);
  t.is(result.hash.size, 0);
  t.is(result.values.get('a'), '1');
});

test.serial('hash: a group cut short by the terminator', async (t) => {
  const { result, messages } = await scan('attr0', '{\0a\0b\0\0', MISSING, [{ kind: 'hash' }]);
  t.is(result.count, 1);
  t.deepEqual(messages, ["warning: missing attribute (any attribute name or '}') in input from s"]);
});

test.serial('hash: duplicates are ignored but counted; with EXTRA they stop the scan', async (t) => {
  const quiet = await scan('attr0', 'k\x001\0k\x002\0\0', NONE, [{ kind: 'hash' }]);
  t.is(quiet.result.count, 2);
  t.deepEqual(quiet.result.hash, new Map([['k', '1']]));
  t.deepEqual(quiet.messages, []);
  const strict = await scan('attr0', 'k\x001\0k\x002\0\0', EXTRA, [{ kind: 'hash' }]);
  t.is(strict.result.count, 1);
  t.deepEqual(strict.messages, ['warning: duplicate attribute k in input from s']);
});

test.serial('hash: at most 1024 entries', async (t) => {
  const entries = Array.from({ length: 1030 }, (_, i) => `k${i}\0v\0`).join('');
  const { result, messages } = await scan('attr0', `${entries}\0`, NONE, [{ kind: 'hash' }]);
  t.is(result.count, 1024);
  t.is(result.hash.size, 1024);
  t.deepEqual(messages, ['warning: attribute count exceeds limit 1024 in input from s']);
});

test.serial('hash entries of two groups share one table', async (t) => {
  const { result } = await scan('attr0', '{\0a\x001\0}\0{\0a\x002\0b\x003\0}\0\0', NONE, [{ kind: 'hash' }, { kind: 'hash' }]);
  t.is(result.count, 3);
  t.deepEqual(result.hash, new Map([['a', '1'], ['b', '3']]));
});

// ---- attr64 specifics ----

const b64 = (s: string) => Buffer.from(s).toString('base64');

test.serial('attr64: missing value, multiple values, bad base64', async (t) => {
  const cases: Array<[string, Wanted, string]> = [
    [`${b64('site')}\n\n`, str('site'), 'missing value for string attribute site from s'],
    [`${b64('n')}\n\n`, { kind: 'int', name: 'n' }, 'missing value for number attribute n from s'],
    [`${b64('b')}\n\n`, { kind: 'bool', name: 'b' }, 'missing value for boolean attribute b from s'],
    [`${b64('d')}\n\n`, { kind: 'data', name: 'd' }, 'missing value for data attribute d from s'],
    [`${b64('h')}\n\n`, { kind: 'hash' }, 'missing value for string attribute h from s'],
    [`${b64('site')}:${b64('a')}:${b64('b')}\n\n`, str('site'), 'multiple values for attribute site from s'],
    [`${b64('n')}:${b64('x')}:\n\n`, { kind: 'int', name: 'n' }, 'malformed numerical data from s while reading input attribute value: x'],
    [`${b64('n')}:${b64('1')}:\n\n`, { kind: 'int', name: 'n' }, 'multiple values for attribute n from s'],
    [`abc:${b64('x')}\n\n`, str('site'), 'malformed base64 data from s: abc'],
    [`${b64('site')}:Zm9*\n\n`, str('site'), 'malformed base64 data from s: Zm9*'],
  ];
  for (const [input, want, warning] of cases) {
    const { result, messages } = await scan('attr64', input, STRICT, [want]);
    t.is(result.count, -1, input);
    t.deepEqual(messages, [`warning: ${warning}`], input);
  }
});

test.serial('attr64: a name ending in ":" is not a terminator, and group markers need LF', async (t) => {
  const { result } = await scan('attr64', `:${b64('v')}\new==:${b64('x')}\n\n`, STRICT, [{ kind: 'hash' }]);
  t.deepEqual(result.hash, new Map([['', 'v'], ['{', 'x']]));
});

test.serial('attr64: values are C strings, data keeps NUL bytes', async (t) => {
  const nul = Buffer.from('a\0b').toString('base64');
  const { result } = await scan('attr64', `${b64('s')}:${nul}\n${b64('d')}:${nul}\n\n`, STRICT, [
    str('s'),
    { kind: 'data', name: 'd' },
  ]);
  t.is(result.values.get('s'), 'a');
  t.deepEqual(result.values.get('d'), Buffer.from('a\0b'));
});

test.serial('attr64: unwanted attributes, with or without value, are skipped', async (t) => {
  const { result } = await scan('attr64', `${b64('x')}\n${b64('y')}:${b64('1')}\n${b64('a')}:${b64('2')}\n\n`, NONE, [str('a')]);
  t.is(result.count, 1);
  t.is(result.values.get('a'), '2');
});

// ---- plain specifics ----

test.serial('plain: missing value, malformed boolean and data', async (t) => {
  const cases: Array<[string, Wanted, string]> = [
    ['site\n\n', str('site'), 'missing value for string attribute site from s'],
    ['b\n\n', { kind: 'bool', name: 'b' }, 'missing value for number attribute b from s'],
    ['d\n\n', { kind: 'data', name: 'd' }, 'missing value for data attribute d from s'],
    ['b=yes\n\n', { kind: 'bool', name: 'b' }, 'malformed boolean value from s while reading input attribute value: yes'],
    ['b=1\n\n', { kind: 'bool', name: 'b' }, 'malformed boolean value from s while reading input attribute value: 1'],
    ['d=@@@@\n\n', { kind: 'data', name: 'd' }, 'malformed base64 data from s while reading input attribute value: @@@@'],
  ];
  for (const [input, want, warning] of cases) {
    const { result, messages } = await scan('plain', input, STRICT, [want]);
    t.is(result.count, -1, input);
    t.deepEqual(messages, [`warning: ${warning}`], input);
  }
});

test.serial('plain: "=" may appear in values, and names compare as C strings', async (t) => {
  const { result } = await scan('plain', 'a=b=c\n{\0\nk=v=w\n}\0\n\n', STRICT, [str('a'), { kind: 'hash' }]);
  t.is(result.count, 2);
  t.is(result.values.get('a'), 'b=c');
  t.deepEqual(result.hash, new Map([['k', 'v=w']]));
});

// ---- end of input and I/O errors ----

test.serial('end of input where a name should be', async (t) => {
  for (const [format, input] of [
    ['attr0', 'a\x001\0'],
    ['attr64', `${b64('a')}:${b64('1')}\n`],
    ['plain', 'a=1\n'],
  ] as const) {
    const { result, messages } = await scan(format, input, STRICT, [str('a'), str('b')]);
    t.is(result.count, -1);
    t.deepEqual(messages, ['warning: premature end-of-input on s while reading input attribute name'], format);
  }
});

test.serial('end of input inside a string: attr0 says "unexpected", the others "premature"', async (t) => {
  const a0 = await scan('attr0', 'a\0abc', STRICT, [str('a')]);
  t.deepEqual(a0.messages, ['warning: unexpected end-of-input from s while reading input attribute value']);
  const a0name = await scan('attr0', 'ab', STRICT, [str('a')]);
  t.deepEqual(a0name.messages, ['warning: unexpected end-of-input from s while reading input attribute name']);
  const a64 = await scan('attr64', `${b64('a')}:YWJj`, STRICT, [str('a')]);
  t.deepEqual(a64.messages, ['warning: premature end-of-input on s while reading input attribute value']);
  const plain = await scan('plain', 'a=abc', STRICT, [str('a')]);
  t.deepEqual(plain.messages, ['warning: premature end-of-input on s while reading input attribute value']);
  for (const r of [a0, a0name, a64, plain]) t.is(r.result.count, -1);
});

test.serial('timeout: "timeout on ..." and count -1; at the very start it is a quiet 0', async (t) => {
  const timeout = errnoError('ETIMEDOUT');
  const mid = await scan('attr0', 'request\0add\0', STRICT, [str('request'), str('site')], { end: timeout });
  t.is(mid.result.count, -1);
  t.deepEqual(mid.messages, ['warning: timeout on s while reading input attribute name']);
  t.is(mid.reader.lastError(), timeout);
  const start = await scan('attr0', '', STRICT, [str('request')], { end: timeout });
  t.is(start.result.count, 0);
  t.deepEqual(start.messages, []);
  // a timeout inside an attr0 string is reported as the cut-off string it leaves
  const inside = await scan('attr0', 'request\0ad', STRICT, [str('request')], { end: timeout });
  t.deepEqual(inside.messages, ['warning: unexpected end-of-input from s while reading input attribute value']);
  const plain = await scan('plain', 'request=ad', STRICT, [str('request')], { end: timeout });
  t.deepEqual(plain.messages, ['warning: timeout on s while reading input attribute value']);
});

test.serial('other I/O errors read as premature end-of-input; the source is not asked again', async (t) => {
  let reads = 0;
  const reset = errnoError('ECONNRESET');
  const base = chunkSource([Buffer.from('a\x001\0')], reset);
  const reader = new AttrReader('attr0', { read: () => (reads++, base.read()) }, { streamName: 's' });
  const { result, messages } = await captureMessages(() => reader.scan(STRICT, [str('a'), str('b')]));
  t.is(result.count, -1);
  t.deepEqual(messages, ['warning: premature end-of-input on s while reading input attribute name']);
  t.is(reader.lastError(), reset);
  t.is(await reader.scanMore(), -1);
  t.is(await reader.readNullTerminated(), null);
  t.is(reads, 2);
});

test.serial('attr0: end of input while skipping a value warns twice, as C does', async (t) => {
  const { result, messages } = await scan('attr0', 'x\0partial', NONE, [str('a')]);
  t.is(result.count, -1);
  t.deepEqual(messages, [
    'warning: unexpected end-of-input from s while reading input attribute value',
    'warning: premature end-of-input on s while reading input attribute name',
  ]);
});

test.serial('attr64/plain: end of input while skipping is quiet until the next name', async (t) => {
  const { messages } = await scan('plain', 'x=partial', NONE, [str('a')]);
  t.deepEqual(messages, ['warning: premature end-of-input on s while reading input attribute name']);
});

test.serial('readNullTerminated: up to NUL, up to EOF, empty string, nothing at all', async (t) => {
  const r = new AttrReader('attr0', chunkSource([Buffer.from('ab\0\0cd')]), { streamName: 's' });
  t.is(await r.readNullTerminated(), 'ab');
  t.is(await r.readNullTerminated(), '');
  t.is(await r.readNullTerminated(), 'cd');
  t.is(await r.readNullTerminated(), null);
});

// ---- truncation ----

test.serial('strings longer than maxStringLength keep their head and their last KEPT_TAIL bytes', async (t) => {
  const input = 'a\x000123456789\0d\0' + Buffer.from('0123456789').toString('base64') + '\0h\0abcdefghij\0b\0ok\0\0';
  const { result, messages } = await scan(
    'attr0',
    input,
    STRICT,
    [str('a'), { kind: 'data', name: 'd' }, { kind: 'hash' }],
    { maxStringLength: 8 },
  );
  t.is(result.count, 4);
  // Head (8) plus tail (KEPT_TAIL) covers these 10-byte values whole: nothing is cut.
  t.is(result.values.get('a'), '0123456789');
  t.deepEqual(result.values.get('d'), Buffer.from('0123456789'));
  t.deepEqual(result.hash, new Map([['h', 'abcdefghij'], ['b', 'ok']]));
  t.deepEqual(result.truncated, new Set());
  t.deepEqual(messages, []);
});

test.serial('a string longer than head and tail loses its middle and is reported cut', async (t) => {
  const long = `HEAD${'m'.repeat(10000)}${'t'.repeat(KEPT_TAIL)}`;
  const { result } = await scan('attr0', `a\0${long}\0\0`, STRICT, [str('a')], { maxStringLength: 4 });
  t.is(result.values.get('a'), `HEAD${'t'.repeat(KEPT_TAIL)}`);
  t.deepEqual(result.truncated, new Set(['a']));
});

test.serial('(unchanged) no warnings for cut values', async (t) => {
  const input = 'a\x000123456789\0\0';
  const { messages } = await scan('attr0', input, STRICT, [str('a')], { maxStringLength: 8 });
  t.deepEqual(messages, []);
});

test.serial('a cut number is malformed, a cut streq value does not match', async (t) => {
  const zeros = '0'.repeat(KEPT_TAIL + 10);
  const num = await scan('attr0', `n\x00${zeros}1\0\0`, STRICT, [{ kind: 'int', name: 'n' }], { maxStringLength: 4 });
  t.is(num.result.count, -1);
  // The warning quotes at most 100 characters, as C's %.100s does.
  t.deepEqual(num.messages, [`warning: malformed numerical data from s while reading input attribute value: ${'0'.repeat(100)}`]);
  const eq = await scan('attr0', `p\0test${'x'.repeat(KEPT_TAIL + 1)}\0\0`, STRICT, [{ kind: 'streq', name: 'p', expected: 'test' }], {
    maxStringLength: 4,
  });
  t.is(eq.result.count, -1);
  const ok = await scan('attr0', 'n\x0042\0\0', STRICT, [{ kind: 'int', name: 'n' }], { maxStringLength: 2 });
  t.is(ok.result.values.get('n'), 42);
});

test('maxStringLength must be a non-negative integer', (t) => {
  t.throws(() => new AttrReader('attr0', chunkSource([]), { streamName: 's', maxStringLength: -1 }), {
    instanceOf: RangeError,
  });
});
