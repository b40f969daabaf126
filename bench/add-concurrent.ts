/*
 * add-concurrent.ts - workload (c): `clients` concurrent clients each send `perClient` `add`
 * requests (one connection each, fresh ids) to one site, as a busy queue manager's delivery
 * agents do. Measures the overall add rate and p50/p99 latency, and, sampled every ~20 ms from
 * /proc while the clients run (rss-sampler.ts), the peak of the summed VmRSS of the flush
 * service's processes and the peak number of those processes. One add is sent first so the
 * service is running; afterwards the logfile must list every id.
 *
 * Exports: concurrentAddWorkload.
 */
import { encodeRequest, exchange } from './client.js';
import type { BenchContext, FlushSetup } from './context.js';
import { sideVariants, useSetup } from './context.js';
import type { Metrics, Workload } from './rounds.js';
import { percentile } from './rounds.js';
import { startRssSampler, type RssPeak } from './rss-sampler.js';

const SITE = 'busy.example.test';

export function concurrentAddWorkload(ctx: BenchContext, clients: number, perClient: number): Workload {
  const { variants, setups } = sideVariants(ctx);
  const add = async (): Promise<number> => {
    const reply = await exchange(ctx.instance.socketPath,
      encodeRequest([['request', 'add'], ['site', SITE], ['queue_id', ctx.ids.id()]]));
    if (reply.status !== '0') throw new Error(`add: status ${reply.status}`);
    return reply.replyMs;
  };
  const measure = async (setup: FlushSetup): Promise<Metrics> => {
    await useSetup(ctx, setup);
    ctx.instance.clearLogfiles();
    await add();
    const sampler = await startRssSampler(ctx.instance.masterPid());
    const latencies: number[] = [];
    const t0 = process.hrtime.bigint();
    let peak: RssPeak;
    let seconds: number;
    try {
      await Promise.all(Array.from({ length: clients }, async () => {
        for (let i = 0; i < perClient; i++) latencies.push(await add());
      }));
      seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    } finally {
      peak = await sampler.stop();
    }
    const expected = clients * perClient + 1;
    const logged = ctx.instance.logfileIds(SITE).length;
    if (logged !== expected) throw new Error(`${setup.label}: logfile lists ${logged} ids, expected ${expected}`);
    latencies.sort((a, b) => a - b);
    return {
      rate: (clients * perClient) / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99),
      peakRssMb: peak.peakRssKb / 1024, peakProcesses: peak.peakProcesses,
    };
  };
  return {
    key: 'c',
    title: `${clients} concurrent clients x ${perClient} add, one site`,
    variants,
    metrics: [
      { key: 'rate', label: 'concurrent add rate', unit: 'req/s', better: 'higher' },
      { key: 'p50', label: 'concurrent add latency p50', unit: 'ms', better: 'lower' },
      { key: 'p99', label: 'concurrent add latency p99', unit: 'ms', better: 'lower' },
      { key: 'peakRssMb', label: 'peak RSS of flush processes', unit: 'MB', better: 'lower' },
      { key: 'peakProcesses', label: 'peak flush processes', unit: 'count', better: 'lower' },
    ],
    comparisons: ['rate', 'p50', 'p99', 'peakRssMb', 'peakProcesses'].map((metric) => ({ metric, ours: 'ours', base: 'c' })),
    measure: async (variant) => await measure(setups[variant.id] as FlushSetup),
  };
}
