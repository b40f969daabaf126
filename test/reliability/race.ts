/*
 * race.ts - concurrency under the real master(8): N clients x M `add`s to a few sites, racing
 * `send_site`, `send_file`, `rfrsh`, `purge` and wakeups (ours, and master's own every second),
 * over real deferred mail (injected through smtpd; smtp-sink defers it, so qmgr cycles every
 * flushed file back to deferred/ and smtp adds it to its logfile again), with short max_use and
 * max_idle so processes turn over during the race, optionally SIGKILLing, at intervals, a
 * random flush process that is in the middle of a request (it holds a logfile open) and has
 * been alive for a while under load (it has served before). Program 'mixed' runs fastflush as `flush` and Postfix's C daemon as
 * `flushc` on the same queue, with the clients split between the two sockets.
 *
 * The ledger: every request's outcome and its start and end on one monotonic clock. At the
 * end, when the queue is quiet:
 *   - every queue file is where one queue file should be: exactly once, bytes unchanged;
 *   - every line of every logfile is a queue id somebody added (no torn lines);
 *   - every add that answered 0 is listed in its site's logfile, unless something may have
 *     consumed it since it started: a send_site of that site that ended after the add began,
 *     or a purge issued less than PURGE_SLACK_MS before it began (purge answers first and works
 *     afterwards). rfrsh and wakeups only walk (fast_flush_refresh_time stays 12h, so no
 *     logfile is old enough to send) and remove empty logfiles, fast_flush_purge_time=1s, which
 *     makes them race adds for the same file. Purges stop halfway through each client's
 *     requests (the clients then wait PURGE_SLACK_MS together), and one witness site never gets a send_site, so its adds of the second half
 *     are held to the strict rule.
 * Also counted: flush processes seen, peak RSS, kills, master's "bad command startup" lines,
 * flush processes that died without being killed, and fatal/panic lines of flush processes.
 *
 * Exports: RaceOptions, RaceFigures, runRace.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { flushRequest, type FlushRequestName } from '../../src/protocol/flush-messages.js';
import { PostfixInstance, logfileName, waitFor, type FlushProgram } from '../helpers/postfix-instance.js';
import { deferMail } from '../helpers/postfix-scenario.js';
import { acceptLockHolder, holdsLogfile, ProcessSampler, type FlushProcess } from './processes.js';
import { censusQueue, compareCensus, logfileLines } from './queue-state.js';
import { pick, seededRandom } from './random.js';
import { flushCall, wakeup, type CallResult } from './wire.js';

export type RaceProgram = FlushProgram | 'mixed';

export interface RaceOptions {
  program: RaceProgram;
  seed: number;
  clients: number;
  addsPerClient: number;
  /** Deferred messages injected before the race (their ids are half of the ids added). */
  realMessages: number;
  /** SIGKILL a random flush process this often (0: never). */
  killEveryMs: number;
  maxUse: number;
  maxIdle: number;
}

export interface RaceFigures {
  program: RaceProgram;
  clients: number;
  requests: Record<string, number>;
  /** Requests that got no status (killed server, reset): not in the ledger. */
  unanswered: number;
  processesSeen: number;
  peakRssKiB: number;
  kills: number;
  /** Status-0 adds checked; of them, how many had to be listed (no consumer could have taken them). */
  idsChecked: number;
  idsStrict: number;
  idsLost: number;
  /** Lost ids per service that answered the add (mixed runs: flush = fastflush, flushc = C). */
  idsLostByService: Record<string, number>;
  filesLost: number;
  filesDuplicated: number;
  filesChanged: number;
  tornLines: number;
  badStartups: number;
  unexpectedExits: number;
  fatalLines: number;
  durationMs: number;
  failures: string[];
}

const SITES = ['example.test', 'a.example.test', 'b.example.test', 'c.example.test'];
/** The witness site gets adds but no send_site: after the purges stop, its adds must all stay listed. */
const SENT_SITES = SITES.slice(0, 3);
const PURGE_SLACK_MS = 5000;
const VICTIM_MIN_AGE_MS = 1500;
const MIXED_C_SERVICE = 'flushc';

interface AddRecord { site: string; id: string; service: string; start: number; status: number }
interface SendRecord { site: string; end: number }

/** The request mix for one step of a client (adds dominate, as in production). */
type Step = 'add' | 'send_site' | 'send_file' | 'rfrsh' | 'purge' | 'wakeup';
const STEP_WEIGHTS: Array<[Step, number]> = [
  ['add', 80], ['send_site', 8], ['send_file', 5], ['rfrsh', 2], ['purge', 2], ['wakeup', 3],
];

function chooseStep(random: () => number, purgeAllowed: boolean): Step {
  const weights = STEP_WEIGHTS.filter(([step]) => purgeAllowed || step !== 'purge');
  let x = random() * weights.reduce((sum, [, w]) => sum + w, 0);
  for (const [step, w] of weights) {
    x -= w;
    if (x < 0) return step;
  }
  return 'add';
}

function flushArgs(options: RaceOptions): string[] {
  return ['-o', `max_use=${options.maxUse}`, '-o', `max_idle=${options.maxIdle}s`, '-o', 'fast_flush_purge_time=1s'];
}

export async function startRaceInstance(options: RaceOptions): Promise<PostfixInstance> {
  const args = flushArgs(options);
  return await PostfixInstance.start({
    flushProgram: options.program === 'c' ? 'c' : 'fastflush',
    flushWakeup: '1',
    flushArgs: args,
    mainCf: {
      fast_flush_domains: SITES.join(', '),
      relay_domains: `${SITES.join(', ')}, noflush.test`,
      // Killed processes that master takes for broken start-ups stall the service for this long.
      service_throttle_time: '2s',
    },
    extraMasterCf: options.program === 'mixed'
      ? `${MIXED_C_SERVICE}    unix  n       -       n       1       0       flush ${args.join(' ')}\n`
      : '',
  });
}

/** arrive() resolves once `parties` callers have arrived and `then` has run. */
function barrier(parties: number, then: () => Promise<unknown>): { arrive(): Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return {
    async arrive() {
      arrived++;
      if (arrived === parties) void then().then(open);
      await opened;
    },
  };
}

export async function runRace(options: RaceOptions, log: (line: string) => void = () => undefined): Promise<RaceFigures> {
  const pf = await startRaceInstance(options);
  try {
    return await race(pf, options, log);
  } finally {
    pf.stop();
  }
}

async function race(pf: PostfixInstance, options: RaceOptions, log: (line: string) => void): Promise<RaceFigures> {
  const began = performance.now();
  const realIds = await deferMail(pf, options.realMessages, 'rcpt@example.test');
  log(`race ${options.program}: ${realIds.length} deferred messages injected`);
  const before = censusQueue(pf.spoolDir);
  const maillogStart = pf.maillog().length;
  const services = options.program === 'mixed' ? ['flush', MIXED_C_SERVICE] : ['flush'];
  const socketOf = (service: string): string => join(pf.spoolDir, 'public', service);

  const sampler = new ProcessSampler(pf.spoolDir, 50);
  const killed = new Set<number>();
  const killerRandom = seededRandom(options.seed ^ 0x5eed);
  let racing = true;
  const killer = (async () => {
    if (options.killEveryMs <= 0) return;
    while (racing) {
      await sleep(options.killEveryMs * (0.5 + killerRandom()));
      // A busy victim that has served before: in the middle of a request (it holds a logfile
      // open) or listening (it holds the accept lock; synchronous queue I/O holds a logfile for
      // microseconds only), alive for VICTIM_MIN_AGE_MS under load, and seen to complete a
      // connection. A process that has completed none, however old, has no use counted by
      // master, which takes its death for a broken start-up, C's included: a successor that
      // waited long for the accept lock, or a listener while the clients pause, is such a process.
      let victims: FlushProcess[] = [];
      for (let tries = 0; racing && victims.length === 0 && tries < 200; tries++) {
        const now = performance.now();
        victims = sampler.sample().filter((p) => now - (sampler.firstSeen.get(p.pid) ?? now) >= VICTIM_MIN_AGE_MS
          && sampler.hasServed(p.pid)
          && (holdsLogfile(p.pid, pf.spoolDir) || acceptLockHolder(pf.spoolDir) === p.pid));
        if (victims.length === 0) await sleep(5);
      }
      if (!racing || victims.length === 0) continue;
      const victim = pick(killerRandom, victims);
      try {
        process.kill(victim.pid, 'SIGKILL');
        killed.add(victim.pid);
      } catch {
        // It exited on its own meanwhile.
      }
    }
  })();

  const adds: AddRecord[] = [];
  const sends: SendRecord[] = [];
  const purgeIssues: number[] = [];
  const requests: Record<string, number> = {};
  let unanswered = 0;
  const known = new Set<string>(realIds);
  const count = (step: string, result?: CallResult): void => {
    requests[step] = (requests[step] ?? 0) + 1;
    if (result !== undefined && result.status === null) unanswered++;
  };

  // Halfway, every client waits until the last purge's walk must be over.
  const halfway = barrier(options.clients, () => sleep(PURGE_SLACK_MS));
  const client = async (index: number): Promise<void> => {
    const random = seededRandom(options.seed * 1000 + index);
    const service = services[index % services.length] as string;
    const socket = socketOf(service);
    let added = 0;
    let serial = 0;
    let secondHalf = false;
    while (added < options.addsPerClient) {
      if (!secondHalf && added >= options.addsPerClient / 2) {
        secondHalf = true;
        await halfway.arrive();
      }
      const step = chooseStep(random, !secondHalf);
      const site = pick(random, SITES);
      if (step === 'add') {
        const id = random() < 0.5 ? pick(random, realIds) : `S${index}n${serial++}`;
        known.add(id);
        const result = await flushCall(socket, flushRequest('add', { site, queueId: id }));
        count(step, result);
        if (result.status === 0) adds.push({ site, id, service, start: result.start, status: 0 });
        added++;
      } else if (step === 'send_site') {
        const site = pick(random, SENT_SITES);
        const result = await flushCall(socket, flushRequest('send_site', { site }));
        count(step, result);
        sends.push({ site, end: result.end });
      } else if (step === 'send_file') {
        count(step, await flushCall(socket, flushRequest('send_file', { queueId: pick(random, realIds) })));
      } else if (step === 'wakeup') {
        count(step);
        await wakeup(socket);
      } else {
        const result = await flushCall(socket, flushRequest(step as FlushRequestName));
        count(step, result);
        if (step === 'purge') purgeIssues.push(result.start);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  racing = false;
  await killer;
  log(`race ${options.program}: ${adds.length} adds answered 0; waiting for the queue to settle`);

  // Quiet: purges done, qmgr has cycled every flushed file back to deferred/.
  await sleep(2000);
  await waitFor(() => {
    const census = censusQueue(pf.spoolDir);
    return realIds.every((id) => census.get(id)?.[0]?.queue === 'deferred' && census.get(id)?.length === 1);
  }, 120_000, 'every message back in deferred/').catch(() => undefined);
  await sleep(1000);
  sampler.stop();

  const figures: RaceFigures = {
    program: options.program, clients: options.clients, requests, unanswered,
    processesSeen: sampler.seen.size, peakRssKiB: sampler.peakRssKiB, kills: killed.size,
    idsChecked: 0, idsStrict: 0, idsLost: 0, idsLostByService: {}, filesLost: 0, filesDuplicated: 0, filesChanged: 0,
    tornLines: 0, badStartups: 0, unexpectedExits: 0, fatalLines: 0, durationMs: 0, failures: [],
  };

  const diff = compareCensus(before, censusQueue(pf.spoolDir));
  figures.filesLost = diff.lost.length;
  figures.filesDuplicated = diff.duplicated.length;
  figures.filesChanged = diff.changed.length;
  if (diff.lost.length + diff.duplicated.length + diff.changed.length > 0) {
    figures.failures.push(`queue files lost ${diff.lost.join(' ')}, duplicated ${diff.duplicated.join(' ')}, changed ${diff.changed.join(' ')}`);
  }

  const listed = new Map<string, Set<string>>();
  for (const site of SITES) {
    const lines = logfileLines(join(pf.spoolDir, 'flush', logfileName(site)));
    const torn = lines.filter((line) => !known.has(line));
    figures.tornLines += torn.length;
    if (torn.length > 0) figures.failures.push(`${site}: lines nobody added ${JSON.stringify(torn.slice(0, 5))}`);
    listed.set(site, new Set(lines));
  }

  const lastSendEnd = new Map<string, number[]>();
  for (const send of sends) lastSendEnd.set(send.site, [...(lastSendEnd.get(send.site) ?? []), send.end]);
  const lastPurge = purgeIssues.length > 0 ? Math.max(...purgeIssues) : -Infinity;
  for (const add of adds) {
    figures.idsChecked++;
    if (listed.get(add.site)?.has(add.id)) continue;
    const consumedBySend = (lastSendEnd.get(add.site) ?? []).some((end) => end >= add.start);
    const consumedByPurge = add.start <= lastPurge + PURGE_SLACK_MS;
    if (consumedBySend || consumedByPurge) continue;
    figures.idsLost++;
    figures.idsLostByService[add.service] = (figures.idsLostByService[add.service] ?? 0) + 1;
    if (figures.idsLost <= 10) figures.failures.push(`add ${add.id} to ${add.site} via ${add.service} answered 0, is not listed, and nothing consumed it`);
  }
  for (const add of adds) {
    const covered = (lastSendEnd.get(add.site) ?? []).some((end) => end >= add.start) || add.start <= lastPurge + PURGE_SLACK_MS;
    if (!covered) figures.idsStrict++;
  }

  const maillog = pf.maillog().slice(maillogStart);
  figures.badStartups = (maillog.match(/bad command startup -- throttling/g) ?? []).length;
  for (const m of maillog.matchAll(/warning: process \S*flush\S* pid (\d+) (exit status \d+|killed by signal \d+)/g)) {
    if (!killed.has(Number(m[1]))) {
      figures.unexpectedExits++;
      figures.failures.push(`flush process ${m[1]}: ${m[2]} (not killed by the campaign)`);
    }
  }
  const fatal = maillog.split('\n').filter((line) => /\/flush\[\d+\]: (fatal|panic):/.test(line));
  figures.fatalLines = fatal.length;
  for (const line of fatal.slice(0, 5)) figures.failures.push(line);
  figures.durationMs = Math.round(performance.now() - began);
  return figures;
}
