/*
 * node-floor.ts - the fastest any Node flush daemon could answer `add` on this machine: servers
 * that speak the protocol's bytes and do nothing else (no logfile, no master, no parsing beyond
 * finding the end of the request), run by the same node with the daemon's node options and
 * master's empty environment, against the same client as `npm run bench` (a, b, c). Two kinds,
 * in alternating rounds:
 *
 *   net    a net.Server with a net.Socket per connection (how Node servers are usually written);
 *   plain  the daemon's own connection layer (src/lifecycle/socket-client.ts, src/util/fd-stream.ts:
 *          accept4, read and send through the posix addon), on a listening socket it inherits as fd 3.
 *
 *   node dist/bench/node-floor.js [--n 4000] [--clients 32] [--per-client 250] [--rounds 3] [--json]
 *
 * Prints, per round and as medians per kind: the sequential add rate, the 32-client add rate, and
 * the CPU time per request of the server and of the client. Where Postfix's C flush answers at a
 * rate no Node server reaches even when it does no work, a ratio target against C is out of reach
 * for fastflush; the figures say by how much. Not a pass/fail measurement.
 *
 * Exports: nothing (a command).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseNodeOptions } from '../src/cli/install-plan.js';
import { repoRoot } from '../test/helpers/paths.js';
import { createListenSocket, type ListenSocket } from '../test/lifecycle/fake-master.js';
import { encodeRequest, exchange, QueueIdSource } from './client.js';

type ServerKind = 'net' | 'plain';
const KINDS: readonly ServerKind[] = ['net', 'plain'];

const ANNOUNCE = String.raw`Buffer.from('protocol\0queue_flush_protocol\0\0', 'latin1')`;
const OK = String.raw`Buffer.from('status\x000\0\0', 'latin1')`;

/**
 * The whole net server: announcement, wait for the request's end (an empty attribute name),
 * status 0, then close(2) once the kernel has the reply (no shutdown first, as fastflush and C).
 */
const NET_SERVER = `
const net = require('node:net');
const ANNOUNCE = ${ANNOUNCE};
const OK = ${OK};
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

/** The same exchange on the daemon's connection layer (an ES module; the listening socket is fd 3). */
const PLAIN_SERVER = `
const { ListenSocket } = await import(process.argv[1]);
const { FdStream } = await import(process.argv[2]);
const ANNOUNCE = ${ANNOUNCE};
const OK = ${OK};
async function serve(client) {
  await client.write(ANNOUNCE);
  let seen = Buffer.alloc(0);
  for (;;) {
    const chunk = await client.readChunk();
    if (chunk === null) return;
    seen = Buffer.concat([seen, chunk]);
    if (seen.includes('\\0\\0', 0, 'latin1')) return client.write(OK);
  }
}
const listener = new ListenSocket(3, (fd) => {
  const client = new FdStream('floor socket', fd, 10);
  serve(client).catch(() => {}).finally(() => client.close());
}, (error) => { throw error; });
listener.start();
process.stdout.write('ready\\n');
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

interface FloorServer {
  child: ChildProcess;
  stop(): void;
}

async function startServer(kind: ServerKind, socketPath: string): Promise<FloorServer> {
  const nodeOptions = parseNodeOptions(readFileSync(join(repoRoot, 'dist/bundle/flush/node-options'), 'latin1'));
  let listen: ListenSocket | undefined;
  let child: ChildProcess;
  if (kind === 'net') {
    child = spawn(process.execPath, [...nodeOptions, '-e', NET_SERVER, socketPath], { env: {}, stdio: ['ignore', 'pipe', 'inherit'] });
  } else {
    listen = await createListenSocket(socketPath, 511);
    const modules = ['lifecycle/socket-client.js', 'util/fd-stream.js']
      .map((module) => pathToFileURL(join(repoRoot, 'dist/src', module)).href);
    child = spawn(process.execPath, [...nodeOptions, '--input-type=module', '-e', PLAIN_SERVER, ...modules],
      { env: {}, stdio: ['ignore', 'pipe', 'inherit', listen.fd] });
  }
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${kind} floor server exited with ${code}`)));
    child.stdout?.once('data', () => resolve());
  });
  return {
    child,
    stop: () => {
      child.kill();
      listen?.close();
    },
  };
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
  const rounds: Record<ServerKind, Round[]> = { net: [], plain: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const kind of KINDS) {
      const dir = mkdtempSync(join(tmpdir(), 'node-floor-'));
      const socketPath = join(dir, 'flush');
      const server = await startServer(kind, socketPath);
      try {
        const result = await measureRound(socketPath, server.child.pid as number, Number(values.n),
          Number(values.clients), Number(values['per-client']));
        rounds[kind].push(result);
        if (!values.json) console.log(`round ${round + 1} ${kind}: ${JSON.stringify(result)}`);
      } finally {
        server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const medians = Object.fromEntries(KINDS.map((kind) => [kind, Object.fromEntries(
    (Object.keys(rounds[kind][0] as Round) as (keyof Round)[]).map((key) => [key, median(rounds[kind].map((r) => r[key]))]),
  )]));
  if (values.json) console.log(JSON.stringify({ rounds, median: medians }));
  else for (const kind of KINDS) console.log(`median ${kind}: ${JSON.stringify(medians[kind])}`);
}

await main();
