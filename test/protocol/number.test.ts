/*
 * number.test.ts - INT/LONG value parsing matches glibc sscanf("%u%c") /
 * sscanf("%lu%c") as Postfix uses it (spec §1.3, observed values).
 */
import test from 'ava';
import { scanInt, scanLong, scanUnsigned } from '../../src/protocol/number.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('INT: the values observed with glibc (spec §1.3)', (t) => {
  const cases: Array<[string, number | null]> = [
    ['0', 0],
    ['07', 7],
    [' 7', 7],
    ['+5', 5],
    ['-1', -1],
    ['4294967295', -1],
    ['4294967296', 0],
    ['99999999999', 1215752191],
    ['7 ', null],
    ['0x10', null],
    ['', null],
    ['abc', null],
  ];
  for (const [text, want] of cases) t.is(scanInt(b(text)), want, JSON.stringify(text));
});

test('INT: more glibc corners', (t) => {
  const cases: Array<[string, number | null]> = [
    ['\t\n\v\f\r 42', 42],
    ['-0', 0],
    ['-5', -5],
    ['2147483648', -2147483648],
    ['-99999999999', -1215752191],
    ['18446744073709551615', -1], // 2^64-1
    ['18446744073709551616', -1], // overflow saturates at 2^64-1
    ['-18446744073709551616', -1], // saturation ignores the sign
    ['-18446744073709551615', 1], // -(2^64-1) mod 2^64
    ['00000000000000000000000000042', 42],
    ['+', null],
    ['-', null],
    ['+-1', null],
    ['- 1', null],
    [' ', null],
    ['1 2', null],
    ['12a', null],
    ['\u0663', null], // non-ASCII digit
  ];
  for (const [text, want] of cases) t.is(scanInt(b(text)), want, JSON.stringify(text));
});

test('text ends at the first NUL, as sscanf sees a C string', (t) => {
  t.is(scanInt(b('7\0junk')), 7);
  t.is(scanInt(b('\x007')), null);
});

test('LONG: unsigned 64-bit, read back as a C long', (t) => {
  const cases: Array<[string, bigint | null]> = [
    ['1234', 1234n],
    ['4294967296', 4294967296n],
    ['-1', -1n],
    ['18446744073709551615', -1n],
    ['18446744073709551616', -1n],
    ['9223372036854775807', 9223372036854775807n],
    ['9223372036854775808', -9223372036854775808n],
    [' +99999999999', 99999999999n],
    ['1.5', null],
    ['', null],
  ];
  for (const [text, want] of cases) t.is(scanLong(b(text)), want, JSON.stringify(text));
});

test('scanUnsigned keeps the unsigned value', (t) => {
  t.is(scanUnsigned(b('-1'), 32), 4294967295n);
  t.is(scanUnsigned(b('-1'), 64), 18446744073709551615n);
  t.is(scanUnsigned(b('x'), 64), null);
});
