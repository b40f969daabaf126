/*
 * rounds.ts - the part of the benchmark harness every workload shares: the alternating round
 * schedule (one discarded warm-up round, then C, ours, C, ours, ...), medians, ratios, running a
 * workload through its schedule, and the printed table. Pure except runWorkload, which calls the
 * workload's own measuring code.
 *
 * Exports: Side, Variant, Metrics, MetricSpec, Comparison, Workload, Step, RoundRecord,
 * ComparisonRow, WorkloadResult, schedule, median, ratio, percentile, summarize, runWorkload,
 * formatTable, formatNumber.
 */

/** Who a variant runs: Postfix's C flush, fastflush, or a reference that is neither (bare node). */
export type Side = 'c' | 'ours' | 'reference';

/** One configuration a workload measures, e.g. "C flush on the stock master.cf line". */
export interface Variant {
  id: string;
  side: Side;
  label: string;
}

/** The figures of one measurement, by metric key. A metric a variant does not have is absent. */
export type Metrics = Record<string, number>;

export interface MetricSpec {
  key: string;
  /** What the figure is, e.g. "add req/s". */
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

/** One table row: metric of variant `ours` against the same (or baseMetric) of variant `base`. */
export interface Comparison {
  metric: string;
  ours: string;
  base: string;
  baseMetric?: string;
  /** Row label; the metric's label when absent. */
  label?: string;
}

export interface Workload {
  /** The option letter (--only), e.g. "a". */
  key: string;
  title: string;
  /**
   * Measured in this order in every round; put C and ours alternately. A variant may appear more
   * than once: its medians are over all its measurements.
   */
  variants: Variant[];
  metrics: MetricSpec[];
  comparisons: Comparison[];
  /** Once, before the first round (fixtures that survive the rounds). */
  prepare?(): Promise<void>;
  /**
   * One measurement of one variant; restores whatever state the next measurement needs. In the
   * warm-up round (discarded) a workload may do a lighter version of its work.
   */
  measure(variant: Variant, warmup: boolean): Promise<Metrics>;
  /** Once, after the last round, also after a failure. */
  cleanup?(): Promise<void>;
}

export interface Step {
  /** 0 is the warm-up round. */
  round: number;
  warmup: boolean;
  variant: Variant;
}

export interface RoundRecord {
  round: number;
  warmup: boolean;
  variant: string;
  metrics: Metrics;
}

export interface ComparisonRow {
  label: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  ours: string;
  oursLabel: string;
  base: string;
  baseLabel: string;
  /** The base variant's metric (the row's metric unless the comparison names another). */
  baseMetric: string;
  oursValue: number | null;
  baseValue: number | null;
  /** ours / base, null when either median is missing or base is 0. */
  ratio: number | null;
}

export interface WorkloadResult {
  key: string;
  title: string;
  rounds: RoundRecord[];
  /** variant id -> metric key -> median over the measured (non-warm-up) rounds. */
  medians: Record<string, Metrics>;
  rows: ComparisonRow[];
}

/** Warm-up round 0, then `rounds` measured rounds, each measuring every variant in the given order. */
export function schedule(variants: Variant[], rounds: number): Step[] {
  const steps: Step[] = [];
  for (let round = 0; round <= rounds; round++) {
    for (const variant of variants) steps.push({ round, warmup: round === 0, variant });
  }
  return steps;
}

/** Median of the values (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** ours / base; null when a value is missing, not finite, or base is 0. */
export function ratio(ours: number | null | undefined, base: number | null | undefined): number | null {
  if (ours === null || ours === undefined || base === null || base === undefined) return null;
  if (!Number.isFinite(ours) || !Number.isFinite(base) || base === 0) return null;
  return ours / base;
}

/** Nearest-rank percentile of an ascending array (p in 0..100); NaN for an empty array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** Medians of the measured rounds and the comparison rows of a workload. */
export function summarize(workload: Pick<Workload, 'key' | 'title' | 'variants' | 'metrics' | 'comparisons'>,
  rounds: RoundRecord[]): WorkloadResult {
  const medians: Record<string, Metrics> = {};
  for (const variant of workload.variants) {
    if (variant.id in medians) continue;
    const measured = rounds.filter((r) => !r.warmup && r.variant === variant.id);
    const keys = new Set(measured.flatMap((r) => Object.keys(r.metrics)));
    const m: Metrics = {};
    for (const key of keys) {
      m[key] = median(measured.map((r) => r.metrics[key]).filter((v): v is number => v !== undefined));
    }
    medians[variant.id] = m;
  }
  const rows = workload.comparisons.map((c): ComparisonRow => {
    const spec = workload.metrics.find((s) => s.key === c.metric);
    if (spec === undefined) throw new Error(`workload ${workload.key}: comparison of unknown metric ${c.metric}`);
    const [ours, base] = [c.ours, c.base].map((id) => {
      const variant = workload.variants.find((v) => v.id === id);
      if (variant === undefined) throw new Error(`workload ${workload.key}: comparison with unknown variant ${id}`);
      return variant;
    }) as [Variant, Variant];
    const oursValue = medians[c.ours]?.[c.metric] ?? null;
    const baseValue = medians[c.base]?.[c.baseMetric ?? c.metric] ?? null;
    return {
      label: c.label ?? spec.label, metric: c.metric, unit: spec.unit, better: spec.better, ours: c.ours,
      oursLabel: ours.label, base: c.base, baseMetric: c.baseMetric ?? c.metric, baseLabel: base.label, oursValue, baseValue, ratio: ratio(oursValue, baseValue),
    };
  });
  return { key: workload.key, title: workload.title, rounds, medians, rows };
}

/**
 * Run a workload through its schedule. `progress` gets one line per measurement (stderr in the
 * CLI), so a long run shows where it is.
 */
export async function runWorkload(workload: Workload, rounds: number,
  progress: (line: string) => void): Promise<WorkloadResult> {
  const records: RoundRecord[] = [];
  try {
    await workload.prepare?.();
    for (const step of schedule(workload.variants, rounds)) {
      const t0 = Date.now();
      const metrics = await workload.measure(step.variant, step.warmup);
      records.push({ round: step.round, warmup: step.warmup, variant: step.variant.id, metrics });
      const round = step.warmup ? 'warm-up' : `round ${step.round}`;
      progress(`(${workload.key}) ${round} ${step.variant.label}: ${formatMetrics(metrics)} [${Date.now() - t0} ms]`);
    }
  } finally {
    await workload.cleanup?.();
  }
  return summarize(workload, records);
}

function formatMetrics(metrics: Metrics): string {
  return Object.entries(metrics).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ');
}

/** Three significant digits, no exponent for everyday magnitudes; "-" for a missing value. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** The comparison rows of every workload as one fixed-width text table. */
export function formatTable(results: WorkloadResult[]): string {
  const header = ['row', 'unit', 'base', 'base value', 'ours', 'ours value', 'ours/base', 'better'];
  const lines: string[][] = [];
  for (const result of results) {
    for (const row of result.rows) {
      lines.push([`(${result.key}) ${row.label}`, row.unit, row.baseLabel, formatNumber(row.baseValue),
        row.oursLabel, formatNumber(row.oursValue), row.ratio === null ? '-' : row.ratio.toFixed(2), row.better]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const numeric = new Set([3, 5, 6]);
  const render = (cells: string[]): string => cells.map((cell, i) => (numeric.has(i)
    ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}
