/*
 * socket-fuzz.ts - hostile clients on a real socket, against a daemon under master with a short
 * ipc_timeout: seeded hostile requests (the fuzzer's), clients that write one byte every
 * 300 ms and then stall (cut at ipc_timeout), vanish right after their request, or never read the reply, a
 * 10 MB site name, all concurrently. Afterwards: no flush process died unless master retired
 * it, no fatal or panic line, nothing written outside flush/ (the instance carries no mail
 * meanwhile), and an add and a send_site still answer 0.
 *
 * Exports: SocketFuzzFigures, runSocketFuzz.
 */
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { flushRequest } from '../../src/protocol/flush-messages.js';
import type { PostfixInstance } from '../helpers/postfix-instance.js';
import { sampleHostileRequests } from './fuzz.js';
import { ProcessSampler } from './processes.js';
import { diffSnapshots, snapshotOutside } from './queue-state.js';
import { flushCall } from './wire.js';

export interface SocketFuzzFigures {
  connections: number;
  crashes: number;
  fatalLines: number;
  writesOutsideFlush: number;
  peakRssKiB: number;
  /** Slow writers the server cut before they had sent everything. */
  slowWritersCut: number;
  healthy: boolean;
  failures: string[];
}

type Behaviour = 'plain' | 'slow' | 'vanish' | 'never-read';
const BEHAVIOURS: readonly Behaviour[] = ['plain', 'plain', 'slow', 'vanish', 'never-read'];

/** One connection; resolves true when the server closed it before the client was done. */
function hostileClient(path: string, bytes: Buffer, behaviour: Behaviour): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(path);
    let finished = false;
    const finish = (byServer: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      sock.destroy();
      resolve(byServer);
    };
    const guard = setTimeout(() => finish(false), 15_000);
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.once('data', () => {
      if (behaviour === 'never-read') sock.pause();
      if (behaviour === 'slow') {
        // Up to five bytes, one every 300 ms, then silence: ipc_timeout must cut the client.
        let offset = 0;
        const drip = (): void => {
          if (finished || offset >= Math.min(5, bytes.length)) return;
          sock.write(bytes.subarray(offset, offset + 1));
          offset++;
          setTimeout(drip, 300);
        };
        drip();
        return;
      }
      sock.write(bytes);
      if (behaviour === 'vanish') finish(false);
      if (behaviour === 'never-read') setTimeout(() => finish(false), 3000);
    });
  });
}

export async function runSocketFuzz(pf: PostfixInstance, seed: number, connections: number): Promise<SocketFuzzFigures> {
  const socket = join(pf.spoolDir, 'public', 'flush');
  const skip = ['flush', 'pid', 'public', 'private'];
  const before = snapshotOutside(pf.spoolDir, skip);
  const maillogStart = pf.maillog().length;
  const sampler = new ProcessSampler(pf.spoolDir, 50);
  const requests = sampleHostileRequests(seed, connections);
  requests.push(Buffer.concat([Buffer.from('request\0add\0site\0'), Buffer.alloc(10 * 1024 * 1024, 'a'), Buffer.from('\0queue_id\0ABC\0\0')]));
  let slowWritersCut = 0;
  const concurrency = 16;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const index = next++;
      const behaviour = BEHAVIOURS[index % BEHAVIOURS.length] as Behaviour;
      const bytes = requests[index] as Buffer;
      const cut = await hostileClient(socket, behaviour === 'slow' ? bytes.subarray(0, 40) : bytes, behaviour);
      if (behaviour === 'slow' && cut) slowWritersCut++;
    }
  }));
  const add = await flushCall(socket, flushRequest('add', { site: 'example.test', queueId: 'AFTERFUZZ1' }));
  const send = await flushCall(socket, flushRequest('send_site', { site: 'example.test' }));
  await sleep(500);
  sampler.stop();
  await pf.logMarker(`socket-fuzz-done-${Date.now()}`);
  const maillog = pf.maillog().slice(maillogStart);
  const exits = [...maillog.matchAll(/warning: process \S*flush\S* pid \d+ (exit status \d+|killed by signal \d+)/g)];
  const fatal = maillog.split('\n').filter((line) => /\/flush\[\d+\]: (fatal|panic):/.test(line));
  const outside = diffSnapshots(before, snapshotOutside(pf.spoolDir, skip));
  return {
    connections: requests.length,
    crashes: exits.length,
    fatalLines: fatal.length,
    writesOutsideFlush: outside.length,
    peakRssKiB: sampler.peakRssKiB,
    slowWritersCut,
    healthy: add.status === 0 && send.status === 0,
    failures: [...exits.map((m) => m[0]), ...fatal.slice(0, 5), ...outside.map((p) => `changed outside flush/: ${p}`)],
  };
}
