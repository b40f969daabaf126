/*
 * crash.ts - crash injection on a standalone daemon (`flush -S` on a private queue): SIGKILL
 * at a random point of an add, a send_site or a purge (the refresh walk), then check what a
 * crash may never do:
 *   - lose or duplicate a queue file, or change its bytes;
 *   - lose a queue id: every id of the logfile is still listed or its file is in incoming/
 *     (flushed; listed *and* moved means it will at worst be flushed twice), and an add that
 *     answered 0 is listed;
 *   - leave a torn line in the logfile;
 *   - keep the logfile locked (the kernel releases a dead process's flock);
 *   - break the next request: a send_site afterwards answers 0 and flushes everything.
 * The send and purge trials kill either after a random number of renames (the daemon's
 * progress, read from incoming/) or in the window between the last rename and the truncate,
 * which a tail of ids without queue files makes wide.
 *
 * Exports: CrashOptions, CrashFigures, runCrashTrials.
 */
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { flushRequest } from '../../src/protocol/flush-messages.js';
import { flockSync, LOCK_EX, LOCK_NB, LOCK_UN } from '../../src/native/posix.js';
import type { FlushProgram } from '../helpers/postfix-instance.js';
import { censusQueue, compareCensus, logfileLines, makeQueueId, writeDeferredFiles } from './queue-state.js';
import { makeScratchSpool, runStandalone, type ScratchSpool } from './standalone.js';
import { seededRandom } from './random.js';

export interface CrashOptions {
  trials: number;
  seed: number;
  /** Deferred queue files listed in the logfile of each send/purge trial. */
  queueFiles: number;
  /** Ids without queue files after them (the rename..truncate window). */
  tailIds: number;
}

export interface CrashFigures {
  trials: number;
  /** Kills that landed after the last rename and before the truncate. */
  windowKills: number;
  /** Trials whose daemon finished before the kill (counted, still checked). */
  missedKills: number;
  idsChecked: number;
  idsLost: number;
  filesLost: number;
  filesDuplicated: number;
  filesChanged: number;
  tornLines: number;
  locksHeld: number;
  nextRequestFailures: number;
  failures: string[];
}

const SITE = 'example.test';
const LOGFILE = 'flush/example_test';
type TrialKind = 'send_site' | 'purge' | 'add';
const KINDS: readonly TrialKind[] = ['send_site', 'purge', 'add'];

function resetQueue(spool: ScratchSpool): void {
  for (const dir of ['flush', 'deferred', 'incoming']) {
    rmSync(join(spool.spoolDir, dir), { recursive: true, force: true });
    mkdirSync(join(spool.spoolDir, dir), { mode: 0o700 });
  }
}

function incomingCount(spool: ScratchSpool): number {
  return readdirSync(join(spool.spoolDir, 'incoming')).length;
}

/** True when the logfile's lock can be taken at once (nobody holds it). */
function lockIsFree(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return true;
  }
  try {
    flockSync(fd, LOCK_EX | LOCK_NB);
    flockSync(fd, LOCK_UN);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

export async function runCrashTrials(program: FlushProgram, options: CrashOptions,
  log: (line: string) => void = () => undefined): Promise<CrashFigures> {
  const random = seededRandom(options.seed);
  const figures: CrashFigures = {
    trials: 0, windowKills: 0, missedKills: 0, idsChecked: 0, idsLost: 0, filesLost: 0, filesDuplicated: 0,
    filesChanged: 0, tornLines: 0, locksHeld: 0, nextRequestFailures: 0, failures: [],
  };
  const spool = await makeScratchSpool();
  const logfile = join(spool.spoolDir, LOGFILE);
  try {
    for (let trial = 0; trial < options.trials; trial++) {
      const kind = KINDS[trial % KINDS.length] as TrialKind;
      resetQueue(spool);
      const ids = Array.from({ length: options.queueFiles }, () => makeQueueId(random));
      const unique = [...new Set(ids)];
      writeDeferredFiles(spool.spoolDir, unique);
      const tail = Array.from({ length: options.tailIds }, (_, i) => `NOFILE${trial}x${i}`);
      // Duplicates on purpose: the daemon's duplicate filter must not lose anything either.
      writeFileSync(logfile, [...ids, ...ids.slice(0, 50), ...tail].map((id) => `${id}\n`).join(''), { mode: 0o600 });
      if (kind === 'purge') utimesSync(logfile, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
      const before = censusQueue(spool.spoolDir);
      const added = `ADDED${trial}x${Math.floor(random() * 1e6)}`;

      const request = kind === 'add'
        ? flushRequest('add', { site: SITE, queueId: added })
        : kind === 'purge' ? flushRequest('purge') : flushRequest('send_site', { site: SITE });
      const run = await runStandalone(program, spool, request);
      // Where to kill: after k renames (k = all of them: inside the rename..truncate window),
      // or, for an add, a random delay after the request went out.
      const target = Math.floor(random() * (unique.length + 1));
      const aimAtWindow = kind !== 'add' && random() < 0.3;
      const addDelayMs = random() * 5;
      let exited = false;
      void run.done.then(() => { exited = true; });
      const deadline = performance.now() + 30_000;
      while (!exited && performance.now() < deadline) {
        const sent = run.sentAt();
        if (sent !== undefined) {
          if (kind === 'add' && performance.now() - sent >= addDelayMs) break;
          if (kind !== 'add' && incomingCount(spool) >= (aimAtWindow ? unique.length : target)) break;
        }
        await sleep(kind === 'add' ? 0 : 1);
      }
      if (!exited) run.child.kill('SIGKILL');
      const result = await run.done;
      figures.trials++;
      if (result.signal !== 'SIGKILL') figures.missedKills++;

      if (!lockIsFree(logfile)) {
        figures.locksHeld++;
        figures.failures.push(`trial ${trial} (${kind}): logfile still locked after the kill`);
      }
      const after = censusQueue(spool.spoolDir);
      const diff = compareCensus(before, after);
      figures.filesLost += diff.lost.length;
      figures.filesDuplicated += diff.duplicated.length;
      figures.filesChanged += diff.changed.length;
      if (diff.lost.length + diff.duplicated.length + diff.changed.length > 0) {
        figures.failures.push(`trial ${trial} (${kind}): queue files lost ${diff.lost.length}, duplicated ${diff.duplicated.length}, changed ${diff.changed.length}`);
      }
      const lines = logfileLines(logfile);
      const known = new Set([...unique, ...tail, added]);
      const torn = lines.filter((line) => !known.has(line));
      figures.tornLines += torn.length;
      if (torn.length > 0) figures.failures.push(`trial ${trial} (${kind}): torn lines ${JSON.stringify(torn.slice(0, 3))}`);
      const listed = new Set(lines);
      if (result.signal === 'SIGKILL' && unique.every((id) => after.get(id)?.[0]?.queue === 'incoming') && listed.size > 0 && kind !== 'add') {
        figures.windowKills++;
      }
      for (const id of unique) {
        figures.idsChecked++;
        if (!listed.has(id) && after.get(id)?.[0]?.queue !== 'incoming') {
          figures.idsLost++;
          figures.failures.push(`trial ${trial} (${kind}): id ${id} neither listed nor flushed`);
        }
      }
      if (kind === 'add' && result.status === 0) {
        figures.idsChecked++;
        if (!listed.has(added)) {
          figures.idsLost++;
          figures.failures.push(`trial ${trial} (add): ${added} answered 0 but is not listed`);
        }
      }

      // The next request must work and finish the job.
      const next = await runStandalone(program, spool, flushRequest('send_site', { site: SITE }));
      const nextResult = await next.done;
      const flushed = censusQueue(spool.spoolDir);
      const left = unique.filter((id) => flushed.get(id)?.[0]?.queue !== 'incoming');
      if (nextResult.status !== 0 || left.length > 0 || logfileLines(logfile).length > 0) {
        figures.nextRequestFailures++;
        figures.failures.push(`trial ${trial} (${kind}): next send_site answered ${nextResult.status}, ${left.length} files not flushed, stderr ${nextResult.stderr.slice(0, 300)}`);
      }
      if (trial % 10 === 9) log(`crash ${program}: ${trial + 1}/${options.trials} trials, ${figures.windowKills} in the window, ${figures.idsLost} ids lost`);
    }
  } finally {
    await spool.close();
  }
  return figures;
}
