/*
 * status.test.ts - cutting master's status stream into 12-byte messages
 * (src/cli/master/status.ts), with the bytes observed from the real flush.
 */
import test from 'ava';
import { endianness } from 'node:os';
import { MASTER_STAT_AVAIL, MASTER_STAT_TAKEN, StatusFramer } from '../../src/cli/master/status.js';

// pid 22784 (0x5900), generation 1, TAKEN then AVAIL (spec-protocol-master.md §5.5), little-endian.
const TAKEN = Buffer.from('005900000100000000000000', 'hex');
const AVAIL = Buffer.from('005900000100000001000000', 'hex');

(endianness() === 'LE' ? test : test.skip)('observed messages, whole, split and glued', (t) => {
  const framer = new StatusFramer();
  t.deepEqual(framer.push(TAKEN), [{ pid: 22784, generation: 1, status: MASTER_STAT_TAKEN }]);
  t.deepEqual(framer.push(AVAIL.subarray(0, 5)), []);
  t.is(framer.pending(), 5);
  t.is(framer.pendingPid(), 22784);
  t.deepEqual(framer.push(Buffer.concat([AVAIL.subarray(5), TAKEN, AVAIL.subarray(0, 2)])), [
    { pid: 22784, generation: 1, status: MASTER_STAT_AVAIL },
    { pid: 22784, generation: 1, status: MASTER_STAT_TAKEN },
  ]);
  t.is(framer.pending(), 2);
  t.is(framer.pendingPid(), null);
});
