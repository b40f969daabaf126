/*
 * base64.test.ts - Postfix base64_code.c rules (spec §1.2 notes).
 */
import test from 'ava';
import { Base64StreamDecoder, base64Decode, base64Encode } from '../../src/protocol/base64.js';
import { Rng, splitRandom } from './helpers.js';

const dec = (s: string) => base64Decode(s)?.toString('latin1') ?? null;

test('encode: standard alphabet, padding, no line breaks', (t) => {
  t.is(base64Encode(Buffer.from('whoopee')), 'd2hvb3BlZQ==');
  t.is(base64Encode(Buffer.from('')), '');
  t.is(base64Encode(Buffer.from('f')), 'Zg==');
  t.is(base64Encode(Buffer.from('fo')), 'Zm8=');
  t.is(base64Encode(Buffer.from('foo')), 'Zm9v');
  t.is(base64Encode(Buffer.from([0xfb, 0xff, 0xbf])), '+/+/');
  t.false(base64Encode(Buffer.alloc(200)).includes('\n'));
});

test('decode: valid input', (t) => {
  t.is(dec('d2hvb3BlZQ=='), 'whoopee');
  t.is(dec(''), '');
  t.is(dec('Zg=='), 'f');
  t.is(dec('Zm8='), 'fo');
  t.is(dec('Zm9v'), 'foo');
  t.is(dec('Zm9vYmFy'), 'foobar');
  t.deepEqual(base64Decode('+/+/'), Buffer.from([0xfb, 0xff, 0xbf]));
});

test('decode: length must be a multiple of 4', (t) => {
  t.is(dec('Zg'), null);
  t.is(dec('Zg='), null);
  t.is(dec('Zm9vY'), null);
  t.is(dec('Zg==A'), null);
});

test('decode: a byte outside the alphabet fails, NUL and URL-safe characters included', (t) => {
  t.is(dec('Zm9*'), null);
  t.is(dec('Zm 9'), null);
  t.is(dec('Zm9-'), null);
  t.is(dec('Zm9_'), null);
  t.is(dec('Zm9\0'), null);
  t.is(dec('=AAA'), null);
  t.is(dec('A=AA'), null);
  t.is(dec('Zm9vZ*=='), null);
});

test('decode: "=" in position 3 or 4 ends decoding; the rest is ignored', (t) => {
  t.is(dec('Zg=A'), 'f');
  t.is(dec('Zg==!!!!'), 'f');
  t.is(dec('Zm8=Zm9v'), 'fo');
  t.is(dec('Zm9vZg==*=*='), 'foof');
  // but the total length still has to be a multiple of 4
  t.is(dec('Zg==!!'), null);
});

test('decode: non-canonical trailing bits are accepted, as in C', (t) => {
  t.is(dec('Zh=='), 'f');
  t.is(dec('Zm9='), 'fo');
});

test('round trip of every byte value', (t) => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  t.deepEqual(base64Decode(base64Encode(all)), all);
});

test('the stream decoder gives the same answer for any split', (t) => {
  const rng = new Rng(7);
  const inputs = ['d2hvb3BlZQ==', 'Zm9vYmFy', 'Zg==!!!!', 'Zm9*', 'Zg', '', 'Zm9vZg==*=*='];
  for (let i = 0; i < 40; i++) {
    const bytes = Buffer.from(Array.from({ length: rng.int(0, 60) }, () => rng.int(0, 255)));
    inputs.push(base64Encode(bytes));
  }
  for (const input of inputs) {
    for (let round = 0; round < 5; round++) {
      const out: Buffer[] = [];
      const d = new Base64StreamDecoder({ write: (p) => out.push(Buffer.from(p)) });
      for (const part of splitRandom(Buffer.from(input, 'latin1'), rng)) d.write(part);
      const whole = base64Decode(input);
      t.is(d.finish(), whole !== null, input);
      if (whole) t.deepEqual(Buffer.concat(out), whole, input);
      t.is(d.rawHead().toString('latin1'), input.slice(0, 100));
    }
  }
});
