/*
 * serialize.test.ts - the sender produces the bytes Postfix's attr_print* produce
 * (spec §1.2, §1.4, §1.5, §2.2).
 */
import test from 'ava';
import { serializeAttrs } from '../../src/protocol/serialize.js';
import type { OutAttr } from '../../src/protocol/types.js';
import { hexBytes } from './helpers.js';
import { REF_ATTR0, REF_ATTR64_LIST1, REF_LISTS, REF_PLAIN_LIST1, REQUEST_HEX } from './fixtures.js';

const str = (name: string, value: string | Buffer): OutAttr => ({ kind: 'str', name, value });

test('§1.4 attr0: the three reference lists, 246 bytes with the observed list boundaries', (t) => {
  const lists = REF_LISTS.map((l) => serializeAttrs('attr0', l));
  t.is(REF_ATTR0.length, 246);
  t.deepEqual(Buffer.concat(lists), REF_ATTR0);
  t.is(lists[0]?.length, 0x8f); // list 1 ends at offset 0x8e
  t.is((lists[0]?.length ?? 0) + (lists[1]?.length ?? 0), 0xe3); // list 2 ends at 0xe2
});

test('§1.4 attr64: list 1 exactly as the observed print test', (t) => {
  t.deepEqual(serializeAttrs('attr64', REF_LISTS[0] as OutAttr[]), REF_ATTR64_LIST1);
});

test('§1.4 plain: list 1 exactly as observed, including the stray NUL before LF in { and }', (t) => {
  t.deepEqual(serializeAttrs('plain', REF_LISTS[0] as OutAttr[]), REF_PLAIN_LIST1);
});

test('§1.4 lists 2 and 3 in attr64 and plain', (t) => {
  t.is(
    serializeAttrs('attr64', REF_LISTS[1] as OutAttr[]).toString('latin1'),
    'cHJvdG9jb2w=:dGVzdA==\nbnVtYmVy:NDcxMQ==\nbG9uZ19udW1iZXI=:MTIzNA==\nYm9vbA==:MA==\n' +
      'c3RyaW5n:d2hvb3BlZQ==\nZGF0YQ==:d2hvb3BlZQ==\n\n',
  );
  t.is(serializeAttrs('attr64', REF_LISTS[2] as OutAttr[]).toString('latin1'), 'cHJvdG9jb2w=:bm90LXRlc3Q=\n\n');
  t.is(
    serializeAttrs('plain', REF_LISTS[1] as OutAttr[]).toString('latin1'),
    'protocol=test\nnumber=4711\nlong_number=1234\nbool=false\nstring=whoopee\ndata=d2hvb3BlZQ==\n\n',
  );
  t.is(serializeAttrs('plain', REF_LISTS[2] as OutAttr[]).toString('latin1'), 'protocol=not-test\n\n');
});

test('§1.5 announcement and status 0 in the three encodings', (t) => {
  const announce = [str('protocol', 'queue_flush_protocol')];
  const status: OutAttr[] = [{ kind: 'int', name: 'status', value: 0 }];
  t.is(serializeAttrs('attr0', announce).toString('latin1'), 'protocol\0queue_flush_protocol\0\0');
  t.is(serializeAttrs('attr64', announce).toString('latin1'), 'cHJvdG9jb2w=:cXVldWVfZmx1c2hfcHJvdG9jb2w=\n\n');
  t.is(serializeAttrs('plain', announce).toString('latin1'), 'protocol=queue_flush_protocol\n\n');
  t.is(serializeAttrs('attr0', status).toString('latin1'), 'status\x000\0\0');
  t.is(serializeAttrs('attr64', status).toString('latin1'), 'c3RhdHVz:MA==\n\n');
  t.is(serializeAttrs('plain', status).toString('latin1'), 'status=0\n\n');
});

test('§2.2 client requests serialize to the observed bytes', (t) => {
  t.deepEqual(
    serializeAttrs('attr0', [str('request', 'add'), str('site', 'example.com'), str('queue_id', '3F2A1B4C5D')]),
    hexBytes(REQUEST_HEX.add),
  );
  t.deepEqual(
    serializeAttrs('attr0', [str('request', 'send_site'), str('site', 'example.com')]),
    hexBytes(REQUEST_HEX.send_site),
  );
  t.deepEqual(
    serializeAttrs('attr0', [str('request', 'send_file'), str('queue_id', '3F2A1B4C5D')]),
    hexBytes(REQUEST_HEX.send_file),
  );
  t.deepEqual(serializeAttrs('attr0', [str('request', 'rfrsh')]), hexBytes(REQUEST_HEX.rfrsh));
  t.deepEqual(serializeAttrs('attr0', [str('request', 'purge')]), hexBytes(REQUEST_HEX.purge));
});

test('int goes out as unsigned 32-bit, long as unsigned 64-bit', (t) => {
  const int = (value: number) =>
    serializeAttrs('attr0', [{ kind: 'int', name: 'n', value }], { more: true }).toString('latin1');
  const long = (value: number | bigint) =>
    serializeAttrs('attr0', [{ kind: 'long', name: 'n', value }], { more: true }).toString('latin1');
  t.is(int(-1), 'n\x004294967295\0');
  t.is(int(4711), 'n\x004711\0');
  t.is(int(2 ** 32), 'n\x000\0');
  t.is(int(-2147483648), 'n\x002147483648\0');
  t.is(long(-1), 'n\x0018446744073709551615\0');
  t.is(long(2n ** 63n), 'n\x009223372036854775808\0');
  t.is(long(1234), 'n\x001234\0');
  t.throws(() => int(1.5), { instanceOf: RangeError });
  t.throws(() => long(Number.NaN), { instanceOf: RangeError });
});

test('bool is 1/0 in attr0 and attr64, true/false in plain', (t) => {
  const attrs: OutAttr[] = [
    { kind: 'bool', name: 'b', value: true },
    { kind: 'bool', name: 'c', value: false },
  ];
  t.is(serializeAttrs('attr0', attrs).toString('latin1'), 'b\x001\0c\x000\0\0');
  t.is(serializeAttrs('attr64', attrs).toString('latin1'), 'Yg==:MQ==\nYw==:MA==\n\n');
  t.is(serializeAttrs('plain', attrs).toString('latin1'), 'b=true\nc=false\n\n');
});

test('data is base64 in every format, encoded once', (t) => {
  const attrs: OutAttr[] = [{ kind: 'data', name: 'd', value: Buffer.from([0, 1, 0xff]) }];
  t.is(serializeAttrs('attr0', attrs).toString('latin1'), 'd\0AAH/\0\0');
  t.is(serializeAttrs('attr64', attrs).toString('latin1'), 'ZA==:AAH/\n\n');
  t.is(serializeAttrs('plain', attrs).toString('latin1'), 'd=AAH/\n\n');
});

test('names, strings and hash entries stop at the first NUL, as strlen() does', (t) => {
  const attrs: OutAttr[] = [
    str('na\0me', Buffer.from('va\0lue')),
    { kind: 'hash', entries: [['k\0x', 'v\0y']] },
  ];
  t.is(serializeAttrs('attr0', attrs).toString('latin1'), 'na\0va\0{\0k\0v\0}\0\0');
  t.is(serializeAttrs('plain', attrs).toString('latin1'), 'na=va\n{\0\nk=v\n}\0\n\n');
});

test('more: no list terminator', (t) => {
  const attrs = [str('a', 'b')];
  t.is(serializeAttrs('attr0', attrs, { more: true }).toString('latin1'), 'a\0b\0');
  t.is(serializeAttrs('attr64', attrs, { more: true }).toString('latin1'), 'YQ==:Yg==\n');
  t.is(serializeAttrs('plain', attrs, { more: true }).toString('latin1'), 'a=b\n');
  t.is(serializeAttrs('attr0', []).toString('latin1'), '\0');
  t.is(serializeAttrs('plain', []).toString('latin1'), '\n');
});

test('UTF-8 strings are sent as UTF-8 bytes', (t) => {
  t.deepEqual(serializeAttrs('attr0', [str('site', 'bücher.example')], { more: true }), Buffer.from('site\0bücher.example\0'));
});
