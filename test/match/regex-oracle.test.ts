/*
 * regex-oracle.test.ts - the POSIX and PCRE translations against recorded answers of the C
 * libraries Postfix uses (glibc regcomp/regexec in the C locale, PCRE2 10.42; see
 * fixtures/regex-c-oracle.json, whose back-reference, condition and \p vectors come from
 * fixtures/regex-vectors-backrefs.json): the same patterns are refused with the same message, and
 * the accepted ones match the same keys. Where fastflush refuses a construct as unsupported, that
 * is allowed (the table is then not used at all); it must never accept what C refuses. Which
 * constructs are run and which are refused is pinned below.
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

/** Whether fastflush runs the pattern (true) or refuses it as unsupported (false). */
function runs(engine: 'posix' | 'pcre', pattern: string, flags = ''): boolean {
  try {
    compileRegex(emitJs(parse(engine, pattern, flags).tree));
    return true;
  } catch (error) {
    if (error instanceof RegexUnsupportedError) return false;
    throw error;
  }
}

test('back-references, conditions, subroutine calls, properties, callouts and quantified assertions run', (t) => {
  const pcre = [
    '^(\\w+)\\.\\1$', '(a)?\\1', '(?:(a)|b)\\1', '(a|b)+\\1', '(?<n>a)\\k<n>', "(?<n>a)\\k'n'", '(?<n>a)\\k{n}', '(?P<n>a)(?P=n)',
    '(a)\\g{-1}', '(a)\\g1', '(a)\\g{+1}(b)', '(?|(a)|(b))\\1', '(a)(?<=\\1)', '(?(1)a|b)(x)', '(a)?(?(1)b|c)', '(?(?=a)ab|cd)',
    '(?(DEFINE)(a))b', '(?(R)a|b)', '(?(VERSION>=10.0)a)', '\\p{L}', '\\P{Lu}', '[\\p{Nd}x]', '\\X', '(?xx)[a b]', '(?n)(a)', 'a(?C1)(?C"x")',
    '(*FAIL)|a', '(*MARK:m)a', '(*NO_JIT)a', '(?=a)*b', '(?<!a)?b', '[\\8]', '\\101',
    '(a|ab)(?1)c', '(?+1)(a)', '(a)\\g<-1>', "(a)\\g'1'", '(?<n>a)(?&n)', '(?<n>a)(?P>n)', '(?<n>a)\\g<n>',
    '(?(DEFINE)(?<octet>25[0-5]|2[0-4]\\d|1?\\d?\\d))^(?&octet)(?:\\.(?&octet)){3}$',
  ];
  t.deepEqual(pcre.filter((p) => !runs('pcre', p)), []);
  const posix = ['^(.+)\\.\\1$', '(a)?\\1', '(a|b)*\\1', '((a)|(b))\\2\\3', '(a)\\1*', '(.)(.)\\2\\1'];
  t.deepEqual(posix.filter((p) => !runs('posix', p)), []);
  t.true(runs('posix', '\\(a\\)\\1', 'x'));
});

test('what JavaScript cannot give the C meaning stays refused', (t) => {
  const pcre = [
    // Recursion, and calls of a group that tests captures.
    '(a(?R)?b)', '(a(?1)?b)', '(a(?2))(b(?1))?', '(a(b)\\2)(?1)',
    // A loop iteration that skips the group keeps its old value in C and clears it in JavaScript.
    '(?:(a)|b)+\\1', '(?:\\1b|(a))+',
    // An empty iteration ends a PCRE loop; JavaScript undoes it.
    '(a*)+\\1',
    // The first set group of a shared name; JavaScript matches a look-behind from right to left.
    '(?J)(?<n>a)|(?<n>b)\\k<n>', '(?<=(a)\\1)',
    // A caseless reference in a partly case-sensitive pattern.
    '(a)(?-i:b)\\1',
    // Verbs that cut the backtracking, options that change the mode, unknown property names.
    '(*ACCEPT)', 'a(*COMMIT)b', '(*UTF)a', '(*CR)a', '\\p{Bidi_Class=L}',
  ];
  t.deepEqual(pcre.filter((p) => runs('pcre', p)), []);
  // glibc's own matching of {n,m} copies and of repeated groups.
  const posix = ['(a){2}\\1', '^(a){0,2}\\1$', '((a)|b)+\\2', '(a*)*\\1'];
  t.deepEqual(posix.filter((p) => runs('posix', p)), []);
});

test('back-references run in the budget worker: a catastrophic one is stopped, and the key is read as C reads it', async (t) => {
  const bad = compileRegex(emitJs(parse('pcre', '^(a|aa)+\\1$', '').tree));
  t.false(bad.linear);
  await t.throwsAsync(async () => bad.test(`${'a'.repeat(80)}!`), { instanceOf: BudgetExceededError });
  // Caseless: ASCII letters only; a guarded reference to an unset group fails, whatever the key's end.
  const caseless = compileRegex(emitJs(parse('pcre', '^(a\\xe9)\\1$', '').tree));
  t.deepEqual([await caseless.test('a\xe9A\xe9'), await caseless.test('a\xe9a\xc9')], [true, false]);
  const guarded = compileRegex(emitJs(parse('pcre', '(a)?\\1$', '').tree));
  t.deepEqual([await guarded.test(''), await guarded.test('b'), await guarded.test('aa'), await guarded.test('ba')], [false, false, true, false]);
});
