/*
 * node-floor.ts - the fastest any Node flush daemon could answer `add` on this machine: a server
 * that speaks the protocol's bytes and does nothing else (no logfile, no master, no parsing
 * beyond finding the end of the request), run by the same node with the daemon's node options
 * and master's empty environment, against the same client as `npm run bench` (a, b, c).
 *
 *   node dist/bench/node-floor.js [--n 4000] [--clients 32] [--per-client 250] [--rounds 3] [--json]
 *
 * Prints, per round and as medians: the sequential add rate, the 32-client add rate, and the CPU
 * time per request of the server and of the client. Where Postfix's C flush answers at a rate no
 * Node server reaches even when it does no work, a ratio target against C is out of reach for
 * fastflush; the figures say by how much. Not a pass/fail measurement.
 *
 * Exports: nothing (a command).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseNodeOptions } from '../src/cli/install-plan.js';
import { repoRoot } from '../test/helpers/paths.js';
import { encodeRequest, exchange, QueueIdSource } from './client.js';

/**
 * The whole server: announcement, wait for the request's end (an empty attribute name), status
 * 0, then close(2) once the kernel has the reply (no shutdown first, as fastflush and C close).
 */
const SERVER = `
const net = require('node:net');
const ANNOUNCE = Buffer.from('protocol\\0queue_flush_protocol\\0\\0', 'latin1');
const OK = Buffer.from('status\\x000\\0\\0', 'latin1');
const server = net.createServer((socket) => {
  socket.write(ANNOUNCE);
  let seen = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    seen = Buffer.concat([seen, chunk]);
    if (seen.includes('\\0\\0', 0, 'latin1')) socket.write(OK, () => socket.destroy());
  });
  socket.on('error', () => {});
});
server.listen(process.argv[1], () => process.stdout.write('ready\\n'));
`;

interface Round {
  sequentialRate: number;
  concurrentRate: number;
  serverCpuMsPerRequest: number;
  clientCpuMsPerRequest: number;
}

/** User + system CPU time of a process in ms, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startServer(socketPath: string): Promise<ChildProcess> {
  const nodeOptions = parseNodeOptions(readFileSync(join(repoRoot, 'dist/bundle/flush/node-options'), 'latin1'));
  const child = spawn(process.execPath, [...nodeOptions, '-e', SERVER, socketPath], { env: {}, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
    child.stdout?.once('data', () => resolve());
  });
  return child;
}

async function measureRound(socketPath: string, serverPid: number, n: number, clients: number, perClient: number): Promise<Round> {
  const ids = new QueueIdSource();
  const add = async (): Promise<void> => {
    const reply = await exchange(socketPath, encodeRequest([['request', 'add'], ['site', 'floor.example'], ['queue_id', ids.id()]]));
    if (reply.status !== '0') throw new Error(`add: status ${reply.status}`);
  };
  for (let i = 0; i < 200; i++) await add(); // warm-up
  const server0 = processCpuMs(serverPid);
  const client0 = process.cpuUsage();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await add();
  const sequentialRate = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  const serverCpu = processCpuMs(serverPid) - server0;
  const clientCpu = process.cpuUsage(client0);
  t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = 0; i < perClient; i++) await add();
  }));
  const concurrentRate = (clients * perClient) / (Number(process.hrtime.bigint() - t0) / 1e9);
  return {
    sequentialRate,
    concurrentRate,
    serverCpuMsPerRequest: serverCpu / n,
    clientCpuMsPerRequest: (clientCpu.user + clientCpu.system) / 1000 / n,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '4000' },
      clients: { type: 'string', default: '32' },
      'per-client': { type: 'string', default: '250' },
      rounds: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'node-floor-'));
  const socketPath = join(dir, 'flush');
  const server = await startServer(socketPath);
  const rounds: Round[] = [];
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      rounds.push(await measureRound(socketPath, server.pid as number, Number(values.n), Number(values.clients),
        Number(values['per-client'])));
      if (!values.json) console.log(`round ${round + 1}: ${JSON.stringify(rounds[round])}`);
    }
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = Object.fromEntries((Object.keys(rounds[0] as Round) as (keyof Round)[])
    .map((key) => [key, median(rounds.map((r) => r[key]))]));
  console.log(values.json ? JSON.stringify({ rounds, median: summary }) : `median: ${JSON.stringify(summary)}`);
}

await main();
