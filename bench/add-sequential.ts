/*
 * add-sequential.ts - workloads (a) and (b): sequential `add` requests, one connection each,
 * fresh queue ids, one site, as smtp/qmgr produce them one deferral at a time. Measures req/s
 * and p50/p99 latency (connect to complete reply). One request to the site is sent before the
 * timed ones, so the figures start with a running service; afterwards the logfile must list
 * every id added.
 *
 * (a) C and fastflush on the stock line (`flush unix n - n 1000? 0 flush`, main.cf defaults, so
 *     max_use 100: a process start every 100 requests, for both).
 * (b) fastflush on the line master.cf.example recommends, against C on the stock line (what
 *     Postfix installs) and against C with the same arguments (a like-for-like comparison).
 *
 * Exports: addStockWorkload, addRecommendedWorkload, ADD_METRICS.
 */
import { encodeRequest, exchange } from './client.js';
import type { BenchContext, FlushSetup } from './context.js';
import { useSetup } from './context.js';
import { STOCK_FLUSH_ARGS } from './instance.js';
import type { Comparison, MetricSpec, Metrics, Variant, Workload } from './rounds.js';
import { percentile } from './rounds.js';

const SITE = 'seq.example.test';

export const ADD_METRICS: MetricSpec[] = [
  { key: 'rate', label: 'add rate', unit: 'req/s', better: 'higher' },
  { key: 'p50', label: 'add latency p50', unit: 'ms', better: 'lower' },
  { key: 'p99', label: 'add latency p99', unit: 'ms', better: 'lower' },
];

async function sequentialAdds(ctx: BenchContext, setup: FlushSetup, n: number): Promise<Metrics> {
  await useSetup(ctx, setup);
  ctx.instance.clearLogfiles();
  const add = async (): Promise<number> => {
    const reply = await exchange(ctx.instance.socketPath,
      encodeRequest([['request', 'add'], ['site', SITE], ['queue_id', ctx.ids.id()]]));
    if (reply.status !== '0') throw new Error(`add: status ${reply.status}`);
    return reply.replyMs;
  };
  await add();
  const latencies: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) latencies.push(await add());
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const logged = ctx.instance.logfileIds(SITE).length;
  if (logged !== n + 1) throw new Error(`${setup.label}: logfile lists ${logged} ids, expected ${n + 1}`);
  latencies.sort((a, b) => a - b);
  return { rate: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function workload(ctx: BenchContext, key: string, title: string, n: number,
  entries: { variant: Variant; setup: FlushSetup }[], comparisons: Comparison[]): Workload {
  /* A variant may be listed twice (b measures ours twice a round, to keep C and ours alternating). */
  const setups = new Map(entries.map((e) => [e.variant.id, e.setup]));
  return {
    key,
    title,
    variants: entries.map((e) => e.variant),
    metrics: ADD_METRICS,
    comparisons,
    measure: async (variant) => await sequentialAdds(ctx, setups.get(variant.id) as FlushSetup, n),
  };
}

const compareAll = (ours: string, base: string, suffix: string): Comparison[] =>
  ADD_METRICS.map((m) => ({ metric: m.key, ours, base, label: `${m.label}${suffix}` }));

export function addStockWorkload(ctx: BenchContext, n: number): Workload {
  return workload(ctx, 'a', `sequential add x${n}, stock line`, n, [
    { variant: { id: 'c-stock', side: 'c', label: 'C stock' }, setup: { program: 'c', args: STOCK_FLUSH_ARGS, label: 'C stock' } },
    { variant: { id: 'ours-stock', side: 'ours', label: 'ours stock' },
      setup: { program: 'fastflush', args: STOCK_FLUSH_ARGS, label: 'ours stock' } },
  ], compareAll('ours-stock', 'c-stock', ''));
}

export function addRecommendedWorkload(ctx: BenchContext, n: number): Workload {
  const args = ctx.recommendedArgs;
  return workload(ctx, 'b', `sequential add x${n}, recommended line [${args.join(' ')}]`, n, [
    { variant: { id: 'c-stock', side: 'c', label: 'C stock' }, setup: { program: 'c', args: STOCK_FLUSH_ARGS, label: 'C stock' } },
    { variant: { id: 'ours-rec', side: 'ours', label: 'ours recommended' },
      setup: { program: 'fastflush', args, label: 'ours recommended' } },
    { variant: { id: 'c-same', side: 'c', label: 'C same args' }, setup: { program: 'c', args, label: 'C same args' } },
    { variant: { id: 'ours-rec', side: 'ours', label: 'ours recommended' },
      setup: { program: 'fastflush', args, label: 'ours recommended' } },
  ], [...compareAll('ours-rec', 'c-stock', ''), ...compareAll('ours-rec', 'c-same', '')]);
}
