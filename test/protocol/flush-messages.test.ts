/*
 * flush-messages.test.ts - the flush protocol's fixed messages match the bytes
 * observed against real Postfix (spec §0.1-§0.3, §2.1, §2.2).
 */
import test from 'ava';
import {
  FLUSH_ANNOUNCEMENT,
  FLUSH_REQUEST,
  FLUSH_STATUS,
  MAIL_ATTR,
  TRIGGER_REQ_WAKEUP,
  flushRequest,
  flushStatusReply,
} from '../../src/protocol/flush-messages.js';
import { hexBytes } from './helpers.js';
import { ANNOUNCEMENT_HEX, REQUEST_HEX, STATUS_HEX } from './fixtures.js';

test('announcement: the 31 bytes of §2.1', (t) => {
  t.is(FLUSH_ANNOUNCEMENT.length, 31);
  t.deepEqual(FLUSH_ANNOUNCEMENT, hexBytes(ANNOUNCEMENT_HEX));
});

test('status replies: the bytes of §2.2, FAIL as 4294967295', (t) => {
  for (const [code, hex] of STATUS_HEX) t.deepEqual(flushStatusReply(code), hexBytes(hex), String(code));
  t.deepEqual(flushStatusReply(FLUSH_STATUS.FAIL), Buffer.from('status\x004294967295\0\0', 'latin1'));
});

test('status codes and names', (t) => {
  t.deepEqual(FLUSH_STATUS, { OK: 0, BAD: 3, DENY: 4, FAIL: -1 });
  t.deepEqual(FLUSH_REQUEST, { ADD: 'add', SEND_SITE: 'send_site', SEND_FILE: 'send_file', REFRESH: 'rfrsh', PURGE: 'purge' });
  t.is(TRIGGER_REQ_WAKEUP, 'W');
  t.is(MAIL_ATTR.PROTO_FLUSH, 'queue_flush_protocol');
});

test('requests: the bytes of §2.2', (t) => {
  t.deepEqual(flushRequest('add', { site: 'example.com', queueId: '3F2A1B4C5D' }), hexBytes(REQUEST_HEX.add));
  t.deepEqual(flushRequest('send_site', { site: 'example.com' }), hexBytes(REQUEST_HEX.send_site));
  t.deepEqual(flushRequest('send_file', { queueId: '3F2A1B4C5D' }), hexBytes(REQUEST_HEX.send_file));
  t.deepEqual(flushRequest('rfrsh'), hexBytes(REQUEST_HEX.rfrsh));
  t.deepEqual(flushRequest('purge'), hexBytes(REQUEST_HEX.purge));
});

test('requests: attributes a request does not use are not sent; missing ones throw', (t) => {
  t.deepEqual(flushRequest('send_file', { site: 'ignored', queueId: '3F2A1B4C5D' }), hexBytes(REQUEST_HEX.send_file));
  t.throws(() => flushRequest('add', { site: 'example.com' }), { instanceOf: TypeError });
  t.throws(() => flushRequest('send_site'), { instanceOf: TypeError });
  t.throws(() => flushRequest('send_file'), { instanceOf: TypeError });
});
