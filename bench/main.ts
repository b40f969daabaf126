/*
 * main.ts - `npm run bench`: fastflush against Postfix's own flush(8), side by side, in one
 * private loopback Postfix instance (instance.ts). Every workload runs in alternating rounds (a
 * discarded warm-up round, then C, ours, C, ours, ...; rounds.ts) and the table shows medians
 * and the ratio ours/C per row, never a pass/fail verdict. Not part of the test suite.
 *
 *   npm run bench -- [--rounds N] [--only a,b,...] [--json] [--line recommended|stock|same]
 *                    [--add-n N] [--clients N] [--per-client N] [--send-sizes N,N,...]
 *                    [--refresh-ids N] [--refresh-logfiles N] [--busy-ids N] [--busy-clients N]
 *
 * Workloads (one module each):
 *   a  add-sequential.ts   sequential add, stock master.cf line
 *   b  add-sequential.ts   sequential add, master.cf.example's line vs C stock and C same args
 *   c  add-concurrent.ts   concurrent add to one site; peak RSS and process count
 *   d  send-site.ts        send_site on growing logfiles, absent ids and real queue files
 *   e  refresh-purge.ts    rfrsh and purge over aged logfiles, until the server closes
 *   f  startup.ts          stand-alone start to first byte, idle RSS; bare node for reference
 *   g  responsiveness.ts   add latency from other clients during a long send_site
 * Progress goes to stderr; the table (or with --json every round and the medians) to stdout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/helpers/paths.js';
import { postfixUnavailableReason } from '../test/helpers/postfix-instance.js';
import { addRecommendedWorkload, addStockWorkload } from './add-sequential.js';
import { concurrentAddWorkload } from './add-concurrent.js';
import { QueueIdSource } from './client.js';
import type { BenchContext, LineChoice } from './context.js';
import { recommendedFlushArgs } from './flush-line.js';
import { BenchInstance } from './instance.js';
import { refreshPurgeWorkload } from './refresh-purge.js';
import { responsivenessWorkload } from './responsiveness.js';
import type { Workload, WorkloadResult } from './rounds.js';
import { formatTable, runWorkload } from './rounds.js';
import { sendSiteWorkload } from './send-site.js';
import { startupWorkload } from './startup.js';

const ALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const USAGE = `usage: npm run bench -- [--rounds N] [--only ${ALL.join(',')}] [--json] [--line recommended|stock|same]
       [--add-n N] [--clients N] [--per-client N] [--send-sizes N,N,...]
       [--refresh-ids N] [--refresh-logfiles N] [--busy-ids N] [--busy-clients N]`;

interface Settings {
  rounds: number;
  only: string[];
  json: boolean;
  line: LineChoice;
  addN: number;
  clients: number;
  perClient: number;
  sendSizes: number[];
  refreshIds: number;
  refreshLogfiles: number;
  busyIds: number;
  busyClients: number;
}

function positive(name: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--${name} takes a whole number >= 1, not "${text}"`);
  return Number(text);
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      only: { type: 'string', default: ALL.join(',') },
      json: { type: 'boolean', default: false },
      line: { type: 'string', default: 'recommended' },
      'add-n': { type: 'string', default: '1000' },
      clients: { type: 'string', default: '32' },
      'per-client': { type: 'string', default: '250' },
      'send-sizes': { type: 'string', default: '1000,10000,100000' },
      'refresh-ids': { type: 'string', default: '10000' },
      'refresh-logfiles': { type: 'string', default: '10000' },
      'busy-ids': { type: 'string', default: '100000' },
      'busy-clients': { type: 'string', default: '4' },
    },
  });
  const only = values.only.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = only.filter((k) => !ALL.includes(k));
  if (unknown.length > 0 || only.length === 0) throw new Error(`--only takes letters among ${ALL.join(',')}`);
  if (!['recommended', 'stock', 'same'].includes(values.line)) throw new Error('--line takes recommended, stock or same');
  return {
    rounds: positive('rounds', values.rounds),
    only: ALL.filter((k) => only.includes(k)),
    json: values.json,
    line: values.line as LineChoice,
    addN: positive('add-n', values['add-n']),
    clients: positive('clients', values.clients),
    perClient: positive('per-client', values['per-client']),
    sendSizes: values['send-sizes'].split(',').map((s) => positive('send-sizes', s.trim())),
    refreshIds: positive('refresh-ids', values['refresh-ids']),
    refreshLogfiles: positive('refresh-logfiles', values['refresh-logfiles']),
    busyIds: positive('busy-ids', values['busy-ids']),
    busyClients: positive('busy-clients', values['busy-clients']),
  };
}

function workloads(ctx: BenchContext, s: Settings): Workload[] {
  const make: Record<string, () => Workload> = {
    a: () => addStockWorkload(ctx, s.addN),
    b: () => addRecommendedWorkload(ctx, s.addN),
    c: () => concurrentAddWorkload(ctx, s.clients, s.perClient),
    d: () => sendSiteWorkload(ctx, s.sendSizes),
    e: () => refreshPurgeWorkload(ctx, s.refreshIds, s.refreshLogfiles),
    f: () => startupWorkload(ctx),
    g: () => responsivenessWorkload(ctx, s.busyIds, s.busyClients),
  };
  return s.only.map((k) => (make[k] as () => Workload)());
}

function machine(): Record<string, string | number> {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'latin1') : '';
  const postfix = spawnSync('postconf', ['-dh', 'mail_version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    nproc: cpus().length,
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    node: process.version,
    postfix,
    loadavg: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const unavailable = postfixUnavailableReason();
  if (unavailable !== null) {
    console.error(`bench: cannot run a private Postfix instance: ${unavailable}`);
    return 1;
  }
  for (const needed of [join(repoRoot, 'bin', 'flush'), join(repoRoot, 'dist', 'src', 'flush', 'daemon.js')]) {
    if (!existsSync(needed)) {
      console.error(`bench: ${needed} not found (npm run build)`);
      return 1;
    }
  }
  const recommendedArgs = recommendedFlushArgs(readFileSync(join(repoRoot, 'master.cf.example'), 'utf8'));
  const started = new Date();
  const info = machine();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trimEnd().replace(/ --$/, '');
  console.error(`bench: ${started.toISOString()} nproc ${info.nproc} (${info.cpu}), node ${info.node}, ` +
    `Postfix ${info.postfix}, load ${info.loadavg}; recommended flush args: [${recommendedArgs.join(' ')}]`);
  const instance = await BenchInstance.start();
  const ctx: BenchContext = { instance, ids: new QueueIdSource(), recommendedArgs, line: settings.line };
  const results: WorkloadResult[] = [];
  /* A failing workload (e.g. a daemon that lost a queue file) is reported; the others still run. */
  const failures: { key: string; title: string; error: string }[] = [];
  try {
    for (const workload of workloads(ctx, settings)) {
      console.error(`bench: (${workload.key}) ${workload.title}`);
      try {
        results.push(await runWorkload(workload, settings.rounds, (line) => console.error(`  ${line}`)));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        console.error(`bench: (${workload.key}) failed: ${error}`);
        failures.push({ key: workload.key, title: workload.title, error });
      }
    }
  } finally {
    instance.stop();
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  if (settings.json) {
    console.log(JSON.stringify({ date: started.toISOString(), seconds, command, machine: info, settings,
      recommendedArgs, workloads: results, failures }, null, 2));
  } else {
    console.log(`fastflush vs Postfix flush(8), ${started.toISOString()}, ${seconds.toFixed(0)} s`);
    console.log(`machine: nproc ${info.nproc}, ${info.cpu}; node ${info.node}; Postfix ${info.postfix}; ` +
      `load at start ${info.loadavg}`);
    console.log(`command: ${command}`);
    console.log(`medians of ${settings.rounds} rounds after a warm-up round; recommended line args ` +
      `(master.cf.example): [${recommendedArgs.join(' ')}]; lines in c-g: ${settings.line}`);
    for (const r of results) console.log(`(${r.key}) ${r.title}`);
    for (const f of failures) console.log(`(${f.key}) ${f.title}: FAILED: ${f.error}`);
    console.log('');
    console.log(formatTable(results));
  }
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
