/*
 * differential.test.ts - raw requests on public/flush, byte for byte: each input of the table
 * goes to a freshly reset flush/ directory; the reply bytes, whether the server closed, the
 * resulting logfiles and flush's log lines are recorded. The C daemon must match its recording
 * (fixtures/c-flush-replies.json, rewritten with RECORD_C_REPLIES=1); fastflush must match the
 * C daemon run live.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { FlushProgram, PostfixInstance } from '../helpers/postfix-instance.js';
import { PostfixInstance as Instance } from '../helpers/postfix-instance.js';
import { repoRoot } from '../helpers/paths.js';
import { withPostfix } from '../helpers/postfix-variants.js';

const FIXTURE = join(repoRoot, 'test', 'integration', 'fixtures', 'c-flush-replies.json');
const ANNOUNCEMENT = Buffer.from('protocol\0queue_flush_protocol\0\0', 'latin1');
const SECOND = 1000;
const DAY = 86_400 * SECOND;

/** An attribute list: name, value, name, value, …, then the terminator. */
function list(...nv: string[]): Buffer {
  return Buffer.from(nv.map((s) => `${s}\0`).join('') + '\0', 'latin1');
}

/** Raw bytes, no terminator added. */
function raw(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

interface Setup {
  content: string;
  /** How long ago the atime and mtime were. */
  atimeAgo: number;
  mtimeAgo: number;
}

interface Case {
  name: string;
  input: Buffer;
  /** Half-close after writing: the server sees EOF. */
  end?: boolean;
  timeoutMs?: number;
  /** Logfiles (by name) present before the request. */
  setup?: Record<string, Setup>;
}

const recent = (content: string): Setup => ({ content, atimeAgo: 5 * SECOND, mtimeAgo: 5 * SECOND });
const aged = (content: string): Setup => ({ content, atimeAgo: 2 * DAY, mtimeAgo: 5 * SECOND });
const staleEmpty: Setup = { content: '', atimeAgo: 8 * DAY, mtimeAgo: 8 * DAY };
const youngEmpty: Setup = { content: '', atimeAgo: 6 * DAY, mtimeAgo: 6 * DAY };

const ID = '1A2B3C4D5E';
const id255 = 'A'.repeat(255);
const id256 = 'A'.repeat(256);
const longSite = `${'a'.repeat(250)}.example.test`;
const hugeSite = `${'a'.repeat(10 * 1024 * 1024)}.example.test`;
const refreshSetup = {
  old_example_test: aged('F0000000001\nF0000000002\n'),
  new_example_test: recent('F0000000003\n'),
  stale_example_test: staleEmpty,
  young_example_test: youngEmpty,
};

const add = (site: string, queueId = ID): Buffer => list('request', 'add', 'site', site, 'queue_id', queueId);
const sendSite = (site: string): Buffer => list('request', 'send_site', 'site', site);
const sendFile = (queueId: string): Buffer => list('request', 'send_file', 'queue_id', queueId);
const ADD_BYTES = `request\0add\0site\0example.test\0queue_id\0${ID}`;
const SITE_ATTR = ['site', 'example.test'];
const ID_ATTR = ['queue_id', ID];
const listed = (content: string): Record<string, Setup> => ({ example_test: recent(content) });

const CASES: Case[] = [
  { name: 'add: eligible site', input: add('example.test') },
  { name: 'add: upper-case site', input: add('Example.TEST') },
  { name: 'add: subdomain', input: add('sub.example.test') },
  { name: 'add: hyphenated subdomain', input: add('foo-bar.example.test') },
  { name: 'add: id already listed', input: add('example.test'), setup: listed(`${ID}\n`) },
  { name: 'add: ineligible site', input: add('noflush.test') },
  { name: 'add: unknown site', input: add('other.invalid') },
  { name: 'add: bad!site', input: add('bad!site') },
  { name: 'add: eligible but invalid hostname', input: add('bad!site.example.test') },
  { name: 'add: empty site', input: add('') },
  { name: 'add: address literal', input: add('[127.0.0.1]') },
  { name: 'add: queue id with a dot', input: add('example.test', 'bad.id') },
  { name: 'add: queue id with a slash', input: add('example.test', 'a/b') },
  { name: 'add: empty queue id', input: add('example.test', '') },
  { name: 'add: 255-char queue id', input: add('example.test', id255) },
  { name: 'add: 256-char queue id', input: add('example.test', id256) },
  { name: 'add: missing queue_id', input: list('request', 'add', ...SITE_ATTR) },
  { name: 'add: missing site', input: list('request', 'add', ...ID_ATTR) },
  { name: 'add: attributes reordered', input: list('request', 'add', ...ID_ATTR, ...SITE_ATTR) },
  { name: 'add: surplus trailing attribute', input: list('request', 'add', ...SITE_ATTR, ...ID_ATTR, 'foo', 'bar') },
  { name: 'add: surplus leading attribute', input: list('request', 'add', 'foo', 'bar', ...SITE_ATTR, ...ID_ATTR) },
  { name: 'add: request attribute twice', input: list('request', 'add', 'request', 'add', ...SITE_ATTR, ...ID_ATTR) },
  { name: 'add: list terminator missing, then EOF', input: raw(`${ADD_BYTES}\0`), end: true },
  { name: 'add: last string without NUL, then EOF', input: raw(ADD_BYTES), end: true },
  {
    name: 'send_site: logfile of unqueued ids', input: sendSite('example.test'),
    setup: listed('AAA1111111\nBBB2222222\n'),
  },
  {
    name: 'send_site: bad lines and duplicates', input: sendSite('example.test'),
    setup: listed('AAA1111111\nbad.id\n\nAAA1111111\nCCC3333333'),
  },
  { name: 'send_site: no logfile', input: sendSite('example.test') },
  { name: 'send_site: empty logfile', input: sendSite('example.test'), setup: listed('') },
  { name: 'send_site: upper-case site', input: sendSite('EXAMPLE.TEST'), setup: listed('AAA1111111\n') },
  {
    name: 'send_site: ineligible site', input: sendSite('noflush.test'),
    setup: { noflush_test: recent('AAA1111111\n') },
  },
  { name: 'send_site: site over 255 chars', input: sendSite(longSite) },
  { name: 'send_site: 10 MB site', input: sendSite(hugeSite), timeoutMs: 20_000 },
  { name: 'send_site: missing site', input: list('request', 'send_site') },
  {
    name: 'send_site: surplus trailing attribute', input: list('request', 'send_site', ...SITE_ATTR, 'x', 'y'),
    setup: listed('AAA1111111\n'),
  },
  { name: 'send_file: id not queued', input: sendFile('NOSUCHID12') },
  { name: 'send_file: bad queue id', input: sendFile('bad.id') },
  { name: 'send_file: 256-char queue id', input: sendFile(id256) },
  { name: 'send_file: missing queue_id', input: list('request', 'send_file') },
  { name: 'send_file: site instead of queue_id', input: list('request', 'send_file', ...SITE_ATTR) },
  { name: 'rfrsh: nothing old enough', input: list('request', 'rfrsh'), setup: listed('F0000000001\n') },
  { name: 'rfrsh: old, young, stale and empty logfiles', input: list('request', 'rfrsh'), setup: refreshSetup },
  { name: 'rfrsh: trailing garbage', input: raw('request\0rfrsh\0garbage'), setup: refreshSetup },
  { name: 'rfrsh: list terminator missing, then EOF', input: raw('request\0rfrsh\0'), end: true, setup: refreshSetup },
  { name: 'purge: every non-empty logfile', input: list('request', 'purge'), setup: refreshSetup },
  { name: 'purge: surplus attribute', input: list('request', 'purge', 'x', 'y'), setup: refreshSetup },
  { name: 'trigger W NUL (master wakeup)', input: raw('W\0'), setup: refreshSetup },
  { name: 'trigger W without NUL, then EOF', input: raw('W'), end: true, setup: refreshSetup },
  { name: 'request W as an attribute list', input: list('request', 'W'), setup: refreshSetup },
  { name: 'trigger X NUL', input: raw('X\0'), setup: refreshSetup },
  { name: 'unknown request', input: list('request', 'nope') },
  { name: 'request RFRSH (wrong case)', input: list('request', 'RFRSH'), setup: refreshSetup },
  { name: 'request refresh (long name)', input: list('request', 'refresh'), setup: refreshSetup },
  { name: 'first attribute not request', input: list('foo', 'bar') },
  { name: 'request without value, then EOF', input: raw('request\0'), end: true },
  { name: 'garbage without NUL, then EOF', input: raw('hello world'), end: true },
  { name: 'empty connection, then EOF', input: Buffer.alloc(0), end: true },
  /* Last: the server stays blocked on this connection until we give up and close. */
  { name: 'trigger W without NUL, client stays', input: raw('W'), timeoutMs: 1500 },
];

interface LogfileState {
  content: string;
  mode: string;
  owner: string;
}

interface Observed {
  name: string;
  announced: boolean;
  reply: string;
  closed: boolean;
  logfiles: Record<string, LogfileState>;
  log: string[];
}

function snapshotLogfiles(pf: PostfixInstance): Record<string, LogfileState> {
  const dir = join(pf.spoolDir, 'flush');
  const out: Record<string, LogfileState> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    const owner = `${st.uid === pf.postfixUid ? 'postfix' : st.uid}:${st.gid === pf.postfixGid ? 'postfix' : st.gid}`;
    out[name] = { content: readFileSync(p, 'latin1'), mode: (st.mode & 0o7777).toString(8), owner };
  }
  return out;
}

async function runCases(program: FlushProgram): Promise<Observed[]> {
  /* No master wakeups: refresh passes happen only when a case asks for one. */
  const pf = await Instance.start({ flushProgram: program, flushWakeup: '0' });
  try {
    const flushDir = join(pf.spoolDir, 'flush');
    const results: Observed[] = [];
    let logSeen = 0;
    for (const [i, c] of CASES.entries()) {
      for (const name of readdirSync(flushDir)) rmSync(join(flushDir, name), { recursive: true, force: true });
      const now = Date.now();
      for (const [name, s] of Object.entries(c.setup ?? {})) {
        pf.writeLogfile(name, s.content, { atime: new Date(now - s.atimeAgo), mtime: new Date(now - s.mtimeAgo) });
      }
      const r = await pf.rawFlush(c.input, { end: c.end ?? false, timeoutMs: c.timeoutMs ?? 5000 });
      await pf.logMarker(`fftest-case-${i}-${program}`);
      const text = pf.maillog();
      const log = pf.flushLogLines(text.slice(logSeen)).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
      logSeen = text.length;
      results.push({
        name: c.name,
        announced: r.announcement.equals(ANNOUNCEMENT),
        reply: r.reply.toString('latin1'),
        closed: r.closed,
        logfiles: snapshotLogfiles(pf),
        log,
      });
    }
    return results;
  } finally {
    pf.stop();
  }
}

/* Each program's table runs once per test file, shared by the tests below. */
const runs = new Map<FlushProgram, Promise<Observed[]>>();
function observed(program: FlushProgram): Promise<Observed[]> {
  let p = runs.get(program);
  if (p === undefined) {
    p = runCases(program);
    runs.set(program, p);
  }
  return p;
}

const wire = (o: Observed): Omit<Observed, 'log'> => ({
  name: o.name, announced: o.announced, reply: o.reply, closed: o.closed, logfiles: o.logfiles,
});
const logOnly = (o: Observed): Pick<Observed, 'name' | 'log'> => ({ name: o.name, log: o.log });

function loadFixture(): Observed[] {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as Observed[];
}

withPostfix.serial('c: replies, closes, logfiles and log lines match the recording', async (t: ExecutionContext) => {
  const live = await observed('c');
  if (process.env.RECORD_C_REPLIES === '1') {
    writeFileSync(FIXTURE, `${JSON.stringify(live, null, 2)}\n`);
    t.log(`recorded ${live.length} cases in ${FIXTURE}`);
  }
  const recorded = loadFixture();
  t.deepEqual(live.map(wire), recorded.map(wire));
  t.deepEqual(live.map(logOnly), recorded.map(logOnly));
});

withPostfix.serial('fastflush: replies, closes and logfiles equal the C daemon\'s', async (t) => {
  const c = await observed('c');
  const ours = await observed('fastflush');
  t.deepEqual(ours.map(wire), c.map(wire));
});

withPostfix.serial('fastflush: flush log lines equal the C daemon\'s', async (t) => {
  const c = await observed('c');
  const ours = await observed('fastflush');
  t.deepEqual(ours.map(logOnly), c.map(logOnly));
});
