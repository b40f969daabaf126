/*
 * regex-oracle.test.ts - the POSIX and PCRE translations against recorded answers of the C
 * libraries Postfix uses (glibc regcomp/regexec in the C locale, PCRE2 10.42; see
 * fixtures/regex-c-oracle.json): the same patterns are refused with the same message, and the
 * accepted ones match the same keys. Where fastflush refuses a construct as unsupported, that is
 * allowed (the table is then not used at all); it must never accept what C refuses.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emitJs } from '../../src/match/regex/ast.js';
import { RegexSyntaxError, RegexUnsupportedError } from '../../src/match/regex/errors.js';
import { BudgetExceededError, compileRegex } from '../../src/match/regex/matcher.js';
import { parsePcre, type PcreOptions } from '../../src/match/regex/pcre.js';
import { parsePosix } from '../../src/match/regex/posix.js';
import { repoRoot } from '../helpers/paths.js';

type Case =
  | [engine: 'posix' | 'pcre', pattern: string, flags: string, keySet: number, results: string]
  | [engine: 'posix' | 'pcre', pattern: string, flags: string, error: { error: string }];

interface Fixture {
  keySets: string[][];
  cases: Case[];
}

const fixture = JSON.parse(readFileSync(join(repoRoot, 'test/match/fixtures/regex-c-oracle.json'), 'utf8')) as Fixture;

/** Table flags as regexp: and pcre: tables toggle them from Postfix's defaults. */
function parse(engine: 'posix' | 'pcre', pattern: string, flags: string): ReturnType<typeof parsePosix> {
  if (engine === 'posix') {
    return parsePosix(pattern, { extended: !flags.includes('x'), icase: !flags.includes('i'), newline: flags.includes('m') });
  }
  const opts: PcreOptions = {
    caseless: !flags.includes('i'), multiline: flags.includes('m'), dotall: !flags.includes('s'), extended: flags.includes('x'),
    anchored: flags.includes('A'), dollarEndOnly: flags.includes('E'), ungreedy: flags.includes('U'),
  };
  return parsePcre(pattern, opts);
}

async function matches(regex: ReturnType<typeof compileRegex>, key: string): Promise<string> {
  try {
    return (await regex.test(key)) ? '1' : '0';
  } catch (error) {
    if (error instanceof BudgetExceededError) return 'E';
    throw error;
  }
}

for (const engine of ['posix', 'pcre'] as const) {
  test(`${engine}: the C library's verdicts on ${fixture.cases.filter((c) => c[0] === engine).length} recorded patterns`, async (t) => {
    const wrong: unknown[] = [];
    let unsupported = 0;
    for (const c of fixture.cases.filter((x) => x[0] === engine)) {
      const [, pattern, flags] = c;
      let regex: ReturnType<typeof compileRegex>;
      try {
        regex = compileRegex(emitJs(parse(engine, pattern, flags).tree));
      } catch (error) {
        if (error instanceof RegexUnsupportedError) {
          unsupported++;
          continue;
        }
        if (!(error instanceof RegexSyntaxError)) throw error;
        if (c.length !== 4 || c[3].error !== error.message) wrong.push({ pattern, flags, c: c[3], fastflush: error.message });
        continue;
      }
      if (c.length === 4) {
        wrong.push({ pattern, flags, c: c[3], fastflush: 'accepted' });
        continue;
      }
      const keys = fixture.keySets[c[3]] as string[];
      let got = '';
      for (const key of keys) got += await matches(regex, key);
      // A C match error (PCRE2's match limit) counts as no match; fastflush may finish or run out of time.
      const expected = c[4].replace(/E/g, '0');
      if (got.replace(/E/g, '0') !== expected) wrong.push({ pattern, flags, keys, c: c[4], fastflush: got });
    }
    t.deepEqual(wrong, []);
    t.log(`${unsupported} patterns refused as unsupported`);
  });
}

test('nested quantifiers run on the linear-time engine, in time linear in the key', (t) => {
  t.true(compileRegex(emitJs(parse('pcre', '^(a+)+$', 'E').tree)).linear);
  t.true(compileRegex(emitJs(parse('posix', '^(a|a)*$', '').tree)).linear);
  // PCRE's "$ before a final newline" needs a look-ahead only for keys with a newline.
  const regex = compileRegex(emitJs(parse('pcre', '^(a+)+$', '').tree));
  const started = Date.now();
  t.false(regex.test(`${'a'.repeat(100_000)}!`) as boolean);
  t.true(Date.now() - started < 1000);
});

test('a catastrophic look-ahead is stopped by the time budget, and the next match still works', async (t) => {
  const bad = compileRegex(emitJs(parse('pcre', '^(?=(a|aa)+$)x', '').tree));
  t.false(bad.linear);
  const started = Date.now();
  await t.throwsAsync(async () => bad.test(`${'a'.repeat(60)}!`), { instanceOf: BudgetExceededError });
  t.true(Date.now() - started < 3000);
  const good = compileRegex(emitJs(parse('pcre', '^a(?=b)', '').tree));
  t.true(await good.test('ab'));
  t.false(await good.test('ac'));
});
