/*
 * queue-path.test.ts - queuePath tables: dir_forest hashing, the long-queue-ID
 * rule, case-insensitive hash_queue_names, and panics on bad input. Every
 * example from spec-protocol-master.md §3.2/§3.7 and real-postfix.md is here.
 * groupByQueueDirectory (a send's bulk form) against queueDirectory per id.
 */
import test from 'ava';
import fc from 'fast-check';
import { groupByQueueDirectory, queueDirectory, queueHashing, queuePath } from '../../src/queue/queue-path.js';
import { FatalError } from '../../src/util/msg.js';

const defaults = queueHashing(['deferred', 'defer'], 1);
const flushDepth2 = queueHashing(['deferred', 'defer', 'flush'], 2);

const table: Array<[string, string, ReturnType<typeof queueHashing>, string]> = [
  // Defaults: deferred hashed one level by the first character, incoming and flush flat.
  ['deferred', '3F2A1B4C5D', defaults, 'deferred/3/3F2A1B4C5D'],
  ['deferred', '8612B2120E8', defaults, 'deferred/8/8612B2120E8'],
  ['incoming', '3F2A1B4C5D', defaults, 'incoming/3F2A1B4C5D'],
  ['incoming', '8612B2120E8', defaults, 'incoming/8612B2120E8'],
  ['flush', 'example_com', defaults, 'flush/example_com'],
  ['flush', 'example_test', defaults, 'flush/example_test'],
  ['defer', '3F2A1B4C5D', defaults, 'defer/3/3F2A1B4C5D'],
  // flush hashed at depth 2 (observed).
  ['flush', 'example_com', flushDepth2, 'flush/e/x/example_com'],
  ['flush', 'x', flushDepth2, 'flush/x/_/x'],
  ['flush', 'verylongdomainz_example_com', flushDepth2, 'flush/0/0/verylongdomainz_example_com'],
  ['deferred', '3F2A1B4C5D', flushDepth2, 'deferred/3/F/3F2A1B4C5D'],
  // Long queue IDs: microseconds field "1mB4" = 249292 = 0x3CDCC.
  ['deferred', '4dQ8Kc1mB4zJrQ', defaults, 'deferred/3/4dQ8Kc1mB4zJrQ'],
  ['deferred', '4dQ8Kc1mB4zJrQ', queueHashing(['deferred'], 3), 'deferred/3/C/D/4dQ8Kc1mB4zJrQ'],
  ['incoming', '4dQ8Kc1mB4zJrQ', defaults, 'incoming/4dQ8Kc1mB4zJrQ'],
  // The 'z' must be at index >= 10; the last 'z' counts.
  ['deferred', 'ABCDEFGHIz', defaults, 'deferred/A/ABCDEFGHIz'],
  ['deferred', 'bcdfghjklmz', defaults, 'deferred/5/bcdfghjklmz'], // "jklm" = 0x50FBB4
  // The largest field, "zzzz" = 0x6F90FF, prints with six digits.
  ['flush', 'BBBBBBzzzzz', flushDepth2, 'flush/6/F/BBBBBBzzzzz'],
  // A field with a character outside the safe alphabet decodes as 0.
  ['deferred', 'AAAAAAAAAAz', defaults, 'deferred/0/AAAAAAAAAAz'],
  ['deferred', 'BBBBBB_BBBz', defaults, 'deferred/0/BBBBBB_BBBz'],
  ['flush', 'zzzzzzzzzz_zzzz', flushDepth2, 'flush/0/0/zzzzzzzzzz_zzzz'],
  // Short names pad with '_'.
  ['flush', 'ab', queueHashing(['flush'], 3), 'flush/a/b/_/ab'],
  // hash_queue_names is case-insensitive.
  ['deferred', '3F2A1B4C5D', queueHashing(['DEFERRED'], 1), 'deferred/3/3F2A1B4C5D'],
  ['deferred', '3F2A1B4C5D', queueHashing([], 1), 'deferred/3F2A1B4C5D'],
];

for (const [queue, id, hashing, expected] of table) {
  test(`${queue} ${id} [${hashing.hashQueueNames.join(',')}; ${hashing.depth}] -> ${expected}`, (t) => {
    t.is(queuePath(queue, id, hashing), expected);
  });
}

test('a plain object literal works as the hashing rule', (t) => {
  t.is(queuePath('deferred', 'ABCDE', { hashQueueNames: ['deferred'], depth: 2 }), 'deferred/A/B/ABCDE');
});

test('bad queue IDs, queue names and depths panic', (t) => {
  t.throws(() => queuePath('deferred', 'bad.id', defaults), { instanceOf: FatalError, message: 'mail_queue_dir: bad queue id: bad.id' });
  t.throws(() => queuePath('deferred', '', defaults), { instanceOf: FatalError });
  t.throws(() => queuePath('../x', 'ABC', defaults), { instanceOf: FatalError, message: 'mail_queue_dir: bad queue name: ../x' });
  t.throws(() => queuePath('deferred', 'ABC', queueHashing(['deferred'], 0)), { instanceOf: FatalError, message: 'dir_forest: depth 0' });
  // An unhashed queue never looks at the depth.
  t.is(queuePath('incoming', 'ABC', queueHashing(['deferred'], 0)), 'incoming/ABC');
});

/** What groupByQueueDirectory must return: queueDirectory per id, groups in order of first appearance. */
function groupOneByOne(queue: string, ids: readonly string[], hashing: ReturnType<typeof queueHashing>): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const id of ids) {
    const dir = queueDirectory(queue, id, hashing);
    groups.set(dir, [...(groups.get(dir) ?? []), id]);
  }
  return [...groups];
}

test('groupByQueueDirectory groups as queueDirectory places each id, in order', (t) => {
  const ids = table.map(([, id]) => id);
  for (const hashing of [defaults, flushDepth2, queueHashing(['deferred', 'flush'], 3), queueHashing([], 1)]) {
    for (const queue of ['deferred', 'incoming', 'flush']) {
      t.deepEqual([...groupByQueueDirectory(queue, ids, hashing)], groupOneByOne(queue, ids, hashing), `${queue} ${hashing.depth}`);
    }
  }
  t.deepEqual([...groupByQueueDirectory('deferred', ['B1', 'A1', 'B2', 'B1'], defaults)], [
    ['deferred/B', ['B1', 'B2', 'B1']],
    ['deferred/A', ['A1']],
  ]);
  t.deepEqual([...groupByQueueDirectory('incoming', ['B1', 'A1'], defaults)], [['incoming', ['B1', 'A1']]]);
  t.deepEqual([...groupByQueueDirectory('deferred', [], defaults)], []);
  t.deepEqual([...groupByQueueDirectory('incoming', [], defaults)], []);
});

test('groupByQueueDirectory agrees with queueDirectory on any ids and depth (property)', (t) => {
  const idChar = fc.constantFrom(...'0123456789ABCDEFbcdfghjklmnpqrstvwxyzaeiouZ_'.split(''));
  const id = fc.array(idChar, { minLength: 1, maxLength: 18 }).map((chars) => chars.join(''));
  fc.assert(fc.property(fc.array(id, { maxLength: 80 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (ids, depth, hashed) => {
    const hashing = queueHashing(hashed ? ['deferred'] : [], depth);
    t.deepEqual([...groupByQueueDirectory('deferred', ids, hashing)], groupOneByOne('deferred', ids, hashing));
  }), { numRuns: 300, seed: 20261203 });
});

test('groupByQueueDirectory panics on a bad id or queue name, as queueDirectory does', (t) => {
  t.throws(() => groupByQueueDirectory('deferred', ['ABC', 'bad/id'], defaults), {
    instanceOf: FatalError, message: 'mail_queue_dir: bad queue id: bad/id',
  });
  t.throws(() => groupByQueueDirectory('incoming', ['ABC', '../x'], defaults), {
    instanceOf: FatalError, message: 'mail_queue_dir: bad queue id: ../x',
  });
  t.throws(() => groupByQueueDirectory('../x', [], defaults), {
    instanceOf: FatalError, message: 'mail_queue_dir: bad queue name: ../x',
  });
});
