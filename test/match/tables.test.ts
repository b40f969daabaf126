/*
 * tables.test.ts - the tables fastflush reads itself (inline:, texthash:, fail:, static:,
 * regexp:, pcre:) as Postfix 3.7's dict layer reads them: what matches, what C warns about and
 * in which words, and when a table is refused (every lookup then fails).
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainList } from '../../src/match/domain-list.js';
import { TableSet } from '../../src/match/match-list.js';
import { FatalError, msg } from '../../src/util/msg.js';

type Verdict = 'YES' | 'NO' | 'ERROR';

const dir = mkdtempSync(join(tmpdir(), 'ff-tables-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function capture(t: ExecutionContext): string[] {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  return lines;
}

async function verdicts(list: string, sites: string[]): Promise<Verdict[]> {
  const domains = new DomainList(list, { listName: 'fast_flush_domains', parentStyle: true, utf8CaseFolding: false });
  const out: Verdict[] = [];
  for (const site of sites) {
    const r = await domains.match(site);
    out.push(r.error ? 'ERROR' : r.matched ? 'YES' : 'NO');
  }
  return out;
}

test.serial('inline: syntax errors use dict_inline\'s words and fail every lookup', async (t) => {
  const lines = capture(t);
  for (const [spec, reason] of [
    ['inline:{}', 'bad syntax: "inline:{}"; need "inline:{name=value...}"'],
    ['inline:{a=1', 'bad syntax: "inline:{a=1"; need "inline:{name=value...}"'],
    ['inline:{a}', 'missing \'=\' after attribute name: "inline:{a}"; need "inline:{name=value...}"'],
    ['inline:{=1}', 'missing attribute name: "inline:{=1}"; need "inline:{name=value...}"'],
    ['inline:{,}', 'empty table: "inline:{,}"; need "inline:{name=value...}"'],
  ]) {
    lines.length = 0;
    t.deepEqual(await verdicts(spec as string, ['a.test']), ['ERROR'], spec);
    t.deepEqual(lines, [
      `error: ${reason}`,
      `warning: ${spec} is unavailable. ${reason}`,
      `warning: fast_flush_domains: ${spec}: table lookup problem`,
    ]);
  }
});

test('inline: brace groups keep white space in values; the last duplicate wins', async (t) => {
  t.deepEqual(await verdicts('inline:{ {a.test = x y} , b.test=1, b.test=2 }', ['a.test', 'b.test', 'c.test']), ['YES', 'YES', 'NO']);
});

test.serial('texthash: format warnings, and a duplicate key refuses the table', async (t) => {
  const lines = capture(t);
  const path = file('thash', 'good.test OK\nnovalue\nalias.test: OK\n');
  t.deepEqual(await verdicts(`texthash:${path}`, ['good.test', 'novalue', 'alias.test:']), ['YES', 'NO', 'YES']);
  t.deepEqual(lines, [
    `warning: ${path}, line 2: expected format: key whitespace value -- ignoring this line`,
    `warning: ${path}, line 3: record is in "key: value" format; is this an alias file?`,
  ]);
  lines.length = 0;
  const dup = file('thash-dup', 'a.test OK\nb.test OK\na.test OK\n');
  t.deepEqual(await verdicts(`texthash:${dup}`, ['b.test']), ['ERROR']);
  t.is(lines[0], `error: ${dup}, line 3: duplicate entry: "a.test"`);
});

test.serial('fail: fails silently; static: matches everything; an unknown type is refused', async (t) => {
  const lines = capture(t);
  t.deepEqual(await verdicts('fail:x', ['a.test']), ['ERROR']);
  t.deepEqual(lines, ['warning: fast_flush_domains: fail:x: table lookup problem']);
  t.deepEqual(await verdicts('static:{ x y }', ['anything.test']), ['YES']);
  lines.length = 0;
  // Without a proxymap client (the unit tests have none), hash: is unsupported too.
  t.deepEqual(await verdicts('bogus:x hash:/etc/x', ['a.test']), ['ERROR']);
  t.deepEqual(lines.slice(0, 2), ['error: unsupported dictionary type: bogus', 'error: unsupported dictionary type: hash']);
});

test('regexp: rules, negation, IF/ENDIF, the /a/!/b/ form and flags', async (t) => {
  const path = file('regexp', [
    'if /\\.test$/',
    '/^skip\\./ SKIPPED',
    '!/^(www|mail)\\./ OTHER',
    'endif',
    '/^CaSe\\.example$/i CASE',
    '/^case2\\.example$/ CASE-INSENSITIVE',
    '/^a/!/^ab/ A-NOT-AB',
    '/^basic\\(x\\)\\{2\\}$/x BRE',
    '/^first$/m MULTILINE',
  ].join('\n'));
  t.deepEqual(
    await verdicts(`regexp:${path}`, ['skip.test', 'x.test', 'www.test', 'CaSe.example', 'case.example', 'CASE2.EXAMPLE', 'ac.example', 'abc.example', 'basicxx', 'first']),
    // The site is case-folded before the lookup, so a case-sensitive (i) rule never sees capitals.
    ['YES', 'YES', 'NO', 'NO', 'NO', 'YES', 'YES', 'NO', 'YES', 'YES'],
  );
});

test('regexp: only the whole name is looked up (pattern table)', async (t) => {
  const path = file('regexp-whole', '/^example\\.test$/ OK\n');
  t.deepEqual(await verdicts(`regexp:${path}`, ['example.test', 'sub.example.test']), ['YES', 'NO']);
});

test.serial('regexp: rules C skips are skipped with C\'s warnings', async (t) => {
  const lines = capture(t);
  const path = file('regexp-bad', [
    '/^bad(/ X',
    '/^flag$/q X',
    '/^nodelim X',
    '/^(sub)$/ $2',
    '!/^neg(x)$/ $1',
    '/^nonnum$/ ${x}',
    'junk line',
    'endif',
    'if /^never$/',
    '/^ok$/ OK',
  ].join('\n'));
  t.deepEqual(await verdicts(`regexp:${path}`, ['sub', 'ok', 'flag']), ['NO', 'NO', 'NO']);
  const where = (n: number): string => `warning: regexp map ${path}, line ${n}`;
  t.deepEqual(lines, [
    `${where(1)}: Unmatched ( or \\(`,
    `${where(2)}: unknown regexp option "q": skipping this rule`,
    `${where(3)}: no closing regexp delimiter "/": skipping this rule`,
    `${where(4)}: out of range replacement index "2": skipping this rule`,
    `${where(5)}: $number found in negative match replacement text: skipping this rule`,
    `${where(6)}: non-numeric replacement index "x"`,
    `${where(6)}: bad replacement syntax: skipping this rule`,
    `${where(7)}: ignoring unrecognized request`,
    `${where(8)}: ignoring ENDIF without matching IF`,
    `${where(9)}: IF has no matching ENDIF`,
  ]);
});

test('pcre: PCRE flags and constructs', async (t) => {
  const path = file('pcre', [
    '/^mx\\d*\\.example$/ OK',
    '/^(?:www|mail)\\.(?!skip)[^.]+\\.test$/ OK',
    '/^exact\\.example$/i OK',
    '/^ab$/A OK',
    '/^ x \\. example $/x OK',
    '/^atomic(?>a+)b$/ OK',
    '/^poss\\.a++$/ OK',
    '/(?<=^lb)x$/ OK',
  ].join('\n'));
  t.deepEqual(
    await verdicts(`pcre:${path}`, ['MX12.example', 'www.a.test', 'www.skip.test', 'exact.example', 'EXACT.example', 'ab', 'x.example', 'atomicaab', 'poss.aa', 'lbx']),
    ['YES', 'YES', 'NO', 'YES', 'YES', 'YES', 'YES', 'YES', 'YES', 'YES'],
  );
});

test.serial('pcre: a construct fastflush cannot run exactly refuses the whole table', async (t) => {
  const lines = capture(t);
  const path = file('pcre-recursion', '/^ok$/ OK\n/^(a(?1)?b)$/ X\n');
  t.deepEqual(await verdicts(`example.test pcre:${path}`, ['example.test', 'ok']), ['YES', 'ERROR']);
  t.regex(lines[0] as string, /^error: pcre map .*pcre-recursion, line 2: recursion and subroutine calls is not supported by fastflush; this table is not used$/);
});

test('back-references in pcre: and regexp: tables, next to ordinary rules, with C\'s bytes', async (t) => {
  const pcre = file('pcre-backref', ['/^ok\\.example$/ OK', '/^(\\w+)\\.\\1$/ TWICE', '/^(?<x>[a-z])\\k<x>-(b)\\2$/ NAMED'].join('\n'));
  t.deepEqual(
    // Sites reach the table in lower case, as in Postfix; letters beyond ASCII are never folded.
    await verdicts(`pcre:${pcre}`, ['ok.example', 'abc.abc', 'abc.ABC', 'abc.abd', 'aa-bB', 'ab-bb', '\xe9.\xc9', 'x.example']),
    ['YES', 'YES', 'YES', 'NO', 'YES', 'NO', 'NO', 'NO'],
  );
  const regexp = file('regexp-backref', ['/^ok\\.example$/ OK', '/^(.+)\\.\\1$/ TWICE', '/^(a)\\1b$/i EXACT', '/^\\(x\\)\\1$/x BASIC'].join('\n'));
  t.deepEqual(
    await verdicts(`regexp:${regexp}`, ['ok.example', 'Ab.aB', '\xe9.\xc9', 'aab', 'abb', 'xx', 'other']),
    ['YES', 'YES', 'NO', 'YES', 'NO', 'YES', 'NO'],
  );
});

test.serial('pcre: a match that runs out of time is a non-match with C\'s warning', async (t) => {
  const lines = capture(t);
  const path = file('pcre-slow', '/^(?=(a|aa)+$)x/ SLOW\n/^a+!$/ FAST\n');
  t.deepEqual(await verdicts(`pcre:${path}`, [`${'a'.repeat(60)}!`]), ['YES']);
  t.deepEqual(lines, [`warning: pcre map ${path}, line 1: match limit exceeded`]);
});

test.serial('regexp:/pcre: that cannot be opened', async (t) => {
  const lines = capture(t);
  t.deepEqual(await verdicts(`regexp:${join(dir, 'missing')}`, ['a.test']), ['ERROR']);
  t.is(lines[0], `error: open ${join(dir, 'missing')}: No such file or directory`);
});

test.serial('daemon_table_open_error_is_fatal = yes: a table or /file that cannot be opened is fatal', (t) => {
  capture(t);
  const build = (value: string): DomainList => new DomainList(value, {
    listName: 'fast_flush_domains', parentStyle: true, utf8CaseFolding: false, openErrorIsFatal: true,
  });
  const error = t.throws(() => build(`texthash:${join(dir, 'missing')}`), { instanceOf: FatalError });
  t.is(error?.message, `open database ${join(dir, 'missing')}: No such file or directory`);
  t.throws(() => build(join(dir, 'missing-file')), { instanceOf: FatalError });
  t.throws(() => build('inline:{}'), { instanceOf: FatalError });
});

test('binary tables: read directly, keys as postmap stored them, a changed file is reported', (t) => {
  const postmap = join(execFileSync('postconf', ['-dh', 'command_directory'], { encoding: 'utf8' }).trim(), 'postmap');
  if (!existsSync(postmap)) return t.pass('postmap is not installed');
  const work = mkdtempSync(join(tmpdir(), 'ff-binary-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(join(work, 'main.cf'), '');
  writeFileSync(join(work, 't'), 'Example.TEST OK\n.example.net OK\n');
  for (const type of ['hash', 'cdb']) execFileSync(postmap, ['-c', work, `${type}:${join(work, 't')}`]);
  for (const type of ['hash', 'cdb']) {
    const tables = new TableSet({ openErrorIsFatal: false, binary: { postmap, configDir: work } });
    const table = tables.open(`${type}:${join(work, 't')}`);
    t.true(table.lookup('example.test') as boolean, type);
    t.false(table.lookup('Example.TEST') as boolean, `${type}: postmap folded the key`);
    t.true(table.lookup('.example.net') as boolean, type);
    t.is(tables.changed(), undefined);
    const file = join(work, `t.${type === 'hash' ? 'db' : 'cdb'}`);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    t.is(tables.changed(), `${type}:${join(work, 't')}`);
  }
});
