/*
 * availability.test.ts - the records master(8) gets and when a process asks
 * for its successor (availability.ts), replayed through master's accounting
 * (fake-master.ts masterView): never two records of a kind in a row, one use
 * per completed connection.
 */
import test from 'ava';
import { MasterAvailability, SuccessorPolicy } from '../../src/lifecycle/availability.js';
import { masterView, type StatusRecord } from './fake-master.js';

function recorder(): { availability: MasterAvailability; records: StatusRecord[] } {
  const records: StatusRecord[] = [];
  const availability = new MasterAvailability((statuses) => {
    records.push(...statuses.map((status) => ({ pid: 1, generation: 1, status })));
  });
  return { availability, records };
}

test('a listening process stays available and reports each completion as one use', (t) => {
  const { availability, records } = recorder();
  for (let index = 0; index < 5; index += 1) availability.completed(false);
  t.deepEqual(masterView(records), { uses: 5, available: true });
  t.true(availability.isAvailable);
});

test('unavailable() says TAKEN once; completions then keep it taken until the last', (t) => {
  const { availability, records } = recorder();
  availability.completed(false);
  availability.unavailable();
  availability.unavailable();
  t.deepEqual(masterView(records), { uses: 1, available: false });
  availability.completed(true);
  availability.completed(true);
  t.deepEqual(masterView(records), { uses: 3, available: false });
  availability.completed(false);
  t.deepEqual(masterView(records), { uses: 4, available: true });
  t.is(records.length, 1 + 1 + 1 + 2 + 2 + 1);
});

test('any mix of calls gives a sequence master accepts, with exactly one use per completion', (t) => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let round = 0; round < 200; round += 1) {
    const { availability, records } = recorder();
    let completions = 0;
    for (let step = 0; step < 30; step += 1) {
      if (random() < 0.3) {
        availability.unavailable();
      } else {
        availability.completed(random() < 0.5);
        completions += 1;
      }
      const view = masterView(records);
      t.is(view.panic, undefined);
      t.is(view.uses, completions);
      t.is(view.available, availability.isAvailable);
    }
  }
});

test('successor: never without a use limit, nor from a single arrival', (t) => {
  const unlimited = new SuccessorPolicy(0, 50);
  for (let count = 1; count < 100; count += 1) t.false(unlimited.accepted(count, count));
  t.false(new SuccessorPolicy(100, 50).accepted(1, 0));
});

test('successor: asked for when the remaining uses at the current rate take less than twice the start-up', (t) => {
  // 1 ms between connections, start-up 50 ms: ask when fewer than 100 uses remain.
  const fast = new SuccessorPolicy(1000, 50);
  let asked = 0;
  for (let count = 1; count <= 1000 && asked === 0; count += 1) {
    if (fast.accepted(count, count)) asked = count;
  }
  t.is(asked, 901);
  // A burst (a backlog taken over from a predecessor) asks at once.
  const burst = new SuccessorPolicy(100, 50);
  burst.accepted(1, 5);
  t.true(burst.accepted(2, 5));
});

test('successor: a slow trickle asks only near the limit', (t) => {
  // One connection a second, start-up 60 ms: only the last use is within 120 ms.
  const slow = new SuccessorPolicy(100, 60);
  const asks: number[] = [];
  for (let count = 1; count < 100; count += 1) if (slow.accepted(count, count * 1000)) asks.push(count);
  t.deepEqual(asks, []);
});
