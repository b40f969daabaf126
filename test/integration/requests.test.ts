/*
 * requests.test.ts - the real Postfix clients drive flush: `postqueue -s`, `sendmail -qR` and
 * SMTP ETRN (send_site) move a site's deferred mail to incoming/ and truncate the logfile;
 * `postqueue -i` (send_file) moves one message and leaves the logfile alone. qmgr's
 * "(queue active)" maillog lines show each re-delivery attempt; with the sink accepting, a
 * flush delivers the mail for good.
 */
import { statSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import type { PostfixInstance } from '../helpers/postfix-instance.js';
import { startInstance, waitFor } from '../helpers/postfix-instance.js';
import { deferMail, waitActivations, waitRelogged } from '../helpers/postfix-scenario.js';
import { PROGRAMS, withPostfix } from '../helpers/postfix-variants.js';

const SITE = 'example.test';
const RCPT = `rcpt@${SITE}`;

const siteFlushes: Record<string, (t: ExecutionContext, pf: PostfixInstance) => Promise<void>> = {
  'postqueue -s': async (t, pf) => {
    const r = await pf.postqueue(['-s', SITE]);
    t.is(r.code, 0, r.stderr);
  },
  'sendmail -qR': async (t, pf) => {
    const r = await pf.sendmail([`-qR${SITE}`]);
    t.is(r.code, 0, r.stderr);
  },
  'SMTP ETRN': async (t, pf) => {
    t.is(await pf.etrn(SITE), '250 Queuing started');
    t.is(await pf.etrn('noflush.test'), '459 <noflush.test>: service unavailable');
  },
};

for (const program of PROGRAMS) {
  for (const [name, flushSite] of Object.entries(siteFlushes)) {
    withPostfix.serial(`${program}: ${name} re-queues the site's deferred mail`, async (t) => {
      const pf = await startInstance(t, { flushProgram: program, sinkMode: 'defer' });
      const ids = await deferMail(pf, 2, RCPT);
      const other = await deferMail(pf, 1, 'rcpt@noflush.test');
      t.true(ids.every((id) => pf.activations(id) === 1));

      await flushSite(t, pf);
      await waitActivations(pf, ids, 2);
      /* The logfile was truncated, then each re-deferral appended its id once. */
      await waitRelogged(pf, SITE, ids, 1);
      t.is(pf.activations(other[0] as string), 1, 'other sites stay deferred');
      t.deepEqual(pf.flushLogLines(), []);
    });
  }

  withPostfix.serial(`${program}: ETRN with the sink accepting delivers the mail, empties the logfile`, async (t) => {
    const pf = await startInstance(t, { flushProgram: program, sinkMode: 'defer' });
    const ids = await deferMail(pf, 3, RCPT);
    await pf.setSinkMode('accept');

    t.is(await pf.etrn(SITE), '250 Queuing started');
    await waitFor(() => ids.every((id) => new RegExp(`: ${id}: removed$`, 'm').test(pf.maillog())), 20_000,
      'delivery of every message');
    t.deepEqual(pf.queueIds('deferred'), []);
    t.is(statSync(pf.logfile(SITE)).size, 0, 'the logfile is truncated, not removed');
    t.deepEqual(pf.flushLogLines(), []);
  });

  withPostfix.serial(`${program}: postqueue -i re-queues one message and leaves the logfile`, async (t) => {
    /* flush's qmgr trigger goes nowhere, so the moved file waits in incoming/ until we kick qmgr. */
    const pf = await startInstance(t, {
      flushProgram: program, sinkMode: 'defer', flushArgs: ['-o', 'queue_service_name=noqmgr'],
    });
    const [id, otherId] = (await deferMail(pf, 2, RCPT)) as [string, string];

    const r = await pf.postqueue(['-i', id]);
    t.is(r.code, 0, r.stderr);
    const moved = pf.queueFile('incoming', id);
    t.truthy(moved, 'moved to incoming/');
    t.is(statSync(moved as string).mode & 0o7777, 0o740, 'g+r set: the unthrottle hint for qmgr');
    t.is(pf.queueFile('deferred', id), null);
    t.truthy(pf.queueFile('deferred', otherId), 'only the named message moves');
    t.deepEqual(pf.logfileIds(SITE).sort(), [id, otherId].sort(), 'logfile untouched');

    await pf.kick('qmgr', 'I');
    await waitActivations(pf, [id], 2);
    /* send_file does not truncate: after the re-deferral the id is listed twice. */
    await waitRelogged(pf, SITE, [id], 2);
    t.is(pf.activations(otherId), 1);

    const missing = await pf.postqueue(['-i', 'NOSUCHID123']);
    t.is(missing.code, 0, 'a missing queue file is not an error');
    await pf.logMarker('requests-done');
    t.deepEqual(pf.flushLogLines(), ['warning: unable to look up public/noqmgr: No such file or directory']);
  });
}
