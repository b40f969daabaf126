/*
 * deferral.test.ts - real delivery agents report deferred mail to flush with `add`: the
 * queue ids land in spool/flush/example_test (one per line, 0600, owned by postfix); mail
 * for a relayed but non-fast-flush domain leaves no logfile.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { startInstance } from '../helpers/postfix-instance.js';
import { deferMail } from '../helpers/postfix-scenario.js';
import { PROGRAMS, withPostfix } from '../helpers/postfix-variants.js';

for (const program of PROGRAMS) {
  withPostfix.serial(`${program}: deferred mail is logged in spool/flush/example_test`, async (t) => {
    const pf = await startInstance(t, { flushProgram: program, sinkMode: 'defer' });

    const ids = await deferMail(pf, 3, 'rcpt@example.test');
    const path = pf.logfile('example.test');
    const text = readFileSync(path, 'latin1');
    t.regex(text, /^([0-9A-F]+\n)+$/, 'one queue id plus LF per line');
    t.deepEqual(text.split('\n').filter((l) => l !== '').sort(), ids);
    const st = statSync(path);
    t.is(st.mode & 0o7777, 0o600);
    t.is(st.uid, pf.postfixUid);
    t.is(st.gid, pf.postfixGid);

    await deferMail(pf, 1, 'rcpt@noflush.test');
    t.false(existsSync(pf.logfile('noflush.test')), 'no logfile for a domain outside fast_flush_domains');
    t.deepEqual(pf.logfileIds('example.test').sort(), ids, 'example.test logfile unchanged');
    t.deepEqual(pf.flushLogLines(), [], 'flush logged nothing');
  });
}
