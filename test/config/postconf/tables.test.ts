/*
 * tables.test.ts - the pieces behind parameter display: the built-in table
 * agrees with the daemon-side table (params.ts), scanning for `$name`, and
 * the computed mynetworks default.
 */
import test from 'ava';
import { PARAMS } from '../../../src/config/params.js';
import { BUILTIN_DEFAULTS, RAW_PARAMETERS, READ_ONLY_PARAMETERS } from '../../../src/config/postconf/builtin-3.7.js';
import { scanMacroNames } from '../../../src/config/postconf/scan.js';
import { computeMynetworks, type LocalAddress } from '../../../src/config/postconf/mynetworks.js';
import { collectWarnings } from './helpers.js';

test('the built-in table is sorted, unique, and agrees with params.ts on every shared default', (t) => {
  const names = BUILTIN_DEFAULTS.map(([name]) => name);
  t.deepEqual(names, [...names].sort());
  t.is(new Set(names).size, names.length);
  const table = new Map(BUILTIN_DEFAULTS);
  for (const spec of PARAMS.values()) {
    if (spec.compute !== undefined || spec.readOnly) continue;
    t.is(table.get(spec.name), spec.fastflushOnly ? undefined : spec.default, spec.name);
  }
  for (const name of RAW_PARAMETERS) t.true(table.has(name), name);
  t.deepEqual([...READ_ONLY_PARAMETERS].sort(), ['process_id', 'process_name', 'service_name']);
});

function scan(value: string): { names: string[]; warnings: string[] } {
  const names: string[] = [];
  const { warn, warnings } = collectWarnings();
  scanMacroNames(value, (name) => names.push(name), warn);
  return { names, warnings };
}

test('scanning visits both branches and both operands, and never evaluates', (t) => {
  t.deepEqual(scan('$a ${b} $(c) $$d ${e?$f:$g} ${h:{$i}}').names, ['a', 'b', 'c', 'e', 'f', 'g', 'h', 'i']);
  t.deepEqual(scan('${{$a} == {$b} ? {$c} : {$d}}').names, ['a', 'b', 'c', 'd']);
  t.deepEqual(scan('${{$compatibility_level} <level {x} ? {$p} : {$q}}'), { names: ['compatibility_level', 'p', 'q'], warnings: [] });
  t.deepEqual(scan('${ a }').names, ['a']);
});

test('scanning reports syntax errors like expansion, once', (t) => {
  t.deepEqual(scan('${bar').warnings, ['truncated macro reference: "${bar"']);
  t.deepEqual(scan('$').warnings, ['empty macro name: "$"']);
  t.deepEqual(scan('${na me}').warnings, ['attribute name syntax error at: "...na>>> me"']);
  t.deepEqual(scan('${{$a} =x= {b}}').warnings, ['"==" or "!="" or "<"" or "<="" or ">="" or ">" expected at: "...$a}>>>=x= {b}"']);
  t.deepEqual(scan('${{a} ==blah {b}}').warnings, ['bad operator suffix at: "...==>>>blah"']);
  t.deepEqual(scan('${x?{a}b}').warnings, ['":" expected at: "...a}>>>b"']);
});

const ADDRESSES: LocalAddress[] = [
  { family: 4, bytes: [127, 0, 0, 1], mask: [255, 0, 0, 0], internal: true },
  { family: 6, bytes: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0, 0xff, 0xfe, 0, 0, 1], mask: [...Array(8).fill(255), ...Array(8).fill(0)], internal: false },
  { family: 4, bytes: [192, 0, 2, 2], mask: [255, 255, 255, 0], internal: false },
  { family: 6, bytes: [...Array(15).fill(0), 1], mask: Array(16).fill(255), internal: true },
  { family: 4, bytes: [172, 16, 5, 9], mask: [255, 255, 255, 0], internal: false },
];

test('mynetworks: IPv4 first, sorted; subnet, host and class styles; trailing space kept', (t) => {
  t.is(computeMynetworks('subnet', 'all', 'all', ADDRESSES), '127.0.0.0/8 172.16.5.0/24 192.0.2.0/24 [::1]/128 [fe80::]/64 ');
  t.is(computeMynetworks('host', 'ipv4', 'all', ADDRESSES), '127.0.0.1/32 172.16.5.9/32 192.0.2.2/32 ');
  t.is(computeMynetworks('class', 'all', 'all', ADDRESSES), '127.0.0.0/8 172.16.0.0/16 192.0.2.0/24 [::1]/128 [fe80::]/64 ');
  t.is(computeMynetworks('host', 'ipv6', 'all', ADDRESSES), '[::1]/128 [fe80::fc:ff:fe00:1]/128 ');
  t.is(computeMynetworks('subnet', 'all', 'loopback-only', ADDRESSES), '127.0.0.0/8 [::1]/128 ');
  t.is(computeMynetworks('subnet', 'all', '192.0.2.2', ADDRESSES), '192.0.2.0/24 ');
  t.throws(() => computeMynetworks('host subnet', 'all', 'all', ADDRESSES), { message: 'bad mynetworks_style value: host subnet; specify exactly one value' });
  t.throws(() => computeMynetworks('HOST', 'all', 'all', ADDRESSES), { message: 'unknown mynetworks mask style value "HOST" in "HOST"' });
  t.throws(() => computeMynetworks('host', 'bogus', 'all', ADDRESSES), { message: 'unknown inet_protocols value "bogus" in "bogus"' });
});
