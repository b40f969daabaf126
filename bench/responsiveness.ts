/*
 * responsiveness.ts - workload (g): does a long `send_site` hold up everyone else? While one
 * client's `send_site` works through `ids` real deferred queue files (default 100k, made as in
 * send-site.ts), `clients` other clients (default 4) each send `add` requests for their own site,
 * one connection each, back to back, until the send_site has replied. Reports the p50/p99/max
 * latency of those adds, their rate while the send_site ran, and the send_site's own time.
 *
 * With Postfix's C flush every connection is served by a process of its own; a daemon that
 * serves several connections in one process must not let one long request starve the others.
 *
 * Exports: responsivenessWorkload.
 */
import { encodeRequest, exchange } from './client.js';
import type { BenchContext, FlushSetup } from './context.js';
import { primeService, sideVariants, useSetup } from './context.js';
import type { Workload } from './rounds.js';
import { percentile } from './rounds.js';
import { SendSiteFixture } from './send-site.js';

export function responsivenessWorkload(ctx: BenchContext, ids: number, clients: number): Workload {
  const { variants, setups } = sideVariants(ctx);
  let fixture: SendSiteFixture | null = null;
  return {
    key: 'g',
    title: `add from ${clients} clients (other sites) during a send_site of ${ids} queue files`,
    variants,
    metrics: [
      { key: 'p50', label: 'add latency p50 during send_site', unit: 'ms', better: 'lower' },
      { key: 'p99', label: 'add latency p99 during send_site', unit: 'ms', better: 'lower' },
      { key: 'max', label: 'add latency max during send_site', unit: 'ms', better: 'lower' },
      { key: 'addRate', label: 'add rate during send_site', unit: 'req/s', better: 'higher' },
      { key: 'sendMs', label: 'the send_site itself', unit: 'ms', better: 'lower' },
    ],
    comparisons: ['p50', 'p99', 'max', 'addRate', 'sendMs'].map((metric) => ({ metric, ours: 'ours', base: 'c' })),
    prepare: async () => {
      fixture = new SendSiteFixture(ctx, 'big.example.test', ids);
    },
    /* The warm-up round uses a short send_site (at most 1000 files). */
    measure: async (variant, warmup) => {
      const f = fixture as SendSiteFixture;
      const size = warmup ? Math.min(ids, 1000) : ids;
      await useSetup(ctx, setups[variant.id] as FlushSetup);
      ctx.instance.clearLogfiles();
      await primeService(ctx);
      f.writeLogfile(size, true);
      let sending = true;
      const send = f.send(size, true).finally(() => { sending = false; });
      const latencies: number[] = [];
      const adders = Array.from({ length: clients }, async (_, k) => {
        while (sending) {
          const reply = await exchange(ctx.instance.socketPath,
            encodeRequest([['request', 'add'], ['site', `other${k}.example.test`], ['queue_id', ctx.ids.id()]]));
          if (reply.status !== '0') throw new Error(`add: status ${reply.status}`);
          latencies.push(reply.replyMs);
        }
      });
      const [sendMs] = await Promise.all([send, ...adders]);
      latencies.sort((a, b) => a - b);
      return {
        p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? Number.NaN,
        addRate: latencies.length / (sendMs / 1000), sendMs,
      };
    },
    cleanup: async () => {
      fixture?.files.remove();
    },
  };
}
