/*
 * domain-list.test.ts - fast_flush_domains matching: the vectors of spec-config.md §4, and what
 * Postfix 3.7 (Debian) was seen to do where the spec is silent (checked against the C daemon in
 * test/integration/eligibility.test.ts).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainList } from '../../src/match/domain-list.js';
import { msg, FatalError } from '../../src/util/msg.js';

type Verdict = 'YES' | 'NO' | 'ERROR';

function build(value: string, parentStyle: boolean, utf8 = false): DomainList {
  return new DomainList(value, {
    listName: 'fast_flush_domains',
    parentStyle,
    utf8CaseFolding: utf8,
  });
}

async function verdict(list: DomainList, site: string | Buffer): Promise<Verdict> {
  const result = await list.match(site);
  if (result.error) return 'ERROR';
  return result.matched ? 'YES' : 'NO';
}

const dir = mkdtempSync(join(tmpdir(), 'ff-match-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const patternFile = join(dir, 'f');
writeFileSync(patternFile, 'example.org\n!bad.example.org\n# comment\n  sub.example.net\n');
const namadrFile = join(dir, 'namadr');
writeFileSync(namadrFile, 'foo !bar baz\n');
const texthashFile = join(dir, 't');
writeFileSync(texthashFile, 'example.com OK\n.example.net OK\nUPPER.ORG OK\n');
const regexpLess = join(dir, 'dup');
writeFileSync(regexpLess, 'a.com OK\na.com OK\n');

// [list, name, parent ON, parent OFF]
const vectors: Array<[string, string, Verdict, Verdict]> = [
  ['example.com', 'example.com', 'YES', 'YES'],
  ['example.com', 'sub.example.com', 'YES', 'NO'],
  ['example.com', 'a.b.example.com', 'YES', 'NO'],
  ['example.com', 'xexample.com', 'NO', 'NO'],
  ['example.com', 'example.com.au', 'NO', 'NO'],
  ['example.com', 'EXAMPLE.COM', 'YES', 'YES'],
  ['example.com', 'example.com.', 'NO', 'NO'],
  ['Example.COM', 'example.com', 'YES', 'YES'],
  ['.example.com', 'example.com', 'NO', 'NO'],
  ['.example.com', 'sub.example.com', 'NO', 'YES'],
  ['.example.com', 'a.b.example.com', 'NO', 'YES'],
  ['.example.com', '.example.com', 'YES', 'YES'],
  ['.example.com', 'x..example.com', 'YES', 'YES'],
  ['example.com, !sub.example.com', 'sub.example.com', 'YES', 'NO'],
  ['!sub.example.com, example.com', 'sub.example.com', 'NO', 'NO'],
  ['!sub.example.com, example.com', 'x.sub.example.com', 'NO', 'NO'],
  ['!sub.example.com, example.com', 'other.example.com', 'YES', 'NO'],
  ['[1.2.3.4] 1.2.3.4', '[1.2.3.4]', 'YES', 'YES'],
  ['[1.2.3.4] 1.2.3.4', '1.2.3.4', 'YES', 'YES'],
  ['[1.2.3.4] 1.2.3.4', 'x.1.2.3.4', 'YES', 'NO'],
  ['{a.com} b.com', 'a.com', 'NO', 'NO'],
  ['{a.com} b.com', '{a.com}', 'YES', 'YES'],
  ['a.com, #comment b.com', 'b.com', 'NO', 'NO'],
  ['', 'anything', 'NO', 'NO'],
  [patternFile, 'example.org', 'YES', 'YES'],
  [patternFile, 'bad.example.org', 'YES', 'NO'],
  [patternFile, 'x.bad.example.org', 'YES', 'NO'],
  [patternFile, 'sub.example.net', 'YES', 'YES'],
  [patternFile, 'a.sub.example.net', 'YES', 'NO'],
  [`!${patternFile}`, 'example.org', 'NO', 'NO'],
  [`!${patternFile}`, 'bad.example.org', 'NO', 'YES'],
  [`!${patternFile}`, 'other.org', 'NO', 'NO'],
  [`texthash:${texthashFile}`, 'example.com', 'YES', 'YES'],
  [`texthash:${texthashFile}`, 'a.example.com', 'YES', 'NO'],
  [`texthash:${texthashFile}`, 'example.net', 'NO', 'NO'],
  [`texthash:${texthashFile}`, 'a.example.net', 'NO', 'YES'],
  [`texthash:${texthashFile}`, 'upper.org', 'NO', 'NO'],
  ['inline:{example.com=1, .example.net=1}', 'a.example.com', 'YES', 'NO'],
  ['inline:{example.com=1, .example.net=1}', 'x.example.net', 'NO', 'YES'],
  ['inline:{.com=1}', 'a.b.com', 'NO', 'YES'],
  ['inline:{.com=1}', 'com', 'NO', 'NO'],
  ['inline:{.com=1}', '.com', 'YES', 'YES'],
  ['inline:{ {a.com = x} , b.com=y }', 'a.com', 'YES', 'YES'],
  ['inline:{ {a.com = x} , b.com=y }', 'b.com', 'YES', 'YES'],
  ['static:x', 'anything.example', 'YES', 'YES'],
  ['example.com fail:x other.com', 'example.com', 'YES', 'YES'],
  ['example.com fail:x other.com', 'other.com', 'ERROR', 'ERROR'],
  ['example.com /nonexistent/file other.com', 'other.com', 'ERROR', 'ERROR'],
  ['texthash:/nonexistent', 'a.com', 'ERROR', 'ERROR'],
  ['bogus:/x', 'a.com', 'ERROR', 'ERROR'],
  ['!fail:x', 'a.com', 'ERROR', 'ERROR'],
  ['inline:{}', 'a.com', 'ERROR', 'ERROR'],
  [`texthash:${regexpLess}`, 'a.com', 'ERROR', 'ERROR'],
];

for (const [list, name, parentOn, parentOff] of vectors) {
  const shownList = list.replace(dir, 'DIR');
  test(`domain list "${shownList}" with "${name}": parent on ${parentOn}, off ${parentOff}`, async (t) => {
    const drop = msg.addSink(() => undefined);
    t.teardown(drop);
    t.is(await verdict(build(list, true), name), parentOn);
    t.is(await verdict(build(list, false), name), parentOff);
  });
}

test('namadr_list.ref: !/file negates every item of the file', async (t) => {
  const negated = build(`!${namadrFile}`, true);
  t.deepEqual(
    await Promise.all(['foo', 'bar', 'baz', 'dummy'].map((n) => verdict(negated, n))),
    ['NO', 'YES', 'NO', 'NO'],
  );
  const plain = build(namadrFile, true);
  t.deepEqual(await Promise.all(['foo', 'bar', 'baz'].map((n) => verdict(plain, n))), ['YES', 'NO', 'YES']);
});

test.serial('a #comment token warns (in Postfix 3.7 words) and ends the list', (t) => {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  build('a.com, #comment b.com', true);
  t.deepEqual(lines, ['warning: fast_flush_domains: comment at end of line is not supported: #comment b.com']);
});

test.serial("a lone '!' is fatal at build time", (t) => {
  const drop = msg.addSink(() => undefined);
  t.teardown(drop);
  const error = t.throws(() => build('a.com ! b.com', true), { instanceOf: FatalError });
  t.is(error?.message, "fast_flush_domains: no pattern after '!'");
});

test.serial('a failing table logs the table lookup problem', async (t) => {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  await build('fail:x', true).match('a.com');
  t.true(lines.includes('warning: fast_flush_domains: fail:x: table lookup problem'));
});

test('UTF-8 case folding only when smtputf8_enable is on', async (t) => {
  t.is(await verdict(build('äö.example', true, true), 'ÄÖ.example'), 'YES');
  t.is(await verdict(build('äö.example', true, true), 'sub.ÄÖ.example'), 'YES');
  t.is(await verdict(build('äö.example', true, false), 'ÄÖ.example'), 'NO');
});

/** Log lines while a test runs (serial tests only: the logger is shared by the process). */
function capture(t: import('ava').ExecutionContext): string[] {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  return lines;
}

test('parent style also matches a name that is the pattern after a leading dot', async (t) => {
  t.is(await verdict(build('example.com', true), '.example.com'), 'YES');
  t.is(await verdict(build('example.com', false), '.example.com'), 'NO');
});

test('fixed-key tables are asked for parent domains the way match_hostname walks them', async (t) => {
  const asked: string[] = [];
  const file = join(dir, 'walk');
  writeFileSync(file, 'nothing.here OK\n');
  for (const [parentStyle, name, keys] of [
    [true, 'a.b.example.com', ['a.b.example.com', 'b.example.com', 'example.com', 'com']],
    [false, 'a.b.example.com', ['a.b.example.com', '.b.example.com', '.example.com', '.com']],
    [true, '.com', ['.com']],
    [true, 'a..b', ['a..b', '.b']],
    [false, 'a..b', ['a..b', '..b', '.b']],
    [true, 'a.', ['a.']],
  ] as Array<[boolean, string, string[]]>) {
    asked.length = 0;
    const list = build(`texthash:${file}`, parentStyle);
    const table = (list as unknown as { patterns: Array<{ table: { lookup(k: string): boolean } }> }).patterns[0]?.table;
    const original = table?.lookup.bind(table);
    if (table && original) {
      table.lookup = (key: string) => {
        asked.push(key);
        return original(key);
      };
    }
    await list.match(name);
    t.deepEqual(asked, keys, `${name}, parent ${parentStyle ? 'on' : 'off'}`);
  }
});

test.serial('with smtputf8_enable a non-UTF-8 key is not looked up, with a warning', async (t) => {
  const lines = capture(t);
  const file = join(dir, 'utf8');
  writeFileSync(file, 'example.com OK\n');
  const list = build(`texthash:${file}`, true, true);
  t.is(await verdict(list, Buffer.from('\xff.example.com', 'latin1')), 'YES');
  t.deepEqual(lines, [`warning: texthash:${file}: non-UTF-8 key "?.example.com": malformed UTF-8 or invalid codepoint`]);
  lines.length = 0;
  t.is(await verdict(build(`texthash:${file}`, true, false), Buffer.from('\xff.example.com', 'latin1')), 'YES');
  t.deepEqual(lines, [], 'smtputf8_enable = no: bytes are compared as they are');
});

test('sites given as bytes are compared as bytes', async (t) => {
  const list = build('b\u00fccher.example', true, false);
  t.is(await verdict(list, Buffer.from('b\u00fccher.example', 'utf8')), 'YES');
  t.is(await verdict(list, Buffer.from('b\xfccher.example', 'latin1')), 'NO');
});

test.serial('a /file that cannot be read fails lookups past it (C stops at start-up)', async (t) => {
  const lines = capture(t);
  const list = build(`a.com ${dir} b.com`, true);
  t.is(await verdict(list, 'a.com'), 'YES');
  t.is(await verdict(list, 'b.com'), 'ERROR');
  t.is(lines[0], `error: match_list_parse: read file ${dir}: Is a directory`);
});

test('100,000-entry lists: built and matched quickly', async (t) => {
  const file = join(dir, 'big');
  writeFileSync(file, Array.from({ length: 100_000 }, (_, i) => `d${i}.example`).join('\n'));
  const hash = join(dir, 'bighash');
  writeFileSync(hash, Array.from({ length: 100_000 }, (_, i) => `k${i}.example OK`).join('\n'));
  const started = Date.now();
  const list = build(`${file} texthash:${hash}`, true);
  t.is(await verdict(list, 'sub.d99999.example'), 'YES');
  t.is(await verdict(list, 'k4242.example'), 'YES');
  t.is(await verdict(list, 'none.example'), 'NO');
  t.true(Date.now() - started < 5000, `${Date.now() - started} ms`);
});

test('a /file is read as Postfix 3.7 reads it: physical lines, # only in column 1, no final newline needed', async (t) => {
  const file = join(dir, 'physical');
  writeFileSync(file, '  lead.com\n\n \tind.com\n#skip.com\n a.com #rest.com\n{b.com\nc.com}\nd.com\0e.com\n last.com');
  const drop = msg.addSink(() => undefined);
  t.teardown(drop);
  const list = build(file, false);
  const names = ['lead.com', 'ind.com', 'skip.com', 'a.com', 'rest.com', 'b.com', 'c.com', 'd.com', 'e.com', 'last.com'];
  t.deepEqual(
    await Promise.all(names.map((n) => verdict(list, n))),
    ['YES', 'YES', 'NO', 'YES', 'NO', 'NO', 'NO', 'YES', 'NO', 'YES'],
  );
});

test.serial('a table name without a type or a name is fatal, as dict_open() makes it', (t) => {
  const drop = msg.addSink(() => undefined);
  t.teardown(drop);
  for (const spec of ['texthash:', 'static:', ':x', 'proxy:']) {
    const error = t.throws(() => build(`a.com ${spec}`, true), { instanceOf: FatalError });
    t.is(error?.message, `open dictionary: expecting "type:name" form instead of "${spec}"`);
  }
});
