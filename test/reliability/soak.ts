/*
 * soak.ts - `npm run soak`: the fault and attack campaign on demand.
 *
 *   npm run soak -- [--program fastflush|c|both] [--seed N] [--scale ci|full] [--adds N] [--json]
 *
 * --adds overrides the adds per client of the scale (full: 16 clients x 10,000).
 *
 * Runs campaign.ts for each program (both: fastflush, then Postfix's C daemon, then the mixed
 * race of the two on one queue), prints the figures, and exits 1 when anything was lost,
 * crashed or leaked (the list is printed), 2 on bad usage. Needs root and a local Postfix
 * installation (private loopback instances, tmpfs mounts).
 */
import { losses, runCampaign, SCALES, type CampaignFigures } from './campaign.js';
import type { FlushProgram } from '../helpers/postfix-instance.js';

interface Args { programs: FlushProgram[]; seed: number; scale: keyof typeof SCALES; adds?: number; json: boolean }

function usage(problem: string): never {
  process.stderr.write(`soak: ${problem}\nusage: npm run soak -- [--program fastflush|c|both] [--seed N] [--scale ci|full] [--adds N] [--json]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { programs: ['fastflush', 'c'], seed: 1, scale: 'full', json: false };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    const value = (): string => argv[++i] ?? usage(`${word} needs a value`);
    if (word === '--program') {
      const v = value();
      if (v === 'both') args.programs = ['fastflush', 'c'];
      else if (v === 'fastflush' || v === 'c') args.programs = [v];
      else usage(`unknown program ${v}`);
    } else if (word === '--seed') {
      args.seed = Number(value());
      if (!Number.isInteger(args.seed)) usage('--seed takes an integer');
    } else if (word === '--scale') {
      const v = value();
      if (v !== 'ci' && v !== 'full') usage(`unknown scale ${v}`);
      args.scale = v;
    } else if (word === '--adds') {
      args.adds = Number(value());
      if (!Number.isInteger(args.adds) || args.adds < 2) usage('--adds takes an integer >= 2');
    } else if (word === '--json') {
      args.json = true;
    } else {
      usage(`unknown argument ${word}`);
    }
  }
  return args;
}

function summary(f: CampaignFigures): string {
  const races = [f.race, f.killRace, f.mixedRace].filter((r) => r !== undefined);
  const sum = (pick: (r: (typeof races)[number]) => number): number => races.reduce((n, r) => n + pick(r), 0);
  const adds = sum((r) => r.requests.add ?? 0);
  const requests = sum((r) => Object.values(r.requests).reduce((a, b) => a + b, 0));
  const rows: Array<[string, string]> = [
    ['clients x adds (per race)', `${f.race.clients} x ${adds / races.length / f.race.clients}`],
    ['requests (all races)', `${requests} (${adds} adds)`],
    ['flush processes seen', String(sum((r) => r.processesSeen))],
    ['kill trials (under master + standalone)', `${f.killRace.kills} + ${f.crash.trials} (${f.crash.windowKills} between rename and truncate)`],
    ['bad command startup lines (kill race)', String(f.killRace.badStartups)],
    ['fuzz cases (in-process + hostile logfiles + socket)', `${f.fuzz?.cases ?? 'n/a'} + ${f.hostileLogfiles?.cases ?? 'n/a'} + ${f.socketFuzz.connections}`],
    ['peak RSS of a flush process (KiB)', String(Math.max(...races.map((r) => r.peakRssKiB), f.socketFuzz.peakRssKiB))],
    ['ids checked (strictly)', `${sum((r) => r.idsChecked) + f.crash.idsChecked} (${sum((r) => r.idsStrict)})`],
    ['ids lost', String(sum((r) => r.idsLost) + f.crash.idsLost + f.diskFull.idsLost + f.emfile.idsLost)],
    ['queue files lost / duplicated', `${sum((r) => r.filesLost) + f.crash.filesLost} / ${sum((r) => r.filesDuplicated) + f.crash.filesDuplicated}`],
    ['crashes (fuzz, socket fuzz, unprompted exits)', `${f.fuzz?.crashes ?? 'n/a'}, ${f.socketFuzz.crashes}, ${sum((r) => r.unexpectedExits)}`],
    ['full disk: add status, logfile intact', `${f.diskFull.fullStatus}, ${f.diskFull.logfileIntact && f.diskFull.linesIntact}`],
    ['EMFILE sweep: ok / refused / hung', `${f.emfile.answered0} / ${f.emfile.refused} / ${f.emfile.hung}`],
    ['watchdog exit (s, daemon_timeout 6)', f.watchdog.seconds === null ? 'never' : f.watchdog.seconds.toFixed(2)],
    ['exit after idle (s, max_idle 2) / master death (s)', `${f.exits.idleExitSeconds.toFixed(2)} / ${f.exits.masterDeathExitSeconds.toFixed(2)}`],
    ['duration (s)', (f.durationMs / 1000).toFixed(0)],
  ];
  return rows.map(([k, v]) => `  ${k.padEnd(52)} ${v}`).join('\n');
}

const args = parseArgs(process.argv.slice(2));
const results: CampaignFigures[] = [];
for (const program of args.programs) {
  results.push(await runCampaign({
    program, seed: args.seed, scale: { ...SCALES[args.scale], ...(args.adds ? { addsPerClient: args.adds } : {}) }, mixed: program === 'fastflush' && args.programs.includes('c'),
    log: (line) => process.stderr.write(`${line}\n`),
  }));
}
let failed = false;
if (args.json) process.stdout.write(`${JSON.stringify(results.map((f) => ({ ...f, losses: losses(f) })), null, 2)}\n`);
for (const f of results) {
  const lost = losses(f);
  failed ||= lost.length > 0;
  if (!args.json) {
    process.stdout.write(`\n${f.program} (seed ${f.seed}, scale ${args.scale}):\n${summary(f)}\n`);
    process.stdout.write(lost.length === 0 ? '  PASS: nothing lost\n' : `  FAIL:\n${lost.map((l) => `    ${l}`).join('\n')}\n`);
  }
}
process.exit(failed ? 1 : 0);
