/*
 * Site names to ASCII as Postfix's EAI build does (spec-protocol-master.md §3.1).
 */
import test from 'ava';
import { domainToAsciiPostfix } from '../../src/match/idna.js';
import { isValidHostname } from '../../src/match/hostname.js';
import { msg } from '../../src/util/msg.js';

const nonTransitional = { transitional: false };

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
];

for (const [site, ascii] of accepted) {
  test(`IDNA: "${site}" -> "${ascii}"`, (t) => {
    t.is(domainToAsciiPostfix(site, nonTransitional), ascii);
  });
}

const refused = ['[1.2.3.4]', '[IPv6:::1]', '1.2.3.4', 'example.com.', 'a..b', 'a-.com', 'my domain.com', '', 'a'.repeat(64) + '.com', 'ab--cd.com'];

for (const site of refused) {
  test(`IDNA: "${site.slice(0, 40)}" is refused with a warning`, (t) => {
    const warnings: string[] = [];
    const drop = msg.addSink((severity, text) => severity === 'warning' && warnings.push(text));
    t.teardown(drop);
    t.is(domainToAsciiPostfix(site, nonTransitional), null);
    t.regex(warnings[0] ?? '', /^midna_domain_to_ascii_create: Problem translating domain ".*" to ASCII form: /);
  });
}

test('IDNA2003 compatibility maps deviation characters transitionally', (t) => {
  t.is(domainToAsciiPostfix('straße.de', { transitional: true }), 'strasse.de');
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
