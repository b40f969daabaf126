/*
 * queue-id.test.ts - isValidQueueId (mail_queue_id_ok) accepts 1..255 bytes of
 * [A-Za-z0-9_] and nothing else.
 */
import test from 'ava';
import { isValidQueueId } from '../../src/queue/queue-id.js';

const valid = ['3F2A1B4C5D', '8612B2120E8', '4dQ8Kc1mB4zJrQ', 'example_com', 'x', '_', 'A'.repeat(255)];
const invalid = [
  '',
  'A'.repeat(256),
  'bad.id',
  'a-b',
  'a b',
  'abc\n',
  'abc\r',
  '../etc',
  'a/b',
  'ab\0c',
  'bücher',
  'ＡＢＣ',
];

for (const id of valid) {
  test(`valid: ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…(${id.length})` : id)}`, (t) => {
    t.true(isValidQueueId(id));
  });
}

for (const id of invalid) {
  test(`invalid: ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…(${id.length})` : id)}`, (t) => {
    t.false(isValidQueueId(id));
  });
}
