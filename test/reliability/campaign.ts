/*
 * campaign.ts - the whole fault and attack campaign for one flush program, at a given scale
 * and seed, and its figures: the race under master (and, for 'both', the mixed run with C and
 * fastflush on one queue), SIGKILLs under master and on standalone daemons, the in-process
 * fuzzer and hostile logfiles, hostile socket clients, full disk, EMFILE, the watchdog, and
 * exit times. `losses()` lists what must be zero for the run to pass.
 *
 * Exports: CampaignOptions, CampaignFigures, runCampaign, losses, SCALES.
 */
import { PostfixInstance, type FlushProgram } from '../helpers/postfix-instance.js';
import { runCrashTrials, type CrashFigures } from './crash.js';
import { runHostileLogfiles, runServiceFuzz, type FuzzFigures, type HostileLogfileFigures } from './fuzz.js';
import { runRace, type RaceFigures, type RaceOptions } from './race.js';
import {
  diskFull, emfileSweep, exitTimes, stuckRequest, type DiskFullResult, type EmfileResult, type ExitTimes, type WatchdogResult,
} from './resources.js';
import { runSocketFuzz, type SocketFuzzFigures } from './socket-fuzz.js';

export interface Scale {
  clients: number;
  addsPerClient: number;
  realMessages: number;
  killEveryMs: number;
  crashTrials: number;
  crashQueueFiles: number;
  crashTailIds: number;
  fuzzCases: number;
  socketFuzzConnections: number;
  hostileLogfileLines: number;
}

/** ci: a few minutes on two cores; full: the figures (16 x 10,000, >= 100 kills, >= 100,000 cases). */
export const SCALES: Record<'ci' | 'full', Scale> = {
  ci: {
    clients: 8, addsPerClient: 150, realMessages: 20, killEveryMs: 400, crashTrials: 9, crashQueueFiles: 300,
    crashTailIds: 2000, fuzzCases: 20_000, socketFuzzConnections: 60, hostileLogfileLines: 200_000,
  },
  full: {
    clients: 16, addsPerClient: 10_000, realMessages: 200, killEveryMs: 300, crashTrials: 120, crashQueueFiles: 500,
    crashTailIds: 5000, fuzzCases: 100_000, socketFuzzConnections: 400, hostileLogfileLines: 1_000_000,
  },
};

export interface CampaignOptions {
  program: FlushProgram;
  seed: number;
  scale: Scale;
  /** Also run the mixed race (fastflush as flush, C as flushc, one queue). */
  mixed: boolean;
  log?: (line: string) => void;
}

export interface CampaignFigures {
  program: FlushProgram;
  seed: number;
  race: RaceFigures;
  killRace: RaceFigures;
  mixedRace?: RaceFigures;
  crash: CrashFigures;
  /** In-process, so fastflush's code only: absent for --program c. */
  fuzz?: FuzzFigures;
  hostileLogfiles?: HostileLogfileFigures;
  socketFuzz: SocketFuzzFigures;
  diskFull: DiskFullResult;
  emfile: EmfileResult;
  watchdog: WatchdogResult;
  exits: ExitTimes;
  durationMs: number;
}

function raceOptions(program: RaceOptions['program'], options: CampaignOptions, killEveryMs: number, seedOffset: number): RaceOptions {
  const s = options.scale;
  return {
    program, seed: options.seed + seedOffset, clients: s.clients, addsPerClient: s.addsPerClient,
    realMessages: s.realMessages, killEveryMs, maxUse: 50, maxIdle: 2,
  };
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignFigures> {
  const log = options.log ?? (() => undefined);
  const { program, scale, seed } = options;
  const started = Date.now();
  log(`campaign ${program}: race`);
  const race = await runRace(raceOptions(program, options, 0, 0), log);
  log(`campaign ${program}: race with SIGKILLs`);
  const killRace = await runRace(raceOptions(program, options, scale.killEveryMs, 1), log);
  const mixedRace = options.mixed ? await runRace(raceOptions('mixed', options, 0, 2), log) : undefined;
  log(`campaign ${program}: standalone crash trials`);
  const crash = await runCrashTrials(program, {
    trials: scale.crashTrials, seed, queueFiles: scale.crashQueueFiles, tailIds: scale.crashTailIds,
  }, log);
  log(`campaign ${program}: fuzzing`);
  const fuzz = program === 'fastflush' ? await runServiceFuzz({ cases: scale.fuzzCases, seed }, log) : undefined;
  const hostileLogfiles = program === 'fastflush' ? await runHostileLogfiles(scale.hostileLogfileLines) : undefined;
  log(`campaign ${program}: hostile sockets, watchdog, exit times`);
  const pf = await PostfixInstance.start({
    flushProgram: program,
    flushArgs: ['-o', 'ipc_timeout=2s', '-o', 'max_use=20', '-o', 'max_idle=2s', '-o', 'daemon_timeout=6s'],
    mainCf: { service_throttle_time: '1s' },
  });
  let socketFuzz: SocketFuzzFigures;
  let watchdog: WatchdogResult;
  let exits: ExitTimes;
  try {
    socketFuzz = await runSocketFuzz(pf, seed, scale.socketFuzzConnections);
    watchdog = await stuckRequest(pf);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    exits = await exitTimes(pf);
  } finally {
    pf.stop();
  }
  log(`campaign ${program}: full disk, EMFILE`);
  const full = await diskFull(program);
  const emfile = await emfileSweep(program);
  return {
    program, seed, race, killRace, ...(mixedRace ? { mixedRace } : {}), ...(fuzz ? { fuzz } : {}),
    ...(hostileLogfiles ? { hostileLogfiles } : {}), crash, socketFuzz,
    diskFull: full, emfile, watchdog, exits, durationMs: Date.now() - started,
  };
}

/** Everything that must be zero (or true) for a pass, as "what: value" lines; [] = pass. */
export function losses(f: CampaignFigures): string[] {
  const out: string[] = [];
  const zero = (what: string, value: number): void => {
    if (value !== 0) out.push(`${what}: ${value}`);
  };
  for (const [name, race] of [['race', f.race], ['kill race', f.killRace], ['mixed race', f.mixedRace]] as const) {
    if (race === undefined) continue;
    zero(`${name}: ids lost`, race.idsLost);
    zero(`${name}: queue files lost`, race.filesLost);
    zero(`${name}: queue files duplicated`, race.filesDuplicated);
    zero(`${name}: queue files changed`, race.filesChanged);
    zero(`${name}: torn logfile lines`, race.tornLines);
    zero(`${name}: flush processes that died unprompted`, race.unexpectedExits);
    zero(`${name}: fatal/panic lines`, race.fatalLines);
    zero(`${name}: bad command startup (issue 10 item 0)`, race.badStartups);
  }
  zero('crash trials: ids lost', f.crash.idsLost);
  zero('crash trials: queue files lost', f.crash.filesLost);
  zero('crash trials: queue files duplicated', f.crash.filesDuplicated);
  zero('crash trials: torn lines', f.crash.tornLines);
  zero('crash trials: locks held', f.crash.locksHeld);
  zero('crash trials: next request failed', f.crash.nextRequestFailures);
  if (f.fuzz) {
    zero('fuzz: crashes', f.fuzz.crashes);
    zero('fuzz: malformed replies', f.fuzz.malformedReplies);
    zero('fuzz: writes outside flush/', f.fuzz.writesOutsideFlush);
  }
  if (f.hostileLogfiles) {
    zero('hostile logfiles: crashes', f.hostileLogfiles.crashes);
    zero('hostile logfiles: wrong statuses', f.hostileLogfiles.wrongStatuses);
    zero('hostile logfiles: writes outside flush/', f.hostileLogfiles.writesOutsideFlush);
  }
  zero('socket fuzz: crashes', f.socketFuzz.crashes);
  zero('socket fuzz: fatal lines', f.socketFuzz.fatalLines);
  zero('socket fuzz: writes outside flush/', f.socketFuzz.writesOutsideFlush);
  if (!f.socketFuzz.healthy) out.push('socket fuzz: service unhealthy afterwards');
  zero('full disk: ids lost', f.diskFull.idsLost);
  if (f.diskFull.fullStatus !== -1) out.push(`full disk: add answered ${f.diskFull.fullStatus}, not -1 (FAIL)`);
  if (!f.diskFull.logfileIntact || !f.diskFull.linesIntact) out.push('full disk: logfile damaged');
  zero('EMFILE: ids lost', f.emfile.idsLost);
  zero('EMFILE: hung', f.emfile.hung);
  zero('EMFILE: torn lines', f.emfile.tornLines);
  if (!f.emfile.recovered) out.push('EMFILE: no recovery');
  if (f.watchdog.seconds === null || f.watchdog.seconds > 12) out.push(`watchdog: stuck process exited after ${f.watchdog.seconds ?? 'never'} s (daemon_timeout 6 s)`);
  if (!f.watchdog.logfileIntact) out.push('watchdog: logfile damaged');
  if (f.exits.masterDeathExitSeconds > 1) out.push(`exit after master's death: ${f.exits.masterDeathExitSeconds.toFixed(2)} s`);
  if (f.exits.idleExitSeconds > 3.5) out.push(`idle exit: ${f.exits.idleExitSeconds.toFixed(2)} s (max_idle 2 s)`);
  return out;
}
