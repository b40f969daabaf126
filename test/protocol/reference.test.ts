/*
 * reference.test.ts - the receiver against the reference vectors of spec §1.4
 * (Postfix's attr_scan*.ref) and the flush conversations of §2.1-§2.3.
 */
import test from 'ava';
import { AttrReader } from '../../src/protocol/reader.js';
import { serializeAttrs } from '../../src/protocol/serialize.js';
import { ATTR_FLAG, type AttrFormat, type OutAttr, type ScanResult } from '../../src/protocol/types.js';
import { captureMessages, chunkSource, hexBytes, readAll } from './helpers.js';
import {
  ANNOUNCEMENT_HEX,
  REF_ATTR0,
  REF_ATTR64_LIST1,
  REF_LISTS,
  REF_PLAIN_LIST1,
  REF_SCANS,
  REQUEST_HEX,
  STATUS_HEX,
} from './fixtures.js';

const { STRICT, MORE, NONE } = ATTR_FLAG;
const whoopee = Buffer.from('whoopee');

/** The §1.4 byte stream for a format: observed bytes where the spec quotes them. */
function referenceStream(format: AttrFormat): Buffer {
  if (format === 'attr0') return REF_ATTR0;
  const rest = REF_LISTS.slice(1).map((l) => serializeAttrs(format, l));
  return Buffer.concat([format === 'attr64' ? REF_ATTR64_LIST1 : REF_PLAIN_LIST1, ...rest]);
}

for (const format of ['attr0', 'attr64', 'plain'] as const) {
  test.serial(`§1.4 ${format}: reference scan returns 8, 5, -1 with the expected values and warning`, async (t) => {
    const { result, messages } = await captureMessages(() =>
      readAll(format, [referenceStream(format)], [...REF_SCANS, { flags: STRICT, wanted: [] }]),
    );
    const [one, two, three, four] = result as [ScanResult, ScanResult, ScanResult, ScanResult];
    t.is(one.count, 8);
    t.is(one.values.get('number'), 4711);
    t.is(one.values.get('long_number'), 4321n); // wanted twice: the later value stays
    t.is(one.values.get('bool'), true);
    t.is(one.values.get('string'), 'whoopee');
    t.deepEqual(one.values.get('data'), whoopee);
    t.false(one.values.has('protocol'));
    t.deepEqual(
      one.hash,
      new Map([
        ['bar-name', 'bar-value'],
        ['foo-name', 'foo-value'],
      ]),
    );
    t.is(two.count, 5);
    t.is(two.values.get('bool'), false);
    t.is(two.values.get('long_number'), 1234n);
    t.is(two.hash.size, 0);
    t.is(three.count, -1);
    t.deepEqual(messages, ['warning: unexpected protocol not-test from unknown_stream (expected: test)']);
    t.is(four.count, 0); // end of input at the start of a scan is not an error
  });

  test.serial(`§1.4 ${format}: list 1 read in two parts with ATTR_FLAG_MORE`, async (t) => {
    const reader = new AttrReader(format, chunkSource([referenceStream(format)]), { streamName: 'unknown_stream' });
    const first = await reader.scan(STRICT | MORE, (REF_SCANS[0]?.wanted ?? []).slice(0, 7));
    t.is(first.count, 7);
    t.is(first.values.get('long_number'), 1234n);
    t.is(first.hash.size, 2);
    t.is(await reader.scanMore(), 1);
    const second = await reader.scan(STRICT, [{ kind: 'long', name: 'long_number' }]);
    t.is(second.count, 1);
    t.is(second.values.get('long_number'), 4321n);
    // the terminator was consumed; list 2 starts next
    const two = await reader.scan(STRICT, REF_SCANS[1]?.wanted ?? []);
    t.is(two.count, 5);
  });
}

/** Reads a request the way flush(8) does: request first (STRICT|MORE), then the rest (STRICT). */
async function flushRead(bytes: Buffer | Buffer[], rest: Array<'site' | 'queue_id'>, end: Error | null = null) {
  return captureMessages(async () => {
    const reader = new AttrReader('attr0', chunkSource(Array.isArray(bytes) ? bytes : [bytes], end), {
      streamName: 'flush socket',
    });
    const req = await reader.scan(STRICT | MORE, [{ kind: 'str', name: 'request' }]);
    const tail = req.count === 1 ? await reader.scan(STRICT, rest.map((name) => ({ kind: 'str' as const, name }))) : null;
    return { req, tail, reader };
  });
}

test.serial('§2.2 add / send_site / send_file / rfrsh / purge as the server reads them', async (t) => {
  const add = await flushRead(hexBytes(REQUEST_HEX.add), ['site', 'queue_id']);
  t.is(add.result.req.values.get('request'), 'add');
  t.is(add.result.tail?.count, 2);
  t.is(add.result.tail?.values.get('site'), 'example.com');
  t.is(add.result.tail?.values.get('queue_id'), '3F2A1B4C5D');

  const site = await flushRead(hexBytes(REQUEST_HEX.send_site), ['site']);
  t.is(site.result.req.values.get('request'), 'send_site');
  t.is(site.result.tail?.count, 1);

  const file = await flushRead(hexBytes(REQUEST_HEX.send_file), ['queue_id']);
  t.is(file.result.req.values.get('request'), 'send_file');
  t.is(file.result.tail?.values.get('queue_id'), '3F2A1B4C5D');

  for (const name of ['rfrsh', 'purge'] as const) {
    const r = await flushRead(hexBytes(REQUEST_HEX[name]), []);
    t.is(r.result.req.values.get('request'), name);
    t.is(r.result.tail?.count, 0);
    t.is(r.result.reader.bufferedBytes(), 0);
  }
  t.deepEqual([add, site, file].flatMap((r) => r.messages), []);
});

test.serial('§2.1/§2.2 client side: announcement and every status reply', async (t) => {
  const { result, messages } = await captureMessages(() =>
    readAll(
      'attr0',
      [hexBytes(ANNOUNCEMENT_HEX), ...STATUS_HEX.map(([, hex]) => hexBytes(hex))],
      [
        { flags: STRICT, wanted: [{ kind: 'streq', name: 'protocol', expected: 'queue_flush_protocol' }] },
        ...STATUS_HEX.map(() => ({ flags: STRICT, wanted: [{ kind: 'int' as const, name: 'status' }] })),
      ],
      'public/flush socket',
    ),
  );
  t.is(result[0]?.count, 0);
  STATUS_HEX.forEach(([code], i) => {
    t.is(result[i + 1]?.count, 1);
    t.is(result[i + 1]?.values.get('status'), code);
  });
  t.deepEqual(messages, []);
});

test.serial('§2.2 wakeup: "W" NUL in trigger mode, also as two 1-byte writes', async (t) => {
  const whole = new AttrReader('attr0', chunkSource([hexBytes(REQUEST_HEX.wakeup)]), { streamName: 'flush socket' });
  t.is(await whole.readNullTerminated(), 'W');
  const split = new AttrReader('attr0', chunkSource([Buffer.from('W'), Buffer.from([0])]), { streamName: 'x' });
  t.is(await split.readNullTerminated(), 'W');
});

test.serial('§2.3 empty connection: trigger read gives null, a scan gives 0', async (t) => {
  const { result, messages } = await captureMessages(async () => {
    const a = new AttrReader('attr0', chunkSource([]), { streamName: 'flush socket' });
    const b = new AttrReader('attr0', chunkSource([]), { streamName: 'flush socket' });
    return [await a.readNullTerminated(), (await b.scan(STRICT | MORE, [{ kind: 'str', name: 'request' }])).count];
  });
  t.deepEqual(result, [null, 0]);
  t.deepEqual(messages, []);
});

test.serial('§2.3 add with request twice', async (t) => {
  const bytes = Buffer.from('request\0add\0request\0add\0site\0example.com\0queue_id\0ID\0\0');
  const { result, messages } = await flushRead(bytes, ['site', 'queue_id']);
  t.is(result.tail?.count, 0);
  t.deepEqual(messages, ['warning: unexpected attribute request from flush socket (expecting: site)']);
});

test.serial('§2.3 add without queue_id', async (t) => {
  const { result, messages } = await flushRead(Buffer.from('request\0add\0site\0example.com\0\0'), ['site', 'queue_id']);
  t.is(result.tail?.count, 1);
  t.deepEqual(messages, ['warning: missing attribute queue_id in input from flush socket']);
});

test.serial('§2.3 add with queue_id before site: stops at queue_id', async (t) => {
  const bytes = Buffer.from('request\0add\0queue_id\0ID\0site\0example.com\0\0');
  const { result, messages } = await flushRead(bytes, ['site', 'queue_id']);
  t.is(result.tail?.count, 0);
  t.deepEqual(messages, ['warning: unexpected attribute queue_id from flush socket (expecting: site)']);
  // EXTRA leaves the surplus attribute's value unread
  t.is(await result.reader.readNullTerminated(), 'ID');
});

test.serial('§2.3 surplus attribute after the last needed one: warning, count still complete', async (t) => {
  const bytes = Buffer.from('request\0send_site\0site\0example.com\0x\0y\0\0');
  const { result, messages } = await flushRead(bytes, ['site']);
  t.is(result.tail?.count, 1);
  t.is(result.tail?.values.get('site'), 'example.com');
  t.deepEqual(messages, ['warning: unexpected attribute x from flush socket (expecting: (list terminator))']);
});

test.serial('§2.3 leading unexpected attribute', async (t) => {
  const { result, messages } = await flushRead(Buffer.from('x\0y\0request\0add\0\0'), ['site']);
  t.is(result.req.count, 0);
  t.is(result.tail, null);
  t.deepEqual(messages, ['warning: unexpected attribute x from flush socket (expecting: request)']);
});

test.serial('§2.3 list not terminated after request=purge: the request is still read', async (t) => {
  let reads = 0;
  const source = chunkSource([Buffer.from('request\0purge\0')], null, () => reads++);
  const reader = new AttrReader('attr0', source, { streamName: 'flush socket' });
  const { result, messages } = await captureMessages(() => reader.scan(STRICT | MORE, [{ kind: 'str', name: 'request' }]));
  t.is(result.count, 1);
  t.is(result.values.get('request'), 'purge');
  t.is(reads, 1); // MORE: nothing beyond the value was needed
  t.deepEqual(messages, []);
});

test.serial('§2.3 last string lacks its NUL at EOF', async (t) => {
  const { result, messages } = await flushRead(Buffer.from('request\0send_site\0site\0example.com'), ['site']);
  t.is(result.tail?.count, -1);
  t.deepEqual(messages, ['warning: unexpected end-of-input from flush socket while reading input attribute value']);
});

test.serial('§2.3 request=W in attribute form and unknown names are read as plain strings', async (t) => {
  for (const name of ['W', 'RFRSH', 'refresh']) {
    const { result } = await flushRead(serializeAttrs('attr0', [{ kind: 'str', name: 'request', value: name }]), []);
    t.is(result.req.values.get('request'), name);
  }
});

test.serial('§2.1 size trick: a client that sends "re" first is read as the trigger string "request"', async (t) => {
  const request = hexBytes(REQUEST_HEX.add);
  const source = chunkSource([request.subarray(2)]);
  const reader = new AttrReader('attr0', source, { streamName: 'flush socket' });
  reader.unshift(request.subarray(0, 2));
  t.is(await reader.readNullTerminated(), 'request');
});

test.serial('the daemon can hand its first chunk back and scan normally', async (t) => {
  const request = hexBytes(REQUEST_HEX.add);
  for (const cut of [1, 5, 20, request.length]) {
    const reader = new AttrReader('attr0', chunkSource([request.subarray(cut)]), { streamName: 'flush socket' });
    reader.unshift(request.subarray(0, cut));
    const req = await reader.scan(STRICT | MORE, [{ kind: 'str', name: 'request' }]);
    const rest = await reader.scan(STRICT, [
      { kind: 'str', name: 'site' },
      { kind: 'str', name: 'queue_id' },
    ]);
    t.is(req.values.get('request'), 'add');
    t.is(rest.count, 2);
  }
});

const flushAttr = (name: string, value: string): OutAttr => ({ kind: 'str', name, value });

test.serial('flush request built in every format reads back the same', async (t) => {
  for (const format of ['attr0', 'attr64', 'plain'] as const) {
    const bytes = serializeAttrs(format, [flushAttr('request', 'add'), flushAttr('site', 'example.com'), flushAttr('queue_id', 'Q')]);
    const [req, rest] = await readAll(format, [bytes], [
      { flags: STRICT | MORE, wanted: [{ kind: 'str', name: 'request' }] },
      { flags: NONE, wanted: [{ kind: 'str', name: 'site' }, { kind: 'str', name: 'queue_id' }] },
    ]);
    t.is(req?.values.get('request'), 'add', format);
    t.is(rest?.count, 2, format);
  }
});
