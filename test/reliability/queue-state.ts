/*
 * queue-state.ts - what the campaign checks in a queue directory, whichever flush program
 * worked on it: where every queue file is (census over the mail queues, hashed
 * subdirectories included) with a digest of its bytes, the queue ids listed in the fast flush
 * logfiles, and a snapshot of every regular file outside flush/ (to prove nothing was written
 * elsewhere). Also makes throwaway deferred queue files with Postfix-like ids.
 *
 * Exports: QueueCensus, censusQueue, compareCensus, CensusDiff, logfileIds, logfileLines,
 * snapshotOutside, diffSnapshots, makeQueueId, writeDeferredFiles, MAIL_QUEUES.
 */
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { queueHashing, queuePath } from '../../src/queue/queue-path.js';

/** The queues a message can be in; flush moves deferred -> incoming, qmgr the rest. */
export const MAIL_QUEUES = ['maildrop', 'incoming', 'active', 'deferred', 'hold', 'corrupt'] as const;

/** Queue id -> every place it was found (a healthy queue has exactly one each). */
export type QueueCensus = Map<string, Array<{ queue: string; digest: string }>>;

function digest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function walkFiles(root: string, visit: (path: string, name: string) => void): void {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) walkFiles(path, visit);
    else if (entry.isFile()) {
      try {
        visit(path, entry.name);
      } catch {
        // Moved while we looked (qmgr at work): the caller takes its census when all is quiet.
      }
    }
  }
}

export function censusQueue(spoolDir: string): QueueCensus {
  const census: QueueCensus = new Map();
  for (const queue of MAIL_QUEUES) {
    walkFiles(join(spoolDir, queue), (path, name) => {
      const places = census.get(name) ?? [];
      places.push({ queue, digest: digest(path) });
      census.set(name, places);
    });
  }
  return census;
}

export interface CensusDiff {
  /** Ids of `before` found nowhere now. */
  lost: string[];
  /** Ids found in more than one place. */
  duplicated: string[];
  /** Ids whose bytes changed. */
  changed: string[];
}

export function compareCensus(before: QueueCensus, after: QueueCensus): CensusDiff {
  const diff: CensusDiff = { lost: [], duplicated: [], changed: [] };
  for (const [id, [was]] of before) {
    const now = after.get(id);
    if (now === undefined || now.length === 0) diff.lost.push(id);
    else if (now.length > 1) diff.duplicated.push(id);
    else if (was !== undefined && now[0]?.digest !== was.digest) diff.changed.push(id);
  }
  return diff;
}

/** Every line of a logfile, without its LF (a last line without LF included); [] when absent. */
export function logfileLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'latin1');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The set of lines of a logfile. */
export function logfileIds(path: string): Set<string> {
  return new Set(logfileLines(path));
}

/** Path (relative to `root`) -> size and digest of every regular file below root, except under `skip`. */
export type TreeSnapshot = Map<string, string>;

export function snapshotOutside(root: string, skip: readonly string[]): TreeSnapshot {
  const snapshot: TreeSnapshot = new Map();
  const walk = (dir: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (skip.includes(relPath)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, relPath);
      else if (entry.isFile()) snapshot.set(relPath, `${statSync(path).size}:${digest(path)}`);
      else snapshot.set(relPath, entry.isSocket() ? 'socket' : entry.isFIFO() ? 'fifo' : 'other');
    }
  };
  walk(root, '');
  return snapshot;
}

/** Paths added, removed or changed between two snapshots. */
export function diffSnapshots(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const changed: string[] = [];
  for (const [path, value] of after) if (before.get(path) !== value) changed.push(path);
  for (const path of before.keys()) if (!after.has(path)) changed.push(path);
  return changed.sort();
}

const ID_CHARS = '0123456789ABCDEF';

/** A short Postfix-style queue id (10..12 upper-case hex digits) from a random source. */
export function makeQueueId(random: () => number): string {
  const length = 10 + Math.floor(random() * 3);
  let id = '';
  for (let i = 0; i < length; i++) id += ID_CHARS[Math.floor(random() * ID_CHARS.length)];
  return id;
}

/**
 * Creates deferred queue files (mode 0700, as a finished queue file) under `spoolDir` with
 * Postfix's default hashing (deferred hashed at depth 1), owned by `owner` when given.
 */
export function writeDeferredFiles(spoolDir: string, ids: readonly string[], owner?: { uid: number; gid: number }): void {
  const hashing = queueHashing(['deferred', 'defer'], 1);
  for (const id of ids) {
    const path = join(spoolDir, queuePath('deferred', id, hashing));
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `queue file ${id}\n${'x'.repeat(id.length * 7)}\n`, { mode: 0o700 });
    if (owner !== undefined) {
      chownSync(dirname(path), owner.uid, owner.gid);
      chownSync(path, owner.uid, owner.gid);
    }
  }
}
