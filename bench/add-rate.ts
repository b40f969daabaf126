/*
 * add-rate.ts - benchmark: sequential `add` requests against Postfix's C flush and against
 * fastflush, each running under a real master in one private loopback instance (the program is
 * swapped with a restart), measured with the same client: N connections, one `add` each
 * (site bench.example.test, fresh queue ids), after a warm-up. Prints req/s, p50/p99 latency
 * (connect to reply) and the fastflush/C ratio. Not part of the test suite.
 *
 *   node dist/bench/add-rate.js [--program c|fastflush|both] [--n 2000] [--max-use N]
 *
 * --max-use passes `-o max_use=N` on the flush line of both programs: with the default (100)
 * the figures include a process start every 100 requests, with a large value they show the
 * steady per-request cost.
 */
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/helpers/paths.js';
import type { FlushProgram, PostfixInstance } from '../test/helpers/postfix-instance.js';
import { PostfixInstance as Instance, postfixUnavailableReason } from '../test/helpers/postfix-instance.js';

const SITE = 'bench.example.test';
const WARMUP = 50;
const REQUEST_TIMEOUT_MS = 10_000;
const OK_REPLY = Buffer.from('status\u00000\u0000\u0000', 'latin1');
const ANNOUNCEMENT_LENGTH = 31;

interface Result {
  program: FlushProgram;
  n: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
}

let nextId = Date.now() % 0x1000000;

/** One connection: announcement, one `add`, the 10-byte reply. Resolves with ms from connect to reply. */
async function addOnce(socketPath: string): Promise<number> {
  const queueId = `B${(nextId++).toString(16).toUpperCase().padStart(10, '0')}`;
  const request = Buffer.from(`request\0add\0site\0${SITE}\0queue_id\0${queueId}\0\0`, 'latin1');
  const t0 = process.hrtime.bigint();
  return await new Promise<number>((resolve, reject) => {
    const sock = net.connect(socketPath);
    let got = Buffer.alloc(0);
    let sent = false;
    let settled = false;
    const settle = (error: string | null, ms = 0): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (error === null) resolve(ms);
      else reject(new Error(`add ${queueId}: ${error}`));
    };
    const fail = (why: string): void => settle(why);
    const timer = setTimeout(() => fail('timeout'), REQUEST_TIMEOUT_MS);
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (!sent && got.length >= ANNOUNCEMENT_LENGTH) {
        sent = true;
        sock.write(request);
      }
      if (got.length >= ANNOUNCEMENT_LENGTH + OK_REPLY.length) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const reply = got.subarray(ANNOUNCEMENT_LENGTH);
        settle(reply.equals(OK_REPLY) ? null : `unexpected reply ${JSON.stringify(reply.toString('latin1'))}`, ms);
      }
    });
    sock.on('error', (err) => fail(err.message));
    sock.on('close', () => fail('closed before the reply'));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function measure(pf: PostfixInstance, program: FlushProgram, n: number): Promise<Result> {
  const socketPath = join(pf.spoolDir, 'public', 'flush');
  rmSync(pf.logfile(SITE), { force: true });
  for (let i = 0; i < WARMUP; i++) await addOnce(socketPath);
  const latencies: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) latencies.push(await addOnce(socketPath));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const logged = pf.logfileIds(SITE).length;
  if (logged !== WARMUP + n) throw new Error(`${program}: logfile has ${logged} ids, expected ${WARMUP + n}`);
  latencies.sort((a, b) => a - b);
  return { program, n, seconds, rate: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function report(results: Result[]): void {
  console.log('program    n      seconds  req/s    p50 ms  p99 ms');
  for (const r of results) {
    console.log(`${r.program.padEnd(10)} ${String(r.n).padEnd(6)} ${r.seconds.toFixed(3).padEnd(8)} ` +
      `${r.rate.toFixed(0).padEnd(8)} ${r.p50.toFixed(3).padEnd(7)} ${r.p99.toFixed(3)}`);
  }
  const c = results.find((r) => r.program === 'c');
  const ours = results.find((r) => r.program === 'fastflush');
  if (c && ours) console.log(`ratio fastflush/c (req/s): ${(ours.rate / c.rate).toFixed(2)}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      program: { type: 'string', default: 'both' },
      n: { type: 'string', default: '2000' },
      'max-use': { type: 'string' },
    },
  });
  const n = Number(values.n);
  const maxUse = values['max-use'];
  if (maxUse !== undefined && !/^\d+$/.test(maxUse)) {
    console.error('add-rate: --max-use takes a whole number');
    return 2;
  }
  const flushArgs = maxUse === undefined ? [] : ['-o', `max_use=${maxUse}`];
  const programs: FlushProgram[] = values.program === 'both' ? ['c', 'fastflush']
    : values.program === 'c' || values.program === 'fastflush' ? [values.program] : [];
  if (programs.length === 0 || !Number.isInteger(n) || n < 1) {
    console.error('usage: add-rate [--program c|fastflush|both] [--n N] [--max-use N]');
    return 2;
  }
  const unavailable = postfixUnavailableReason();
  if (unavailable !== null) {
    console.error(`add-rate: ${unavailable}`);
    return 1;
  }
  if (programs.includes('fastflush') && !existsSync(join(repoRoot, 'bin', 'flush'))) {
    console.error('add-rate: bin/flush not found (build fastflush first)');
    return 1;
  }
  const pf = await Instance.start({ flushProgram: programs[0] as FlushProgram, flushArgs });
  const results: Result[] = [];
  try {
    for (const program of programs) {
      if (program !== pf.flushProgram) await pf.restart({ flushProgram: program, flushArgs });
      results.push(await measure(pf, program, n));
    }
  } finally {
    pf.stop();
    report(results);
  }
  return 0;
}

process.exitCode = await main();
