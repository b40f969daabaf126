/*
 * process-model.test.ts - fastflush's processes under the real master(8): master's accounting
 * must stay exactly right (no panic, no "bad command startup" for a process that served
 * anything), the number of processes stays bounded by the load, and killing the busy process
 * again and again under load never throttles the service nor loses an acknowledged id.
 *
 * Which process is "the busy one" is read from /proc/locks: the holder of the accept lock
 * (spool/pid/unix.flush) is the process that is listening; a waiting successor blocks on it.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { sleep, startInstance, waitFor, type PostfixInstance } from '../helpers/postfix-instance.js';
import { withPostfix } from '../helpers/postfix-variants.js';
import { acceptLockHolder } from '../reliability/processes.js';

const SITE = 'example.test';

function addRequest(site: string, queueId: string): Buffer {
  return Buffer.from(`request\0add\0site\0${site}\0queue_id\0${queueId}\0\0`, 'latin1');
}

/** Processes master started for the flush service: children of master working in the spool. */
function flushProcesses(pf: PostfixInstance): number[] {
  const masterPid = Number(readFileSync(join(pf.spoolDir, 'pid', 'master.pid'), 'latin1').trim());
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== masterPid || !readlinkSync(`/proc/${entry}/exe`).includes('node')) continue;
      pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function masterProblems(pf: PostfixInstance): string[] {
  return pf.maillog().split('\n').filter((line) => /\/master\[\d+\]: (panic|fatal|warning: .*bad command startup)/.test(line));
}

interface LoadResult {
  acknowledged: string[];
  /** Connections cut before the reply (a killed process): the client tried again. */
  cut: number;
  /** Replies that took longer than a throttled service would hold a client. */
  stalled: number;
}

/** `clients` clients sending adds into `result` until stopped(); each id is retried until acknowledged. */
function runLoad(pf: PostfixInstance, clients: number, stopped: () => boolean, result: LoadResult): Promise<void> {
  let serial = 0;
  const client = async (): Promise<void> => {
    while (!stopped()) {
      const queueId = `K${(serial += 1).toString(16).toUpperCase().padStart(8, '0')}`;
      for (;;) {
        const started = Date.now();
        const answer = await pf.rawFlush(addRequest(SITE, queueId), { timeoutMs: 20_000, allowSilence: true });
        if (Date.now() - started > 10_000) result.stalled += 1;
        if (answer.reply.equals(Buffer.from('status\x000\x00\x00', 'latin1'))) {
          result.acknowledged.push(queueId);
          break;
        }
        result.cut += 1;
        if (stopped()) return;
      }
    }
  };
  return Promise.all(Array.from({ length: clients }, client)).then(() => undefined);
}

function checkNoLoss(t: ExecutionContext, pf: PostfixInstance, acknowledged: string[]): void {
  const logged = new Set(pf.logfileIds(SITE));
  const lost = acknowledged.filter((id) => !logged.has(id));
  t.deepEqual(lost, [], `${lost.length} acknowledged ids missing from the logfile`);
}

withPostfix.serial('fastflush: sequential clients over short-lived processes; master accounts every use, processes stay bounded', async (t) => {
  const pf = await startInstance(t, { flushProgram: 'fastflush', flushArgs: ['-o', 'max_use=10'] });
  let most = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      most = Math.max(most, flushProcesses(pf).length);
      await sleep(5);
    }
  })();
  const acknowledged: string[] = [];
  try {
    for (let index = 0; index < 150; index += 1) {
      const queueId = `S${index.toString(16).toUpperCase().padStart(6, '0')}`;
      const answer = await pf.rawFlush(addRequest(SITE, queueId));
      t.deepEqual(answer.reply, Buffer.from('status\x000\x00\x00', 'latin1'), `reply to add ${queueId}`);
      acknowledged.push(queueId);
    }
  } finally {
    sampling = false;
    await sampler;
  }
  checkNoLoss(t, pf, acknowledged);
  t.deepEqual(pf.logfileIds(SITE), acknowledged, 'ids in request order, each once');
  // A listener, its waiting successor, and a predecessor finishing its last request.
  t.true(most >= 1 && most <= 3, `at most 3 flush processes at once (saw ${most})`);
  t.deepEqual(masterProblems(pf), []);
});

withPostfix.serial('fastflush: 100 kill -9 of the busy process under load: no throttling, no acknowledged id lost', async (t) => {
  const pf = await startInstance(t, { flushProgram: 'fastflush', flushArgs: ['-o', 'max_use=1000'] });
  let stop = false;
  const result: LoadResult = { acknowledged: [], cut: 0, stalled: 0 };
  const load = runLoad(pf, 6, () => stop, result);
  const killed = new Set<number>();
  try {
    for (let trial = 0; trial < 100; trial += 1) {
      const victim = await waitFor(() => {
        const pid = acceptLockHolder(pf.spoolDir);
        return pid !== undefined && !killed.has(pid) ? pid : null;
      }, 20_000, `a new listening process (trial ${trial})`);
      // Busy: adds answered since it took over can only be its own (its predecessor was killed),
      // so it has completed connections. A process killed in its first connection is a bad
      // start-up for master, whatever the program (C's too).
      const before = result.acknowledged.length;
      await waitFor(() => result.acknowledged.length >= before + 3, 20_000, `adds served by ${victim}`);
      await sleep(20);
      killed.add(victim);
      try {
        process.kill(victim, 'SIGKILL');
      } catch {
        // It retired on its own meanwhile.
      }
    }
  } finally {
    stop = true;
  }
  await load;
  t.log(`kills ${killed.size}, acknowledged adds ${result.acknowledged.length}, cut connections ${result.cut}`);
  t.is(result.stalled, 0, 'no client waited for a throttled service');
  t.true(result.acknowledged.length > killed.size, 'the load kept being served');
  checkNoLoss(t, pf, result.acknowledged);
  t.deepEqual(masterProblems(pf), []);
});
