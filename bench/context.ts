/*
 * context.ts - what every workload module gets: the instance, the queue id source, the flush
 * lines (stock and master.cf.example's recommended arguments) and the line each side runs on in
 * the workloads that do not compare lines themselves (c to g), plus the helper that puts a
 * variant's program and line into the instance.
 *
 * Exports: LineChoice, BenchContext, FlushSetup, lineSetups, useSetup, sideVariants, primeService.
 */
import type { FlushProgram } from '../test/helpers/postfix-instance.js';
import { encodeRequest, exchange, type QueueIdSource } from './client.js';
import { STOCK_FLUSH_ARGS, type BenchInstance } from './instance.js';
import type { Variant } from './rounds.js';

/**
 * Which master.cf line the two sides use in workloads c to g: `recommended` (default) compares
 * what fastflush recommends with what Postfix installs (ours on master.cf.example's line, C on
 * the stock line); `stock` runs both on the stock line; `same` runs both with the recommended
 * arguments.
 */
export type LineChoice = 'recommended' | 'stock' | 'same';

export interface FlushSetup {
  program: FlushProgram;
  args: readonly string[];
  /** e.g. "C stock", "ours recommended". */
  label: string;
}

export interface BenchContext {
  instance: BenchInstance;
  ids: QueueIdSource;
  /** The arguments of master.cf.example's active flush line. */
  recommendedArgs: readonly string[];
  line: LineChoice;
}

/** The C and fastflush setups of workloads c to g under the context's line choice. */
export function lineSetups(ctx: BenchContext): { c: FlushSetup; ours: FlushSetup } {
  const stock = (program: FlushProgram, who: string): FlushSetup => ({ program, args: STOCK_FLUSH_ARGS, label: `${who} stock` });
  const recommended = (program: FlushProgram, who: string): FlushSetup => ({
    program, args: ctx.recommendedArgs, label: `${who} ${program === 'c' ? 'same args' : 'recommended'}`,
  });
  switch (ctx.line) {
    case 'stock': return { c: stock('c', 'C'), ours: stock('fastflush', 'ours') };
    case 'same': return { c: recommended('c', 'C'), ours: recommended('fastflush', 'ours') };
    case 'recommended': return { c: stock('c', 'C'), ours: recommended('fastflush', 'ours') };
  }
}

export async function useSetup(ctx: BenchContext, setup: FlushSetup): Promise<void> {
  await ctx.instance.use(setup.program, setup.args);
}

/** Variants "c" and "ours" (in that order) labelled by the line choice, with their setups. */
export function sideVariants(ctx: BenchContext): { variants: Variant[]; setups: Record<string, FlushSetup> } {
  const { c, ours } = lineSetups(ctx);
  return {
    variants: [{ id: 'c', side: 'c', label: c.label }, { id: 'ours', side: 'ours', label: ours.label }],
    setups: { c, ours },
  };
}

/**
 * A `send_site` for a site that has no logfile: a request that changes nothing, sent before the
 * timed ones so that they find the service's process running (after a restart there is none).
 */
export async function primeService(ctx: BenchContext): Promise<void> {
  const reply = await exchange(ctx.instance.socketPath, encodeRequest([['request', 'send_site'], ['site', 'idle.example.test']]));
  if (reply.status !== '0') throw new Error(`priming send_site: status ${reply.status}`);
}
