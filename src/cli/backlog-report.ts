/*
 * backlog-report.ts - the three renderings of `fastflush status`: a terminal
 * table with a proportional bar, JSON (schema: docs/status.schema.json) and
 * OpenMetrics text for node_exporter's textfile collector. Pure: the caller
 * gathers the figures (queue/backlog.ts) and prints the result.
 *
 * Rows are sorted by backlog: messages still queued (deferred + incoming +
 * active + hold), then ids listed, then name.
 *
 * Exports: StatusRow, sortByBacklog, renderTable, renderJson, renderOpenMetrics,
 * STATUS_SCHEMA_VERSION.
 */
import type { LogfileBacklog } from '../queue/backlog.js';
import { WAITING_QUEUES } from '../queue/backlog.js';

/** One destination: the logfile's figures and the site as the user named it (when they did). */
export interface StatusRow {
  site: string | null;
  backlog: LogfileBacklog;
}

export const STATUS_SCHEMA_VERSION = 1;

function queuedTotal(backlog: LogfileBacklog): number {
  return WAITING_QUEUES.reduce((sum, queue) => sum + backlog.queued[queue], 0);
}

export function sortByBacklog(rows: StatusRow[]): StatusRow[] {
  return [...rows].sort(
    (a, b) =>
      queuedTotal(b.backlog) - queuedTotal(a.backlog) ||
      b.backlog.ids - a.backlog.ids ||
      (a.backlog.name < b.backlog.name ? -1 : a.backlog.name > b.backlog.name ? 1 : 0),
  );
}

/** "45s", "12m", "3h", "9d": the largest unit that gives at least 1. */
function age(nowSec: number, thenSec: number | null): string {
  if (thenSec === null) return '-';
  const seconds = Math.max(0, nowSec - thenSec);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit}`;
  }
  return `${seconds}s`;
}

function bytes(size: number): string {
  if (size < 1024) return `${size}B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)}K`;
  return `${(size / 1024 / 1024).toFixed(1)}M`;
}

const BAR_WIDTH = 20;

/**
 * The terminal table. QUEUED is deferred+incoming+active+hold; OLDEST and
 * NEWEST are the ages of those messages; FLUSHED and ADDED the ages of the
 * logfile's atime and mtime. The bar is QUEUED relative to the largest QUEUED.
 */
export function renderTable(rows: StatusRow[], nowSec: number): string {
  const largest = Math.max(1, ...rows.map((row) => queuedTotal(row.backlog)));
  const header = ['DESTINATION', 'QUEUED', 'DEFER', 'INCOM', 'ACTIV', 'HOLD', 'IDS', 'UNIQ', 'STALE', 'OLDEST', 'NEWEST', 'SIZE', 'FLUSHED', 'ADDED', 'BACKLOG'];
  const lines = rows.map(({ site, backlog: b }) => {
    const queued = queuedTotal(b);
    const filled = queued === 0 ? 0 : Math.max(1, Math.round((queued / largest) * BAR_WIDTH));
    return [
      site ?? b.name,
      String(queued),
      String(b.queued.deferred),
      String(b.queued.incoming),
      String(b.queued.active),
      String(b.queued.hold),
      String(b.ids),
      String(b.uniqueIds),
      String(b.stale),
      age(nowSec, b.oldestArrivalSec),
      age(nowSec, b.newestArrivalSec),
      bytes(b.sizeBytes),
      age(nowSec, b.lastFlushSec),
      age(nowSec, b.lastAddSec),
      '#'.repeat(filled),
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === 0 || column === cells.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [format(header), ...lines.map(format)].join('\n') + '\n';
}

export function renderJson(rows: StatusRow[], queueDirectory: string, nowSec: number): string {
  const document = {
    schema_version: STATUS_SCHEMA_VERSION,
    generated_at: nowSec,
    queue_directory: queueDirectory,
    destinations: rows.map(({ site, backlog: b }) => ({
      site,
      logfile: b.name,
      path: b.path,
      size_bytes: b.sizeBytes,
      ids: b.ids,
      unique_ids: b.uniqueIds,
      malformed_lines: b.malformed,
      stale_ids: b.stale,
      queued: { ...b.queued },
      queued_total: queuedTotal(b),
      oldest_arrival: b.oldestArrivalSec,
      newest_arrival: b.newestArrivalSec,
      last_flush: b.lastFlushSec,
      last_add: b.lastAddSec,
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Label values escape backslash, double quote and newline (OpenMetrics ABNF). */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

interface Family {
  name: string;
  help: string;
  unit?: string;
  samples: Array<[labels: string, value: number]>;
}

export function renderOpenMetrics(rows: StatusRow[]): string {
  const byLogfile = (pick: (b: LogfileBacklog) => number | null): Array<[string, number]> =>
    rows.flatMap(({ backlog: b }) => {
      const value = pick(b);
      return value === null ? [] : [[`logfile="${label(b.name)}"`, value] as [string, number]];
    });
  const families: Family[] = [
    { name: 'fastflush_logfile_ids', help: 'Queue id lines in the fast flush logfile, repeats included.', samples: byLogfile((b) => b.ids) },
    { name: 'fastflush_logfile_unique_ids', help: 'Distinct queue ids in the fast flush logfile.', samples: byLogfile((b) => b.uniqueIds) },
    { name: 'fastflush_logfile_stale_ids', help: 'Distinct ids in the logfile whose queue file no longer exists.', samples: byLogfile((b) => b.stale) },
    {
      name: 'fastflush_queued_messages',
      help: 'Distinct ids in the logfile that still have a queue file, by queue.',
      samples: rows.flatMap(({ backlog: b }) =>
        WAITING_QUEUES.map((queue) => [`logfile="${label(b.name)}",queue="${queue}"`, b.queued[queue]] as [string, number]),
      ),
    },
    { name: 'fastflush_logfile_size_bytes', unit: 'bytes', help: 'Size of the fast flush logfile.', samples: byLogfile((b) => b.sizeBytes) },
    {
      name: 'fastflush_oldest_message_arrival_timestamp_seconds',
      unit: 'seconds',
      help: 'Arrival time of the oldest queued message listed in the logfile.',
      samples: byLogfile((b) => b.oldestArrivalSec),
    },
    {
      name: 'fastflush_newest_message_arrival_timestamp_seconds',
      unit: 'seconds',
      help: 'Arrival time of the newest queued message listed in the logfile.',
      samples: byLogfile((b) => b.newestArrivalSec),
    },
    { name: 'fastflush_logfile_last_flush_timestamp_seconds', unit: 'seconds', help: 'Last flush of the logfile (its atime).', samples: byLogfile((b) => b.lastFlushSec) },
    { name: 'fastflush_logfile_last_add_timestamp_seconds', unit: 'seconds', help: 'Last add to the logfile (its mtime).', samples: byLogfile((b) => b.lastAddSec) },
  ];
  const out: string[] = [];
  for (const family of families) {
    out.push(`# TYPE ${family.name} gauge`);
    if (family.unit !== undefined) out.push(`# UNIT ${family.name} ${family.unit}`);
    out.push(`# HELP ${family.name} ${family.help}`);
    for (const [labels, value] of family.samples) out.push(`${family.name}{${labels}} ${value}`);
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}
