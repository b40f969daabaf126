/*
 * idna.test.ts - site names to ASCII as Postfix's EAI build does (spec-protocol-master.md §3.1):
 * ICU's UTS #46 ToASCII replayed from recorded ICU 72 answers, then Postfix's own checks
 * (malformed UTF-8 first, valid_hostname() last) and its per-process cache.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { domainToAsciiPostfix } from '../../src/match/idna.js';
import { validHostname } from '../../src/config/params.js';

const isValidHostname = (name: string): boolean => validHostname(name) === undefined;
import { punycodeDecode, punycodeEncode } from '../../src/match/punycode.js';
import { toAsciiIcu } from '../../src/match/uts46.js';
import { loggableBytes } from '../../src/match/table.js';
import { msg } from '../../src/util/msg.js';
import { repoRoot } from '../helpers/paths.js';

const nonTransitional = { transitional: false };

function capture(t: import('ava').ExecutionContext): string[] {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  return lines;
}

const accepted: Array<[string, string]> = [
  ['example.com', 'example.com'],
  ['Example.COM', 'example.com'],
  ['sub.example.com', 'sub.example.com'],
  ['foo-bar.example', 'foo-bar.example'],
  ['exa_mple.com', 'exa_mple.com'],
  ['bücher.example', 'xn--bcher-kva.example'],
  ['BÜCHER.Example', 'xn--bcher-kva.example'],
  ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ['straße.de', 'xn--strae-oqa.de'],
  ['x', 'x'],
  // A numeric last label is fine here (the URL rules would parse it as IPv4).
  ['x.192.0.2.1', 'x.192.0.2.1'],
  ['example.123', 'example.123'],
  ['a\u200db.test', 'xn--ab-m1t.test'],
];

for (const [site, ascii] of accepted) {
  test(`IDNA: "${site}" -> "${ascii}"`, (t) => {
    t.is(domainToAsciiPostfix(site, nonTransitional), ascii);
  });
}

const refused: Array<[string | Buffer, string]> = [
  ['[1.2.3.4]', 'malformed ASCII label(s)'],
  ['[IPv6:::1]', 'malformed ASCII label(s)'],
  ['1.2.3.4', 'malformed ASCII label(s)'],
  ['example.com.', 'malformed ASCII label(s)'],
  ['my domain.com', 'malformed ASCII label(s)'],
  ['a..b', 'UIDNA_ERROR_EMPTY_LABEL'],
  ['a-.com', 'UIDNA_ERROR_TRAILING_HYPHEN'],
  ['-a-.com', 'UIDNA_ERROR_LEADING_HYPHEN,UIDNA_ERROR_TRAILING_HYPHEN'],
  ['', 'UIDNA_ERROR_EMPTY_LABEL'],
  [`${'a'.repeat(64)}.com`, 'UIDNA_ERROR_LABEL_TOO_LONG'],
  ['ab--cd.com', 'UIDNA_ERROR_HYPHEN_3_4'],
  ['xn--zz.com', 'UIDNA_ERROR_PUNYCODE'],
  ['xn--.com', 'UIDNA_ERROR_INVALID_ACE_LABEL'],
  ['\u2488.com', 'UIDNA_ERROR_DISALLOWED'],
  [Buffer.from('b\xfccher.com', 'latin1'), 'malformed UTF-8'],
];

for (const [site, reason] of refused) {
  const shown = typeof site === 'string' ? site.slice(0, 40) : site.toString('hex');
  test.serial(`IDNA: "${shown}" is refused: ${reason}`, (t) => {
    const lines = capture(t);
    t.is(domainToAsciiPostfix(site, nonTransitional), null);
    // Shown as Postfix's logger shows bytes: one '?' per non-ASCII byte (smtputf8_enable = no).
    const quoted = loggableBytes(typeof site === 'string' ? Buffer.from(site, 'utf8') : site);
    t.deepEqual(lines, [`warning: midna_domain_to_ascii_create: Problem translating domain "${quoted}" to ASCII form: ${reason}`]);
  });
}

test.serial('a refusal is cached: the warning comes once per process', (t) => {
  const lines = capture(t);
  t.is(domainToAsciiPostfix('once..example', nonTransitional), null);
  t.is(domainToAsciiPostfix('once..example', nonTransitional), null);
  t.is(lines.length, 1);
});

test('IDNA2003 compatibility maps deviation characters transitionally', (t) => {
  t.is(domainToAsciiPostfix('straße.de', { transitional: true }), 'strasse.de');
  t.is(domainToAsciiPostfix('a\u200db.test', { transitional: true }), 'ab.test');
});

interface IdnaFixture {
  cases: Array<[string, 0 | 1, string | number]>;
}

test('UTS #46 ToASCII gives ICU 72\'s answer for every recorded name', (t) => {
  const fixture = JSON.parse(readFileSync(join(repoRoot, 'test/match/fixtures/idna-icu72.json'), 'utf8')) as IdnaFixture;
  const wrong = fixture.cases.filter(([name, transitional, expected]) => {
    const got = toAsciiIcu(name, transitional === 1);
    return 'ascii' in got ? got.ascii !== expected : got.errors !== expected;
  });
  t.deepEqual(wrong, []);
  t.true(fixture.cases.length > 2000);
});

test('log text: one \'?\' per byte, or valid UTF-8 when smtputf8 logging is on', (t) => {
  t.is(loggableBytes(Buffer.from('\u2488.com', 'utf8')), '???.com');
  t.is(loggableBytes(Buffer.from('b\xfc\x01', 'latin1')), 'b??');
  msg.allowUtf8 = true;
  t.teardown(() => {
    msg.allowUtf8 = false;
  });
  t.is(loggableBytes(Buffer.from('b\u00fccher', 'utf8')), 'b\u00fccher');
  t.is(loggableBytes(Buffer.from('b\xfccher', 'latin1')), 'b?cher');
});

test('Punycode round trips and rejects bad input', (t) => {
  const cps = [...'bücher'].map((c) => c.codePointAt(0) as number);
  t.is(punycodeEncode(cps), 'bcher-kva');
  t.deepEqual(punycodeDecode('bcher-kva'), cps);
  t.is(punycodeDecode('zz'), null);
  t.is(punycodeDecode('-abc'), null);
  t.is(punycodeDecode('ab\u00fc-x'), null);
});

test('valid_hostname rules', (t) => {
  t.true(isValidHostname('a-b.example'));
  t.true(isValidHostname('123.example'));
  t.false(isValidHostname('-ab.example'));
  t.false(isValidHostname('ab-.example'));
  t.false(isValidHostname('.example'));
  t.false(isValidHostname('example.'));
  t.false(isValidHostname('1.2.3.4'));
  t.false(isValidHostname('a'.repeat(64)));
  t.true(isValidHostname('a'.repeat(63)));
  t.false(isValidHostname(`${'a'.repeat(63)}.`.repeat(4) + 'ab'));
});
