/*
 * harness.test.ts - the pure parts of the benchmark harness (bench/): the alternating round
 * schedule, medians, ratios and percentiles, the comparison rows, the table, the master.cf line
 * parsing that takes fastflush's recommended flush arguments from master.cf.example, the attr0
 * splitting of the benchmark client, and which commands count as the flush service.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { AttrListSplitter, QueueIdSource, encodeRequest } from '../../bench/client.js';
import { formatMasterCfArgs, masterCfEntries, recommendedFlushArgs } from '../../bench/flush-line.js';
import { isFlushServiceCommand } from '../../bench/proc.js';
import type { RoundRecord, Variant, Workload } from '../../bench/rounds.js';
import { formatTable, median, percentile, ratio, schedule, summarize } from '../../bench/rounds.js';
import { repoRoot } from '../helpers/paths.js';

const C: Variant = { id: 'c', side: 'c', label: 'C stock' };
const OURS: Variant = { id: 'ours', side: 'ours', label: 'ours recommended' };

test('schedule: a warm-up round, then the variants alternate in every measured round', (t) => {
  const steps = schedule([C, OURS], 3);
  t.deepEqual(steps.map((s) => `${s.round}${s.warmup ? 'w' : ''}:${s.variant.id}`),
    ['0w:c', '0w:ours', '1:c', '1:ours', '2:c', '2:ours', '3:c', '3:ours']);
});

test('median: odd and even counts, order does not matter, NaN for none', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([7]), 7);
  t.true(Number.isNaN(median([])));
});

test('ratio: ours over base; null when a side is missing, not finite or base is 0', (t) => {
  t.is(ratio(50, 100), 0.5);
  t.is(ratio(3, 1.5), 2);
  t.is(ratio(null, 1), null);
  t.is(ratio(1, undefined), null);
  t.is(ratio(1, 0), null);
  t.is(ratio(Number.NaN, 1), null);
});

test('percentile: nearest rank of an ascending array', (t) => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  t.is(percentile(values, 50), 50);
  t.is(percentile(values, 99), 99);
  t.is(percentile(values, 100), 100);
  t.is(percentile([5], 99), 5);
  t.true(Number.isNaN(percentile([], 50)));
});

test('summarize: medians of the measured rounds only, rows as ours/base', (t) => {
  const workload: Pick<Workload, 'key' | 'title' | 'variants' | 'metrics' | 'comparisons'> = {
    key: 'x', title: 'example', variants: [C, OURS, C],
    metrics: [{ key: 'rate', label: 'rate', unit: 'req/s', better: 'higher' },
      { key: 'ms', label: 'time', unit: 'ms', better: 'lower' }],
    comparisons: [{ metric: 'rate', ours: 'ours', base: 'c' }, { metric: 'ms', ours: 'ours', base: 'c', label: 'own label' }],
  };
  const rounds: RoundRecord[] = [
    { round: 0, warmup: true, variant: 'c', metrics: { rate: 1e9, ms: 1e9 } },
    { round: 0, warmup: true, variant: 'ours', metrics: { rate: 1e9, ms: 1e9 } },
    { round: 1, warmup: false, variant: 'c', metrics: { rate: 100, ms: 10 } },
    { round: 1, warmup: false, variant: 'ours', metrics: { rate: 50, ms: 30 } },
    { round: 2, warmup: false, variant: 'c', metrics: { rate: 300, ms: 20 } },
    { round: 2, warmup: false, variant: 'ours', metrics: { rate: 70, ms: 40 } },
    { round: 3, warmup: false, variant: 'c', metrics: { rate: 200, ms: 30 } },
    { round: 3, warmup: false, variant: 'ours', metrics: { rate: 60, ms: 50 } },
  ];
  const result = summarize(workload, rounds);
  t.deepEqual(result.medians, { c: { rate: 200, ms: 20 }, ours: { rate: 60, ms: 40 } });
  t.deepEqual(result.rows.map((r) => [r.label, r.oursValue, r.baseValue, r.ratio]),
    [['rate', 60, 200, 0.3], ['own label', 40, 20, 2]]);
  const table = formatTable([result]).split('\n');
  t.regex(table[0] as string, /^row\s+unit\s+base\s+base value\s+ours\s+ours value\s+ours\/base\s+better$/);
  t.regex(table[2] as string, /^\(x\) rate\s+req\/s\s+C stock\s+200\s+ours recommended\s+60\.0\s+0\.30\s+higher$/);
});

test('summarize: a comparison may name another metric of the base variant; unknown names throw', (t) => {
  const node: Variant = { id: 'node', side: 'reference', label: 'bare node' };
  const base = {
    key: 'f', title: 'start', variants: [OURS, node],
    metrics: [{ key: 'readyMs', label: 'ready', unit: 'ms', better: 'lower' as const }],
  };
  const rounds: RoundRecord[] = [
    { round: 1, warmup: false, variant: 'ours', metrics: { readyMs: 90 } },
    { round: 1, warmup: false, variant: 'node', metrics: { readyMs: 60, bareExitMs: 45 } },
  ];
  const row = summarize({ ...base, comparisons: [{ metric: 'readyMs', baseMetric: 'bareExitMs', ours: 'ours', base: 'node' }] },
    rounds).rows[0];
  t.is(row?.ratio, 2);
  t.throws(() => summarize({ ...base, comparisons: [{ metric: 'nope', ours: 'ours', base: 'node' }] }, rounds));
  t.throws(() => summarize({ ...base, comparisons: [{ metric: 'readyMs', ours: 'ours', base: 'c' }] }, rounds));
});

test('master.cf.example: the active flush line gives the recommended arguments', (t) => {
  const text = readFileSync(join(repoRoot, 'master.cf.example'), 'utf8');
  const flush = masterCfEntries(text).filter((f) => f[0] === 'flush');
  t.is(flush.length, 1);
  t.deepEqual(recommendedFlushArgs(text), (flush[0] as string[]).slice(8));
});

test('master.cf lines: comments, continuation lines and braced fields', (t) => {
  const text = [
    '# flush unix n - n 1000? 0 flush -o max_use=1',
    'smtp      unix  -       -       n       -       -       smtp',
    '',
    'flush     unix  n       -       n       1000?   0       ../../opt/fastflush/bin/flush',
    '  -o max_use=10000',
    '#  -o commented=out',
    '  -o { smtpd_banner = a b c }',
    'flush     inet  n       -       n       -       -       other',
  ].join('\n');
  t.deepEqual(recommendedFlushArgs(text), ['-o', 'max_use=10000', '-o', 'smtpd_banner = a b c']);
  t.deepEqual(recommendedFlushArgs('flush unix n - n 1000? 0 flush\n'), []);
  t.throws(() => recommendedFlushArgs('#flush unix n - n 1000? 0 flush\n'), { message: /found 0/ });
  t.throws(() => recommendedFlushArgs('flush unix n - n 1000? 0 a\nflush unix n - n 1000? 0 b\n'), { message: /found 2/ });
  t.throws(() => recommendedFlushArgs('flush unix n - n\n'), { message: /fields/ });
  t.throws(() => masterCfEntries('  -o orphan=1\n'), { message: /continuation/ });
  t.is(formatMasterCfArgs(['-o', 'max_use=10000', '-o', 'smtpd_banner = a b c']),
    '-o max_use=10000 -o { smtpd_banner = a b c }');
});

test('client: attr0 lists split across chunks, requests encoded as Postfix writes them', (t) => {
  const splitter = new AttrListSplitter();
  const stream = Buffer.from('protocol\0queue_flush_protocol\0\0status\x000\0\0', 'latin1');
  const lists = [...stream].flatMap((byte) => splitter.push(Buffer.from([byte])));
  t.deepEqual(lists, [[['protocol', 'queue_flush_protocol']], [['status', '0']]]);
  t.deepEqual(encodeRequest([['request', 'send_site'], ['site', 'a.example']]),
    Buffer.from('request\0send_site\0site\0a.example\0\0', 'latin1'));
});

test('client: queue ids are valid, distinct, and spread over the hash digits', (t) => {
  const ids = new QueueIdSource(0xfff).ids(32);
  t.is(new Set(ids).size, 32);
  t.true(ids.every((id) => /^[0-9A-F]{12}$/.test(id)));
  t.is(new Set(ids.map((id) => id[0])).size, 16);
});

test('proc: the flush service is recognised in the C and the fastflush command lines', (t) => {
  t.true(isFlushServiceCommand(['flush', '-z', '-t', 'unix', '-u']));
  t.true(isFlushServiceCommand(['/bin/sh', '/usr/lib/postfix/sbin/../../../../opt/fastflush/bin/flush', '-z']));
  t.true(isFlushServiceCommand(['/usr/bin/node', '/opt/fastflush/bin/../dist/src/flush/daemon.js', '-z']));
  t.true(isFlushServiceCommand(['/usr/bin/node', '/opt/fastflush/bin/../dist/bundle/flush/daemon.cjs', '-z']));
  t.false(isFlushServiceCommand(['smtpd', '-n', '127.0.0.1:25', '-t', 'inet']));
  t.false(isFlushServiceCommand(['qmgr', '-l', '-t', 'unix', '-u']));
  t.false(isFlushServiceCommand([]));
});
