/*
 * main.cf grammar: the vectors of spec-config.md §1.1 (logical lines), §1.2
 * (name/value split) and §1.3 (duplicates), checked against Postfix 3.7.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseMainCf,
  readLogicalLines,
  readLogicalLinesFromFile,
  readMainCf,
  splitNameValue,
} from '../../src/config/main-cf.js';
import { ConfigError } from '../../src/config/errors.js';

const PATH = '/etc/postfix/main.cf';

const scratch = mkdtempSync(join(tmpdir(), 'ff-maincf-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

// §1.1 readlline.c TEST vectors: input -> logical lines (+ whether a warning is expected).
const logicalLineVectors: Array<[string, string[], boolean]> = [
  [' abcde\nfghij\n', ['fghij'], true],
  [' #abcde\nfghij\n', ['fghij'], false],
  ['#abc\ndef', ['def'], false],
  ['abc def', ['abc def'], false],
  ['#abc def', [], false],
  ['abc\n def\n', ['abc def'], false],
  ['abc\n #def\n ghi', ['abc ghi'], false],
  ['abc\n#def\n ghi', ['abc ghi'], false],
  ['abc\n \n ghi', ['abc ghi'], false],
  ['abc\n\n ghi', ['abc ghi'], false],
  ['abc\n #def\n', ['abc'], false],
  ['\n', [], false],
  ['\n \n', [], false],
  ['abc\n ', ['abc'], false],
];

for (const [input, expected, warns] of logicalLineVectors) {
  test(`logical lines: ${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, (t) => {
    const { lines, warnings } = readLogicalLines(input, 'f');
    t.deepEqual(lines.map((l) => l.text), expected);
    t.is(warnings.length, warns ? 1 : 0);
  });
}

test('logical lines: the warning quotes up to 30 bytes and adds ... only when longer', (t) => {
  t.deepEqual(readLogicalLines(' abcde\nx=1\n', 'f').warnings,
    ['f: logical line must not start with whitespace: " abcde"']);
  t.deepEqual(readLogicalLines('   abcdefghijklmnopqrstuvwxyz0123456789\nx=1\n', 't1/main.cf').warnings,
    ['t1/main.cf: logical line must not start with whitespace: "   abcdefghijklmnopqrstuvwxyz0..."']);
});

test('logical lines: continuation lines of a dropped leading-whitespace line are dropped too', (t) => {
  const { lines, warnings } = readLogicalLines('  a = 1\n  b\nc = 2\n', 'f');
  t.deepEqual(lines.map((l) => l.text), ['c = 2']);
  t.deepEqual(warnings, ['f: logical line must not start with whitespace: "  a = 1  b"']);
});

test('logical lines: line numbers are those of the first content line', (t) => {
  const { lines } = readLogicalLines('\n\nfoo = 1\n\n#c\nfoo = 2\n  3\nbar\n  \n  = x\n', 'f');
  t.deepEqual(lines.map((l) => [l.text, l.line]), [['foo = 1', 3], ['foo = 2  3', 6], ['bar  = x', 8]]);
});

test('logical lines: text after a NUL byte is lost, without a warning (Postfix 3.7)', (t) => {
  // 3.12 adds a "text after null byte may be ignored" warning; 3.7 has none.
  const { lines, warnings } = readLogicalLines('foo = a\0b\nbar = 2\n', 'f');
  t.deepEqual(lines.map((l) => l.text), ['foo = a', 'bar = 2']);
  t.deepEqual(warnings, []);
});

test('logical lines: CRLF line ends leave \\r for the value trimming to remove', (t) => {
  const { lines } = readLogicalLines('foo = a\r\n  b\r\n\r\nbar = 2 \t\r\n', 'f');
  t.deepEqual(lines.map((l) => l.text), ['foo = a\r  b\r', 'bar = 2 \t\r']);
});

// §1.2 split vectors.
const splitVectors: Array<[string, { name: string; value: string } | { error: string }]> = [
  ['foo = bar', { name: 'foo', value: 'bar' }],
  ['foo=bar', { name: 'foo', value: 'bar' }],
  ['foo = bar \t\r', { name: 'foo', value: 'bar' }],
  ['baz =   ', { name: 'baz', value: '' }],
  ['foo =', { name: 'foo', value: '' }],
  ['qux = v1 # not a comment', { name: 'qux', value: 'v1 # not a comment' }],
  ['foo.bar = 1', { name: 'foo.bar', value: '1' }],
  ['a:b = 1', { name: 'a:b', value: '1' }],
  ['$x = 1', { name: '$x', value: '1' }],
  ['foo = \v5\f', { name: 'foo', value: '5' }],
  ['foo bar', { error: "missing '=' after attribute name" }],
  ['= bar', { error: 'missing attribute name' }],
  ['my param = bar', { error: "missing '=' after attribute name" }],
  ['', { error: 'missing attribute name' }],
];

for (const [input, expected] of splitVectors) {
  test(`split: ${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, (t) => {
    t.deepEqual(splitNameValue(input), expected);
  });
}

test('main.cf: continuation whitespace is kept byte for byte in the raw value', (t) => {
  const cf = parseMainCf('foo = a,\n   b\n# c\n\n  c   \n', PATH);
  t.is(cf.entries.get('foo')?.value, 'a,   b  c');
});

test('main.cf: CRLF file', (t) => {
  const cf = parseMainCf('foo = bar \t\r\n', PATH);
  t.is(cf.entries.get('foo')?.value, 'bar');
});

const fatalVectors: Array<[string, string]> = [
  ['foo bar\n', `${PATH}, line 1: missing '=' after attribute name: "foo bar"`],
  ['x=1\n\n= bar\n', `${PATH}, line 3: missing attribute name: "= bar"`],
  ['my param = bar\n', `${PATH}, line 1: missing '=' after attribute name: "my param = bar"`],
  ['a = 1\n  2\n\n  x\nmy param \n  = bar\n', `${PATH}, line 5: missing '=' after attribute name: "my param   = bar"`],
  ['foo = 1\n\0x = 1\n', `${PATH}, line 2: missing attribute name: ""`],
];

for (const [input, message] of fatalVectors) {
  test(`main.cf fatal: ${JSON.stringify(input)}`, (t) => {
    const err = t.throws(() => parseMainCf(input, PATH), { instanceOf: ConfigError });
    t.is(err?.message, message);
    t.is(err?.file, PATH);
  });
}

test('main.cf: leading whitespace on the first line is a warning, not fatal', (t) => {
  const cf = parseMainCf('  leading = 1\nx = 2\n', PATH);
  t.deepEqual([...cf.entries.keys()], ['x']);
  t.deepEqual(cf.warnings, [`${PATH}: logical line must not start with whitespace: "  leading = 1"`]);
});

test('main.cf: duplicates - last wins, one warning per changed value naming the later line', (t) => {
  const cf = parseMainCf('foo = 1\nfoo = 1\nfoo=2\n', PATH);
  t.is(cf.entries.get('foo')?.value, '2');
  t.is(cf.entries.get('foo')?.line, 3);
  t.deepEqual(cf.warnings, [`${PATH}, line 3: overriding earlier entry: foo=1`]);
});

test('main.cf: duplicates - each change warns with the value it replaces', (t) => {
  const cf = parseMainCf('foo = 1\nfoo = 2\nfoo=2\nfoo = 3\n', PATH);
  t.deepEqual(cf.warnings, [
    `${PATH}, line 2: overriding earlier entry: foo=1`,
    `${PATH}, line 4: overriding earlier entry: foo=2`,
  ]);
});

test('main.cf: names are case-sensitive', (t) => {
  const cf = parseMainCf('Foo = 1\nfoo = 2\n', PATH);
  t.is(cf.entries.get('Foo')?.value, '1');
  t.is(cf.entries.get('foo')?.value, '2');
  t.deepEqual(cf.warnings, []);
});

test('main.cf: changing a preset (config_directory, process_name) warns but is not an entry otherwise', (t) => {
  const preset = new Map([['config_directory', '/tmp/cfx/t2'], ['process_name', 'postqueue']]);
  const cf = parseMainCf('process_name = x\nconfig_directory = /y\n', '/tmp/cfx/t2/main.cf', preset);
  t.deepEqual(cf.warnings, [
    '/tmp/cfx/t2/main.cf, line 1: overriding earlier entry: process_name=postqueue',
    '/tmp/cfx/t2/main.cf, line 2: overriding earlier entry: config_directory=/tmp/cfx/t2',
  ]);
  t.is(parseMainCf('x = 1\n', PATH, preset).entries.has('config_directory'), false);
  t.deepEqual(parseMainCf('config_directory = /tmp/cfx/t2\n', PATH, preset).warnings, []);
});

test('readMainCf: a missing file is fatal with strerror wording', (t) => {
  const dir = mkdtempSync(join(scratch, 'd'));
  const err = t.throws(() => readMainCf(`${dir}/main.cf`), { instanceOf: ConfigError });
  t.is(err?.message, `open ${dir}/main.cf: No such file or directory`);
});

test('readLogicalLinesFromFile: pattern files use the same rules; open errors keep their code', (t) => {
  const dir = mkdtempSync(join(scratch, 'd'));
  writeFileSync(join(dir, 'f'), 'example.org\n!bad.example.org\n# comment\n  sub.example.net\n');
  t.deepEqual(readLogicalLinesFromFile(join(dir, 'f')), ['example.org', '!bad.example.org  sub.example.net']);
  const err = t.throws(() => readLogicalLinesFromFile(join(dir, 'missing')));
  t.is((err as NodeJS.ErrnoException).code, 'ENOENT');
});
