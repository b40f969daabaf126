/*
 * postfix-scenario.ts - multi-step situations shared by the integration tests: deferred mail
 * and its re-delivery attempts, observed through the queue, the flush logfile and the maillog.
 */
import type { PostfixInstance } from './postfix-instance.js';
import { waitFor } from './postfix-instance.js';

/** Domain of a recipient address. */
function domainOf(rcpt: string): string {
  return rcpt.slice(rcpt.lastIndexOf('@') + 1);
}

/**
 * Submit `n` messages to `rcpt` (the sink must be deferring) and wait until all are in the
 * deferred queue with their deferral logged, and, for example.test, listed in its logfile.
 * Returns the new queue ids, sorted.
 */
export async function deferMail(pf: PostfixInstance, n: number, rcpt: string): Promise<string[]> {
  const before = new Set([...pf.queueIds('deferred'), ...pf.queueIds('incoming'), ...pf.queueIds('active')]);
  await pf.inject(n, rcpt);
  const site = domainOf(rcpt);
  const fastFlush = site === 'example.test' || site.endsWith('.example.test');
  return await waitFor(() => {
    const ids = pf.queueIds('deferred').filter((id) => !before.has(id));
    if (ids.length !== n) return null;
    const log = pf.maillog();
    const deferred = (id: string): RegExp => new RegExp(`: ${id}: to=<${rcpt.replace(/\./g, '\\.')}>.*status=deferred`);
    if (!ids.every((id) => deferred(id).test(log))) return null;
    const logged = new Set(pf.logfileIds(site));
    return !fastFlush || ids.every((id) => logged.has(id)) ? ids : null;
  }, 30_000, `${n} deferred message(s) to ${rcpt}`);
}

/** Wait until qmgr has taken every id into the active queue `times` times in total. */
export async function waitActivations(pf: PostfixInstance, ids: string[], times: number,
  timeoutMs = 20_000): Promise<void> {
  await waitFor(() => ids.every((id) => pf.activations(id) >= times), timeoutMs,
    `${times} activations of ${ids.join(', ')}`);
}

/** Wait until every id is deferred again and listed in the site's logfile `times` times. */
export async function waitRelogged(pf: PostfixInstance, site: string, ids: string[], times: number): Promise<void> {
  await waitFor(() => {
    const deferred = new Set(pf.queueIds('deferred'));
    const logged = pf.logfileIds(site);
    return ids.every((id) => deferred.has(id) && logged.filter((l) => l === id).length === times);
  }, 20_000, `${ids.join(', ')} deferred and logged ${times}x for ${site}`);
}
