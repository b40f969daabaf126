/*
 * backlog-report.test.ts - the renderings of fastflush status on figures made up here: sorting
 * by backlog, the bar, JSON against docs/status.schema.json, and OpenMetrics text that a
 * Prometheus text-format parser reads back (label escaping included). The same checks on a real
 * queue are in test/integration/admin-tools.test.ts.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { renderJson, renderOpenMetrics, renderTable, sortByBacklog, type StatusRow } from '../../src/cli/backlog-report.js';
import type { LogfileBacklog } from '../../src/queue/backlog.js';
import { repoRoot } from '../helpers/paths.js';

const NOW = 1_800_000_000;

function row(name: string, deferred: number, ids: number, site: string | null = null): StatusRow {
  const backlog: LogfileBacklog = {
    name,
    path: `flush/${name[0]}/${name}`,
    sizeBytes: ids * 11,
    lastFlushSec: NOW - 7200,
    lastAddSec: NOW - 30,
    ids,
    uniqueIds: ids,
    malformed: 0,
    queued: { deferred, incoming: 0, active: 0, hold: 0 },
    stale: ids - deferred,
    oldestArrivalSec: deferred ? NOW - 3 * 86400 : null,
    newestArrivalSec: deferred ? NOW - 90 : null,
  };
  return { site, backlog };
}

const rows = sortByBacklog([row('quiet_example', 0, 4), row('small_example', 1, 1), row('big_example', 10, 12, 'Big.Example')]);

test('sorted by queued mail, then ids; the bar is proportional to the largest backlog', (t) => {
  t.deepEqual(rows.map((r) => r.backlog.name), ['big_example', 'small_example', 'quiet_example']);
  const lines = renderTable(rows, NOW).trimEnd().split('\n');
  t.regex(lines[1]!, /^Big\.Example +10 +10 +0 +0 +0 +12 +12 +2 +3d +1m +132B +2h +30s +#{20}$/);
  t.regex(lines[2]!, /^small_example +1 .* #{2}$/);
  t.regex(lines[3]!, /^quiet_example +0 .* +- +- +44B +2h +30s$/);
});

test('JSON validates against the documented schema', (t) => {
  const schema = JSON.parse(readFileSync(join(repoRoot, 'docs/status.schema.json'), 'utf8')) as object;
  const validate = new Ajv.default({ allErrors: true, strict: true }).compile(schema);
  const document = JSON.parse(renderJson(rows, '/var/spool/postfix', NOW)) as { destinations: unknown[] };
  t.true(validate(document), JSON.stringify(validate.errors));
  t.false(validate({ ...document, destinations: [{}] }), 'the schema rejects an empty destination');
});

test('OpenMetrics: gauges that parse back, one sample per logfile (and queue), ending in # EOF', (t) => {
  const odd = row('a"b\\c', 1, 1);
  const text = renderOpenMetrics([...rows, odd]);
  t.true(text.endsWith('\n# EOF\n'));
  const families = parsePrometheusTextFormat(text);
  t.true(families.every((f) => f.type === 'GAUGE' && /^fastflush_[a-z_]+$/.test(f.name) && f.help !== ''));
  const queued = families.find((f) => f.name === 'fastflush_queued_messages')!;
  t.is(queued.metrics.length, 4 * 4);
  t.is(queued.metrics.find((m) => m.labels?.['logfile'] === 'big_example' && m.labels['queue'] === 'deferred')?.value, '10');
  t.is(queued.metrics.find((m) => m.labels?.['logfile'] === 'a"b\\c' && m.labels['queue'] === 'deferred')?.value, '1');
  const oldest = families.find((f) => f.name === 'fastflush_oldest_message_arrival_timestamp_seconds')!;
  t.deepEqual(oldest.metrics.map((m) => m.labels?.['logfile']), ['big_example', 'small_example', 'a"b\\c']);
  t.regex(text, /^# UNIT fastflush_logfile_size_bytes bytes$/m);
});
