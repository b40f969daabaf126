/*
 * wakeup.test.ts - master's periodic wakeup (`W` NUL) makes flush run a refresh pass with no
 * client involved: a logfile whose atime is 2 days old is flushed (its mail re-queued), an
 * empty logfile untouched for 8 days is deleted, younger ones stay.
 */
import { existsSync, statSync, utimesSync } from 'node:fs';
import { sleep, startInstance, waitFor } from '../helpers/postfix-instance.js';
import { deferMail, waitActivations, waitRelogged } from '../helpers/postfix-scenario.js';
import { PROGRAMS, withPostfix } from '../helpers/postfix-variants.js';

const DAY = 86_400_000;

for (const program of PROGRAMS) {
  withPostfix.serial(`${program}: master's wakeup refreshes old logfiles and purges stale empty ones`, async (t) => {
    const pf = await startInstance(t, { flushProgram: program, sinkMode: 'defer', flushWakeup: '2?' });
    const ids = await deferMail(pf, 2, 'rcpt@example.test');
    await sleep(2500);
    t.true(ids.every((id) => pf.activations(id) === 1), 'wakeups leave a young logfile alone');
    const now = Date.now();
    const daysAgo = (days: number): { atime: Date; mtime: Date } =>
      ({ atime: new Date(now - days * DAY), mtime: new Date(now - days * DAY) });
    const stale = pf.writeLogfile('stale_example_test', '', daysAgo(8));
    const young = pf.writeLogfile('young_example_test', '', daysAgo(6));

    /* Age the real logfile's atime only; it must not be read again before the refresh. */
    const logfile = pf.logfile('example.test');
    utimesSync(logfile, new Date(now - 2 * DAY), statSync(logfile).mtime);

    await waitActivations(pf, ids, 2, 15_000);
    t.true(statSync(logfile).atime.getTime() > now - 60_000, 'the refresh reset the atime');
    await waitRelogged(pf, 'example.test', ids, 1);
    await waitFor(() => !existsSync(stale), 10_000, 'the stale empty logfile to be removed');
    t.true(existsSync(young), 'an empty logfile younger than fast_flush_purge_time stays');
    t.deepEqual(pf.flushLogLines(), []);
  });
}
