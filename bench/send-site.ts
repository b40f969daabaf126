/*
 * send-site.ts - workload (d): `send_site` (what ETRN and `postqueue -s` ask for) on a logfile of
 * 1k, 10k and 100k ids (sizes configurable), timed from connect to reply: flush replies only
 * after it has worked through the whole logfile.
 *
 *  - absent ids: the logfile lists ids that have no queue file, so the work is reading the
 *    logfile and two failed time-stamp updates per id (deferred/, then incoming/);
 *  - queue files: the ids are real deferred queue files (queue-fixture.ts), so each one is
 *    time-stamped, opened, chmod'ed and renamed to incoming/.
 *
 * The queue files are made once (prepare) and moved back after every send; flush truncates the
 * logfile, so it is written again before every send. The instance runs without qmgr
 * (instance.ts explains why), so nothing but the flush service touches the files. After each
 * send the logfile must be empty and every listed file must have reached incoming/.
 *
 * Shows the time per size and ms per 1000 ids, so growth beyond linear is visible.
 *
 * Exports: SendSiteFixture, sendSiteWorkload.
 */
import { logfileName } from '../test/helpers/postfix-instance.js';
import { encodeRequest, exchange } from './client.js';
import type { BenchContext, FlushSetup } from './context.js';
import { primeService, sideVariants, useSetup } from './context.js';
import { DeferredQueueFiles } from './queue-fixture.js';
import type { Comparison, MetricSpec, Metrics, Workload } from './rounds.js';

const SITE = 'send.example.test';

/** A logfile of real or absent ids and one timed `send_site` on it. */
export class SendSiteFixture {
  readonly files: DeferredQueueFiles;
  readonly absentIds: string[];

  /** Makes `maxSize` queue files; remove() takes them away. */
  constructor(private readonly ctx: BenchContext, readonly site: string, maxSize: number) {
    const { pf } = ctx.instance;
    this.files = DeferredQueueFiles.create(pf.spoolDir, pf.postfixUid, pf.postfixGid, maxSize);
    this.absentIds = ctx.ids.ids(maxSize);
  }

  /** Write the logfile for `size` ids (real queue files or absent ids). */
  writeLogfile(size: number, withFiles: boolean): void {
    const ids = (withFiles ? this.files.ids : this.absentIds).slice(0, size);
    this.ctx.instance.writeLogfile(logfileName(this.site), ids);
  }

  /** Time a send_site on the written logfile, check its effect, and restore the queue files. */
  async send(size: number, withFiles: boolean): Promise<number> {
    const reply = await exchange(this.ctx.instance.socketPath, encodeRequest([['request', 'send_site'], ['site', this.site]]));
    if (reply.status !== '0') throw new Error(`send_site ${this.site}: status ${reply.status}`);
    const left = this.ctx.instance.logfileIds(this.site).length;
    if (left !== 0) throw new Error(`send_site ${this.site}: logfile still lists ${left} ids`);
    if (withFiles) {
      const moved = this.files.restore(size);
      if (moved !== size) throw new Error(`send_site ${this.site}: moved ${moved} of ${size} queue files to incoming/`);
    }
    return reply.replyMs;
  }
}

function metricKey(kind: 'absent' | 'files', size: number, perK: boolean): string {
  return `${kind}_${size}${perK ? '_per1k' : ''}`;
}

export function sendSiteWorkload(ctx: BenchContext, sizes: number[]): Workload {
  const { variants, setups } = sideVariants(ctx);
  let fixture: SendSiteFixture | null = null;
  const metrics: MetricSpec[] = [];
  for (const kind of ['absent', 'files'] as const) {
    const what = kind === 'absent' ? 'absent ids' : 'queue files';
    for (const size of sizes) {
      metrics.push({ key: metricKey(kind, size, false), label: `send_site ${size} ${what}`, unit: 'ms', better: 'lower' });
      metrics.push({ key: metricKey(kind, size, true), label: `send_site ${size} ${what}, per 1k ids`, unit: 'ms/1k',
        better: 'lower' });
    }
  }
  const comparisons: Comparison[] = metrics.map((m) => ({ metric: m.key, ours: 'ours', base: 'c' }));
  return {
    key: 'd',
    title: `send_site on ${sizes.join(', ')} ids, absent and with queue files`,
    variants,
    metrics,
    comparisons,
    prepare: async () => {
      fixture = new SendSiteFixture(ctx, SITE, Math.max(...sizes));
    },
    /* The warm-up round sends only the smallest size: it warms the service, not the disk. */
    measure: async (variant, warmup) => {
      const f = fixture as SendSiteFixture;
      await useSetup(ctx, setups[variant.id] as FlushSetup);
      ctx.instance.clearLogfiles();
      await primeService(ctx);
      const out: Metrics = {};
      for (const kind of ['absent', 'files'] as const) {
        for (const size of warmup ? [Math.min(...sizes)] : sizes) {
          f.writeLogfile(size, kind === 'files');
          const ms = await f.send(size, kind === 'files');
          out[metricKey(kind, size, false)] = ms;
          out[metricKey(kind, size, true)] = ms / (size / 1000);
        }
      }
      return out;
    },
    cleanup: async () => {
      fixture?.files.remove();
    },
  };
}
