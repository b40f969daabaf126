/*
 * fuzz.ts - hostile input, in-process and seeded (fast-check): the flush service
 * (serveFlushClient) fed attribute streams that no real client sends, on a throwaway queue
 * directory that is the process's cwd, as under master. Inputs:
 *   - random bytes; lists of names and values from the protocol's vocabulary mixed with
 *     random ones, then truncated, with NULs and bytes inserted, or written as attr64 lines
 *     (attr0 that looks like attr64);
 *   - giant names and values (past the 64 KiB the reader keeps), site names with "/", "..",
 *     NUL, control bytes, queue ids that are not ids;
 *   - delivery in random chunk sizes, and clients that stop sending (the read times out, as
 *     ipc_timeout does with a slow writer), vanish before the reply (EPIPE) or never read it
 *     (the write times out).
 * Every case must end without the service rejecting (a rejection kills the daemon: a crash),
 * with either no reply or one well-formed status, and without any file written outside
 * flush/ (the queue files that a send may move from deferred/ to incoming/ are put back and
 * checked byte for byte; nothing may appear anywhere else, the directory above the queue
 * included). Hostile logfiles follow: a million lines with duplicates, binary garbage, a
 * 10 MB line without a newline; logfiles named like hash directories or one character long;
 * a 10 MB site name. Figures: cases, crashes, peak RSS, files written outside flush/.
 *
 * Exports: FuzzOptions, FuzzFigures, runServiceFuzz, HostileLogfileFigures, runHostileLogfiles,
 * sampleHostileRequests.
 */
import fc from 'fast-check';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientStream } from '../../src/lifecycle/client-stream.js';
import { serveFlushClient } from '../../src/flush/service.js';
import type { FlushSettings } from '../../src/flush/settings.js';
import { DomainList } from '../../src/match/domain-list.js';
import { queueHashing } from '../../src/queue/queue-path.js';
import { msg } from '../../src/util/msg.js';
import { FLUSH_ANNOUNCEMENT } from '../../src/protocol/flush-messages.js';
import { flushRequest } from '../../src/protocol/flush-messages.js';
import { diffSnapshots, snapshotOutside, writeDeferredFiles, type TreeSnapshot } from './queue-state.js';
import { listenFakeQmgr } from './fake-qmgr.js';
import { parseStatus } from './wire.js';

export interface FuzzOptions {
  cases: number;
  seed: number;
}

export interface FuzzFigures {
  cases: number;
  crashes: number;
  malformedReplies: number;
  /** Paths outside flush/ that a case created, removed or changed. */
  writesOutsideFlush: number;
  peakRssKiB: number;
  durationMs: number;
  failures: string[];
}

/** Queue files the fuzzer's sends may move; ids drawn from the vocabulary below. */
const QUEUE_FILES = ['ABCDEF123', 'A1B2C3D4E5', 'FEDCBA9876'];
const NAMES = ['request', 'site', 'queue_id', 'status', 'protocol', 'Request', 'site ', ''];
const REQUESTS = ['add', 'send_site', 'send_file', 'rfrsh', 'purge', 'W', 'ADD', 'add\u0000x', ''];
const SITES = [
  'example.test', 'Example.TEST', 'a.example.test', 'example.test.', '.example.test', '../example.test',
  'example.test/..', '/etc/passwd', '..', '.', 'x/y', 'a\u0001b.example.test', 'b\u00fccher.example.test',
  'xn--bcher-kva.example.test', '[127.0.0.1]', 'x', 'deferred', 'flush', 'incoming',
];
const QUEUE_IDS = [...QUEUE_FILES, 'ABC', '../ABC', 'AB/C', 'A.B', 'a b', '', 'Z'.repeat(255), 'Z'.repeat(256), '0', '_'];

/** One fuzz case: the bytes the client sends and how the client behaves. */
interface FuzzCase {
  bytes: Uint8Array;
  /** Sizes of the chunks successive reads return (cycled). */
  chunkSizes: number[];
  /** 'eof': the client half-closes after sending; 'stall': the next read after the data times out. */
  ending: 'eof' | 'stall';
  /** How the reply fares: taken, the client is gone (EPIPE), or it never reads (timeout). */
  replyFate: 'taken' | 'epipe' | 'timeout';
}

const bigString = fc.constantFrom(65535, 65536, 65537, 300_000).chain((size) =>
  fc.constantFrom('A', 'a.', '\u00ff', '/').map((unit) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)));

const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...REQUESTS, ...SITES, ...QUEUE_IDS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: bigString },
);
const nameArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: bigString },
);

function attr0(pairs: Array<[string, string]>, terminated: boolean): Buffer {
  const text = pairs.map(([n, v]) => `${n}\0${v}\0`).join('') + (terminated ? '\0' : '');
  return Buffer.from(text, 'latin1');
}

function attr64(pairs: Array<[string, string]>): Buffer {
  const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
  return Buffer.from(`${pairs.map(([n, v]) => `${b64(n)}:${b64(v)}\n`).join('')}\n`, 'latin1');
}

/** A plausible request list: request first, then the attributes a request takes, then mutated. */
const structuredArb = fc.record({
  request: fc.constantFrom(...REQUESTS),
  rest: fc.array(fc.tuple(nameArb, valueArb), { maxLength: 4 }),
  shape: fc.constantFrom('attr0', 'attr0', 'attr0', 'attr64', 'unterminated'),
  reorder: fc.boolean(),
  cut: fc.option(fc.nat(), { nil: undefined }),
  insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 })), { nil: undefined }),
}).map(({ request, rest, shape, reorder, cut, insert }) => {
  const pairs: Array<[string, string]> = [['request', request], ...rest];
  if (reorder && pairs.length > 1) pairs.push(pairs.shift() as [string, string]);
  let bytes: Buffer = shape === 'attr64' ? attr64(pairs) : attr0(pairs, shape !== 'unterminated');
  if (cut !== undefined) bytes = bytes.subarray(0, cut % (bytes.length + 1));
  if (insert !== undefined) {
    const at = insert[0] % (bytes.length + 1);
    bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(insert[1]), bytes.subarray(at)]);
  }
  return new Uint8Array(bytes);
});

/** Well-formed requests with hostile values: the ones that reach the file system. */
const wellFormedArb = fc.record({
  kind: fc.constantFrom('add', 'send_site', 'send_file', 'rfrsh', 'purge'),
  site: valueArb,
  queueId: valueArb,
}).map(({ kind, site, queueId }) => new Uint8Array(Buffer.from(
  `request\0${kind}\0${kind === 'send_file' ? '' : `site\0${site}\0`}${kind === 'add' || kind === 'send_file' ? `queue_id\0${queueId}\0` : ''}\0`,
  'latin1')));

const caseArb: fc.Arbitrary<FuzzCase> = fc.record({
  bytes: fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 5, arbitrary: structuredArb },
    { weight: 4, arbitrary: wellFormedArb },
  ),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 4 }),
  ending: fc.constantFrom('eof', 'eof', 'eof', 'stall'),
  replyFate: fc.constantFrom('taken', 'taken', 'taken', 'epipe', 'timeout'),
});

/** `count` hostile request byte strings, reproducible from `seed` (for real sockets). */
export function sampleHostileRequests(seed: number, count: number): Buffer[] {
  return fc.sample(caseArb, { seed, numRuns: count }).map((c) => Buffer.from(c.bytes));
}

function errnoError(code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(code);
  error.code = code;
  return error;
}

/** A scripted client: the chunks, then EOF or a read timeout; writes taken, refused or timed out. */
function scriptedClient(c: FuzzCase, written: Buffer[]): ClientStream {
  const bytes = Buffer.from(c.bytes);
  let offset = 0;
  let chunkIndex = 0;
  let writes = 0;
  return {
    name: 'flush socket',
    readChunk: async () => {
      if (offset < bytes.length) {
        const size = c.chunkSizes[chunkIndex++ % c.chunkSizes.length] as number;
        const chunk = bytes.subarray(offset, offset + size);
        offset += chunk.length;
        return chunk;
      }
      if (c.ending === 'stall') throw errnoError('ETIMEDOUT');
      return null;
    },
    write: async (data: Buffer) => {
      // The announcement always goes out: the client has connected and is waiting for it.
      if (writes++ > 0 && c.replyFate !== 'taken') throw errnoError(c.replyFate === 'epipe' ? 'EPIPE' : 'ETIMEDOUT');
      written.push(Buffer.from(data));
    },
  };
}

function fuzzSettings(): FlushSettings {
  return {
    domains: new DomainList('example.test, .example.test, [127.0.0.1]', {
      listName: 'fast_flush_domains', parentStyle: true, utf8CaseFolding: true,
    }),
    hashing: queueHashing(['deferred', 'defer'], 1),
    refreshTime: 12 * 3600,
    purgeTime: 7 * 86400,
    queueTriggerPath: 'public/qmgr',
    triggerTimeout: 1,
    transitionalIdna: false,
    compactOnRefresh: false,
  };
}

/** A throwaway queue directory, made the cwd, inside a directory of its own (escapes show there). */
interface FuzzQueue {
  outer: string;
  spoolDir: string;
  baseline: TreeSnapshot;
  /** Puts moved queue files back and empties flush/ now and then; returns paths changed outside flush/. */
  check(clearFlush: boolean): string[];
  close(): Promise<void>;
}

async function enterFuzzQueue(): Promise<FuzzQueue> {
  const outer = mkdtempSync(join(tmpdir(), 'ff-fuzz-'));
  const spoolDir = join(outer, 'q');
  for (const dir of ['flush', 'deferred', 'incoming', 'public']) mkdirSync(join(spoolDir, dir), { recursive: true, mode: 0o700 });
  writeDeferredFiles(spoolDir, QUEUE_FILES);
  const previousCwd = process.cwd();
  process.chdir(spoolDir);
  const qmgr = await listenFakeQmgr('public/qmgr');
  // Queue files are compared after being put back in deferred/; their times change, bytes may not.
  const snapshot = (): TreeSnapshot => snapshotOutside(outer, ['q/flush']);
  const baseline = snapshot();
  return {
    outer,
    spoolDir,
    baseline,
    check(clearFlush) {
      for (const id of readdirSync('incoming')) renameSync(`incoming/${id}`, `deferred/${id[0]}/${id}`);
      if (clearFlush) {
        rmSync('flush', { recursive: true, force: true });
        mkdirSync('flush', { mode: 0o700 });
      }
      return diffSnapshots(baseline, snapshot());
    },
    close: async () => {
      await qmgr.close();
      process.chdir(previousCwd);
      rmSync(outer, { recursive: true, force: true });
    },
  };
}

/** What a reply may be: nothing, C's bare "3" after an empty connection, or one status list. */
function replyIsWellFormed(reply: Buffer): boolean {
  if (reply.length === 0 || reply.equals(Buffer.from('3\0\0', 'latin1'))) return true;
  const status = parseStatus(reply);
  return status !== null && [0, 3, 4, -1].includes(status) && reply.length === reply.indexOf(0, 7) + 2;
}

/** Only regular files with logfile names in flush/ (hash directories are not configured here). */
function strayInFlush(): string[] {
  return readdirSync('flush', { withFileTypes: true })
    .filter((e) => !e.isFile() || !/^[A-Za-z0-9_]{1,255}$/.test(e.name)).map((e) => e.name);
}

export async function runServiceFuzz(options: FuzzOptions, log: (line: string) => void = () => undefined): Promise<FuzzFigures> {
  const started = Date.now();
  const figures: FuzzFigures = {
    cases: 0, crashes: 0, malformedReplies: 0, writesOutsideFlush: 0, peakRssKiB: 0, durationMs: 0, failures: [],
  };
  const settings = fuzzSettings();
  const queue = await enterFuzzQueue();
  const dropLog = msg.addSink(() => undefined);
  const record = (failure: string): void => {
    if (figures.failures.length < 20) figures.failures.push(failure);
  };
  try {
    const property = fc.asyncProperty(caseArb, async (c) => {
      figures.cases++;
      const written: Buffer[] = [];
      try {
        await serveFlushClient(scriptedClient(c, written), settings);
      } catch (error) {
        figures.crashes++;
        record(`crash on ${JSON.stringify(Buffer.from(c.bytes).toString('latin1').slice(0, 200))}: ${String(error)}`);
        return false;
      }
      const output = Buffer.concat(written);
      const reply = output.subarray(FLUSH_ANNOUNCEMENT.length);
      if (!output.subarray(0, FLUSH_ANNOUNCEMENT.length).equals(FLUSH_ANNOUNCEMENT) || !replyIsWellFormed(reply)) {
        figures.malformedReplies++;
        record(`malformed reply ${JSON.stringify(reply.toString('latin1'))}`);
        return false;
      }
      const stray = strayInFlush();
      const outside = queue.check(figures.cases % 500 === 0);
      if (stray.length + outside.length > 0) {
        figures.writesOutsideFlush += stray.length + outside.length;
        record(`files outside flush/ or odd ones in it: ${[...outside, ...stray.map((s) => `flush/${s}`)].join(', ')}`);
        return false;
      }
      if (figures.cases % 1000 === 0) {
        figures.peakRssKiB = Math.max(figures.peakRssKiB, Math.round(process.memoryUsage().rss / 1024));
        if (figures.cases % 20_000 === 0) log(`fuzz: ${figures.cases}/${options.cases} cases, peak RSS ${figures.peakRssKiB} KiB`);
      }
      return true;
    });
    const result = await fc.check(property, { seed: options.seed, numRuns: options.cases, endOnFailure: true });
    if (result.failed && result.counterexample !== null) {
      record(`counterexample (seed ${options.seed}, path ${result.counterexample === null ? '' : result.counterexamplePath}): ${fc.stringify(result.counterexample).slice(0, 500)}`);
    }
  } finally {
    dropLog();
    figures.peakRssKiB = Math.max(figures.peakRssKiB, Math.round(process.memoryUsage().rss / 1024));
    await queue.close();
  }
  figures.durationMs = Date.now() - started;
  return figures;
}

/** One well-formed request on a throwaway client that reads everything. */
async function serve(settings: FlushSettings, request: Buffer): Promise<number | null> {
  const written: Buffer[] = [];
  await serveFlushClient(scriptedClient({ bytes: request, chunkSizes: [65536], ending: 'eof', replyFate: 'taken' }, written), settings);
  return parseStatus(Buffer.concat(written).subarray(FLUSH_ANNOUNCEMENT.length));
}

export interface HostileLogfileFigures {
  cases: number;
  crashes: number;
  wrongStatuses: number;
  writesOutsideFlush: number;
  peakRssKiB: number;
  failures: string[];
}

/**
 * Logfiles no flush process writes, and a 10 MB site name: each case must answer (0 where a
 * request was valid), end, keep memory bounded and touch nothing outside flush/ but the queue
 * files its logfile lists.
 */
export async function runHostileLogfiles(lines = 1_000_000): Promise<HostileLogfileFigures> {
  const figures: HostileLogfileFigures = { cases: 0, crashes: 0, wrongStatuses: 0, writesOutsideFlush: 0, peakRssKiB: 0, failures: [] };
  const settings = fuzzSettings();
  const queue = await enterFuzzQueue();
  const dropLog = msg.addSink(() => undefined);
  const old = new Date(Date.now() - 86_400_000);
  const hugeLogfile = (): string => {
    const parts: string[] = [];
    for (let i = 0; i < lines; i++) {
      const r = i % 10;
      parts.push(r < 6 ? `NOFILE${i % 5000}` : r < 8 ? QUEUE_FILES[i % 3] as string : r === 8 ? `\u0000\u00ff\u0001garbage${i}` : '');
    }
    return `${parts.join('\n')}\n${'B'.repeat(10 * 1024 * 1024)}`;
  };
  const cases: Array<[string, () => void, Buffer, number]> = [
    ['1M lines, duplicates, garbage, a 10 MB last line without LF', () => writeFileSync('flush/example_test', hugeLogfile(), 'latin1'),
      flushRequest('send_site', { site: 'example.test' }), 0],
    ['purge over a one-character logfile, a hash-like directory and binary names', () => {
      writeFileSync('flush/x', `${QUEUE_FILES[0]}\n`);
      mkdirSync('flush/a', { recursive: true });
      writeFileSync('flush/a/a_example_test', `${QUEUE_FILES[1]}\nNOFILE\n`);
      writeFileSync('flush/\u00ff\u0001', 'garbage\n');
      writeFileSync('flush/example_test', `${QUEUE_FILES[2]}\nno newline`);
      for (const name of ['x', 'a/a_example_test', '\u00ff\u0001', 'example_test']) utimesSync(`flush/${name}`, old, old);
    }, flushRequest('purge'), 0],
    ['refresh over empty old logfiles and a 1M-line one', () => {
      writeFileSync('flush/b_example_test', '');
      utimesSync('flush/b_example_test', old, old);
      writeFileSync('flush/c_example_test', hugeLogfile(), 'latin1');
      utimesSync('flush/c_example_test', old, old);
    }, flushRequest('rfrsh'), 0],
    ['add with a 10 MB site name', () => undefined,
      Buffer.concat([Buffer.from('request\0add\0site\0'), Buffer.alloc(10 * 1024 * 1024, 'a'), Buffer.from('.example.test\0queue_id\0ABC\0\0')]), 4],
    ['send_site with a 10 MB site name of dots and slashes', () => undefined,
      Buffer.concat([Buffer.from('request\0send_site\0site\0'), Buffer.alloc(10 * 1024 * 1024, './'), Buffer.from('\0\0')]), 4],
  ];
  try {
    for (const [what, prepare, request, expected] of cases) {
      figures.cases++;
      prepare();
      let status: number | null;
      try {
        // rfrsh and purge answer first, but serveFlushClient settles after the walk.
        status = await serve(settings, request);
      } catch (error) {
        figures.crashes++;
        figures.failures.push(`${what}: crash ${String(error)}`);
        continue;
      }
      figures.peakRssKiB = Math.max(figures.peakRssKiB, Math.round(process.memoryUsage().rss / 1024));
      if (status !== expected) {
        figures.wrongStatuses++;
        figures.failures.push(`${what}: status ${status}, expected ${expected}`);
      }
      const outside = queue.check(true);
      figures.writesOutsideFlush += outside.length;
      if (outside.length > 0) figures.failures.push(`${what}: changed outside flush/: ${outside.join(', ')}`);
      if (existsSync('flush') && !statSync('flush').isDirectory()) figures.failures.push(`${what}: flush/ replaced`);
    }
  } finally {
    dropLog();
    await queue.close();
  }
  return figures;
}
