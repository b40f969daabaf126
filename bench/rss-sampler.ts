/*
 * rss-sampler.ts - samples the flush service's memory while a workload runs: every interval
 * (~20 ms) it sums VmRSS over the flush service processes under master (proc.ts) and keeps the
 * peak sum and the peak process count. The sampling runs in a worker thread, so its synchronous
 * /proc reads never delay the benchmark's clients on the main thread.
 *
 * Exports: RssPeak, RssSampler, startRssSampler.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { flushServicePids, memoryKb } from './proc.js';

export interface RssPeak {
  /** Highest sum of VmRSS over the flush service's processes, in kB. */
  peakRssKb: number;
  /** Highest number of flush service processes alive at once. */
  peakProcesses: number;
  samples: number;
}

export interface RssSampler {
  stop(): Promise<RssPeak>;
}

interface SamplerData {
  masterPid: number;
  intervalMs: number;
}

/** Start sampling the flush service under `masterPid`; stop() resolves with the peaks. */
export async function startRssSampler(masterPid: number, intervalMs = 20): Promise<RssSampler> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { masterPid, intervalMs } satisfies SamplerData });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    async stop(): Promise<RssPeak> {
      const result = new Promise<RssPeak>((resolve, reject) => {
        worker.once('message', (peak: RssPeak) => resolve(peak));
        worker.once('error', reject);
      });
      worker.postMessage('stop');
      const peak = await result;
      await worker.terminate();
      return peak;
    },
  };
}

function sampleLoop(): void {
  const { masterPid, intervalMs } = workerData as SamplerData;
  const port = parentPort as NonNullable<typeof parentPort>;
  const peak: RssPeak = { peakRssKb: 0, peakProcesses: 0, samples: 0 };
  const sample = (): void => {
    let rss = 0;
    let processes = 0;
    for (const pid of flushServicePids(masterPid)) {
      const mem = memoryKb(pid);
      if (mem === null) continue;
      rss += mem.rss;
      processes++;
    }
    peak.peakRssKb = Math.max(peak.peakRssKb, rss);
    peak.peakProcesses = Math.max(peak.peakProcesses, processes);
    peak.samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  port.on('message', () => {
    clearInterval(timer);
    sample();
    port.postMessage(peak);
  });
  port.postMessage('started');
}

if (!isMainThread && (workerData as SamplerData | undefined)?.masterPid !== undefined) sampleLoop();
