/*
 * refresh-purge.ts - workload (e): `rfrsh` and `purge` (what master's wakeup and
 * `postqueue -f`/`sendmail -qI` ask for) over logfiles aged 2 days, so both requests work
 * through every logfile (older than fast_flush_refresh_time, not empty). These requests reply
 * first and work afterwards, so the figure is the time from connect until the server closes the
 * connection.
 *
 *  - one logfile of `ids` absent ids (default 10k);
 *  - `logfiles` logfiles of one absent id each (default 10k).
 *
 * The logfiles are written again, aged, before every request (the request truncates them);
 * afterwards every one must be empty.
 *
 * Exports: refreshPurgeWorkload.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRequest, exchange } from './client.js';
import type { BenchContext, FlushSetup } from './context.js';
import { primeService, sideVariants, useSetup } from './context.js';
import type { Comparison, MetricSpec, Metrics, Workload } from './rounds.js';

const AGE_MS = 2 * 24 * 3600 * 1000;
const REQUESTS = ['rfrsh', 'purge'] as const;
const SCENARIOS = ['one', 'many'] as const;

export function refreshPurgeWorkload(ctx: BenchContext, ids: number, logfiles: number): Workload {
  const { variants, setups } = sideVariants(ctx);
  const scenarioLabel = { one: `1 logfile x ${ids} ids`, many: `${logfiles} logfiles x 1 id` };
  const metrics: MetricSpec[] = SCENARIOS.flatMap((scenario) => REQUESTS.map((request) => ({
    key: `${request}_${scenario}`, label: `${request} ${scenarioLabel[scenario]}, until close`, unit: 'ms',
    better: 'lower' as const,
  })));
  const comparisons: Comparison[] = metrics.map((m) => ({ metric: m.key, ours: 'ours', base: 'c' }));
  const oneLogfileIds = ctx.ids.ids(ids);
  const manyLogfileIds = ctx.ids.ids(logfiles);

  const writeScenario = (scenario: typeof SCENARIOS[number]): void => {
    ctx.instance.clearLogfiles();
    if (scenario === 'one') {
      ctx.instance.writeLogfile('aged_example_test', oneLogfileIds, AGE_MS);
    } else {
      manyLogfileIds.forEach((id, i) => ctx.instance.writeLogfile(`aged${i}_example_test`, [id], AGE_MS));
    }
  };
  const checkAllEmpty = (request: string): void => {
    const dir = join(ctx.instance.spoolDir, 'flush');
    const full = readdirSync(dir).filter((name) => statSync(join(dir, name)).size !== 0);
    if (full.length > 0) {
      const st = statSync(join(dir, full[0] as string));
      throw new Error(`${request}: ${full.length} logfiles not emptied after the server closed, e.g. ${full[0]} ` +
        `(size ${st.size}, atime ${st.atime.toISOString()}, mtime ${st.mtime.toISOString()})`);
    }
  };

  return {
    key: 'e',
    title: `rfrsh and purge over aged logfiles (${scenarioLabel.one}; ${scenarioLabel.many})`,
    variants,
    metrics,
    comparisons,
    measure: async (variant) => {
      await useSetup(ctx, setups[variant.id] as FlushSetup);
      await primeService(ctx);
      const out: Metrics = {};
      for (const scenario of SCENARIOS) {
        for (const request of REQUESTS) {
          writeScenario(scenario);
          const reply = await exchange(ctx.instance.socketPath, encodeRequest([['request', request]]), { waitForClose: true });
          if (reply.status !== '0') throw new Error(`${request}: status ${reply.status}`);
          checkAllEmpty(request);
          out[`${request}_${scenario}`] = reply.closeMs as number;
        }
      }
      ctx.instance.clearLogfiles();
      return out;
    },
  };
}
