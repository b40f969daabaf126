/*
 * swap.test.ts - logfile interoperability: a logfile written by one flush program (through
 * real deferrals) is flushed correctly by the other after a restart with the program swapped,
 * and back again. c→c checks the restart machinery itself.
 */
import type { FlushProgram } from '../helpers/postfix-instance.js';
import { startInstance } from '../helpers/postfix-instance.js';
import { deferMail, waitActivations, waitRelogged } from '../helpers/postfix-scenario.js';
import { withPostfix } from '../helpers/postfix-variants.js';

const SITE = 'example.test';
const PAIRS: Array<[FlushProgram, FlushProgram]> = [['c', 'c'], ['c', 'fastflush'], ['fastflush', 'c']];

for (const [first, second] of PAIRS) {
  withPostfix.serial(`${first} writes, ${second} flushes, and back`, async (t) => {
    const pf = await startInstance(t, { flushProgram: first, sinkMode: 'defer' });
    const ids = await deferMail(pf, 2, `rcpt@${SITE}`);

    let round = 1;
    for (const program of [second, first]) {
      await pf.restart({ flushProgram: program });
      t.deepEqual(pf.logfileIds(SITE).sort(), ids, `logfile kept across the restart into ${program}`);
      const r = await pf.postqueue(['-s', SITE]);
      t.is(r.code, 0, r.stderr);
      round += 1;
      await waitActivations(pf, ids, round);
      /* Re-deferred, and re-logged by the program now running. */
      await waitRelogged(pf, SITE, ids, 1);
    }
    t.deepEqual(pf.flushLogLines(), []);
  });
}
