/*
 * Vectors of spec-config.md §4 for fast_flush_domains matching.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainList } from '../../src/match/domain-list.js';
import { readLogicalLinesFromFile } from '../../src/config/main-cf.js';
import { msg, FatalError } from '../../src/util/msg.js';

type Verdict = 'YES' | 'NO' | 'ERROR';

function build(value: string, parentStyle: boolean, utf8 = false): DomainList {
  return new DomainList(value, {
    listName: 'fast_flush_domains',
    parentStyle,
    utf8CaseFolding: utf8,
    readLogicalLines: readLogicalLinesFromFile,
  });
}

async function verdict(list: DomainList, site: string): Promise<Verdict> {
  const result = await list.match(site);
  if (result.error) return 'ERROR';
  return result.matched ? 'YES' : 'NO';
}

const dir = mkdtempSync(join(tmpdir(), 'ff-match-'));
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

test('a #comment token warns and ends the list', (t) => {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  build('a.com, #comment b.com', true);
  t.deepEqual(lines, ['warning: fast_flush_domains: #comment after other text is not allowed: #comment b.com...']);
});

test("a lone '!' is fatal at build time", (t) => {
  const drop = msg.addSink(() => undefined);
  t.teardown(drop);
  const error = t.throws(() => build('a.com ! b.com', true), { instanceOf: FatalError });
  t.is(error?.message, "fast_flush_domains: no pattern after '!'");
});

test('a failing table logs the table lookup problem', async (t) => {
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
