/*
 * fixtures.ts - wire bytes quoted in spec-protocol-master.md (§1.4, §1.5, §2.1,
 * §2.2), observed against real Postfix, and the reference scan of §1.4.
 *
 * Exports: REF_ATTR0, REF_ATTR64_LIST1, REF_PLAIN_LIST1, REF_LISTS, REF_SCANS,
 * ANNOUNCEMENT_HEX, REQUEST_HEX, STATUS_HEX.
 */

import { hexBytes } from './helpers.js';
import { ATTR_FLAG, type OutAttr, type Wanted } from '../../src/protocol/types.js';

/** §1.4: the three reference lists in attr0, 246 bytes. */
export const REF_ATTR0 = hexBytes(`
0000  70 72 6f 74 6f 63 6f 6c 00 74 65 73 74 00 6e 75  protocol.test.nu
0010  6d 62 65 72 00 34 37 31 31 00 6c 6f 6e 67 5f 6e  mber.4711.long_n
0020  75 6d 62 65 72 00 31 32 33 34 00 62 6f 6f 6c 00  umber.1234.bool.
0030  31 00 73 74 72 69 6e 67 00 77 68 6f 6f 70 65 65  1.string.whoopee
0040  00 64 61 74 61 00 64 32 68 76 62 33 42 6c 5a 51  .data.d2hvb3BlZQ
0050  3d 3d 00 7b 00 62 61 72 2d 6e 61 6d 65 00 62 61  ==.{.bar-name.ba
0060  72 2d 76 61 6c 75 65 00 66 6f 6f 2d 6e 61 6d 65  r-value.foo-name
0070  00 66 6f 6f 2d 76 61 6c 75 65 00 7d 00 6c 6f 6e  .foo-value.}.lon
0080  67 5f 6e 75 6d 62 65 72 00 34 33 32 31 00 00 70  g_number.4321..p
0090  72 6f 74 6f 63 6f 6c 00 74 65 73 74 00 6e 75 6d  rotocol.test.num
00a0  62 65 72 00 34 37 31 31 00 6c 6f 6e 67 5f 6e 75  ber.4711.long_nu
00b0  6d 62 65 72 00 31 32 33 34 00 62 6f 6f 6c 00 30  mber.1234.bool.0
00c0  00 73 74 72 69 6e 67 00 77 68 6f 6f 70 65 65 00  .string.whoopee.
00d0  64 61 74 61 00 64 32 68 76 62 33 42 6c 5a 51 3d  data.d2hvb3BlZQ=
00e0  3d 00 00 70 72 6f 74 6f 63 6f 6c 00 6e 6f 74 2d  =..protocol.not-
00f0  74 65 73 74 00 00                                test..
`);

/** §1.4: list 1 of the attr64 print test. */
export const REF_ATTR64_LIST1 = Buffer.from(
  [
    'cHJvdG9jb2w=:dGVzdA==',
    'bnVtYmVy:NDcxMQ==',
    'bG9uZ19udW1iZXI=:MTIzNA==',
    'Ym9vbA==:MQ==',
    'c3RyaW5n:d2hvb3BlZQ==',
    'ZGF0YQ==:d2hvb3BlZQ==',
    'ew==',
    'YmFyLW5hbWU=:YmFyLXZhbHVl',
    'Zm9vLW5hbWU=:Zm9vLXZhbHVl',
    'fQ==',
    'bG9uZ19udW1iZXI=:NDMyMQ==',
    '',
    '',
  ].join('\n'),
  'latin1',
);

/** §1.4: list 1 of the plain print test, with its stray NULs after "{" and "}". */
export const REF_PLAIN_LIST1 = Buffer.from(
  'protocol=test\nnumber=4711\nlong_number=1234\nbool=true\nstring=whoopee\ndata=d2hvb3BlZQ==\n' +
    '{\0\nbar-name=bar-value\nfoo-name=foo-value\n}\0\nlong_number=4321\n\n',
  'latin1',
);

const whoopee = Buffer.from('whoopee');

/** §1.4: what the print test sends, as OutAttr lists (hash in the order the .ref shows). */
export const REF_LISTS: OutAttr[][] = [
  [
    { kind: 'str', name: 'protocol', value: 'test' },
    { kind: 'int', name: 'number', value: 4711 },
    { kind: 'long', name: 'long_number', value: 1234 },
    { kind: 'bool', name: 'bool', value: true },
    { kind: 'str', name: 'string', value: 'whoopee' },
    { kind: 'data', name: 'data', value: whoopee },
    { kind: 'hash', entries: [['bar-name', 'bar-value'], ['foo-name', 'foo-value']] },
    { kind: 'long', name: 'long_number', value: 4321 },
  ],
  [
    { kind: 'str', name: 'protocol', value: 'test' },
    { kind: 'int', name: 'number', value: 4711 },
    { kind: 'long', name: 'long_number', value: 1234 },
    { kind: 'bool', name: 'bool', value: false },
    { kind: 'str', name: 'string', value: 'whoopee' },
    { kind: 'data', name: 'data', value: whoopee },
  ],
  [{ kind: 'str', name: 'protocol', value: 'not-test' }],
];

const SIX: Wanted[] = [
  { kind: 'streq', name: 'protocol', expected: 'test' },
  { kind: 'int', name: 'number' },
  { kind: 'long', name: 'long_number' },
  { kind: 'bool', name: 'bool' },
  { kind: 'str', name: 'string' },
  { kind: 'data', name: 'data' },
];

/** §1.4: the three scans of the reference scanner, all ATTR_FLAG_STRICT. */
export const REF_SCANS: Array<{ flags: number; wanted: Wanted[] }> = [
  { flags: ATTR_FLAG.STRICT, wanted: [...SIX, { kind: 'hash' }, { kind: 'long', name: 'long_number' }] },
  { flags: ATTR_FLAG.STRICT, wanted: SIX },
  { flags: ATTR_FLAG.STRICT, wanted: [{ kind: 'streq', name: 'protocol', expected: 'test' }] },
];

/** §2.1: the announcement. */
export const ANNOUNCEMENT_HEX = `
0000  70 72 6f 74 6f 63 6f 6c 00 71 75 65 75 65 5f 66  protocol.queue_f
0010  6c 75 73 68 5f 70 72 6f 74 6f 63 6f 6c 00 00     lush_protocol..
`;

/** §2.2: client requests. */
export const REQUEST_HEX = {
  add: `
0000  72 65 71 75 65 73 74 00 61 64 64 00 73 69 74 65  request.add.site
0010  00 65 78 61 6d 70 6c 65 2e 63 6f 6d 00 71 75 65  .example.com.que
0020  75 65 5f 69 64 00 33 46 32 41 31 42 34 43 35 44  ue_id.3F2A1B4C5D
0030  00 00                                            ..
`,
  send_site: `
0000  72 65 71 75 65 73 74 00 73 65 6e 64 5f 73 69 74  request.send_sit
0010  65 00 73 69 74 65 00 65 78 61 6d 70 6c 65 2e 63  e.site.example.c
0020  6f 6d 00 00                                      om..
`,
  send_file: `
0000  72 65 71 75 65 73 74 00 73 65 6e 64 5f 66 69 6c  request.send_fil
0010  65 00 71 75 65 75 65 5f 69 64 00 33 46 32 41 31  e.queue_id.3F2A1
0020  42 34 43 35 44 00 00                             B4C5D..
`,
  rfrsh: '72 65 71 75 65 73 74 00 72 66 72 73 68 00 00',
  purge: '72 65 71 75 65 73 74 00 70 75 72 67 65 00 00',
  wakeup: '57 00',
} as const;

/** §2.2: server replies. */
export const STATUS_HEX: Array<[number, string]> = [
  [0, '73 74 61 74 75 73 00 30 00 00'],
  [3, '73 74 61 74 75 73 00 33 00 00'],
  [4, '73 74 61 74 75 73 00 34 00 00'],
  [-1, '73 74 61 74 75 73 00 34 32 39 34 39 36 37 32 39 35 00 00'],
];
