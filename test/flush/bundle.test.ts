/*
 * bundle.test.ts - the one-file daemon that `npm run build` writes for
 * bin/flush (scripts/build-daemon.mjs): it exists, holds only what the
 * request path imports (never commander or the command-line tool), needs
 * nothing from disk but Node's built-in modules and the addon, and answers a
 * request on its own (-S) through its loader, which also proves that it finds
 * the addon. Its code cache fits this node, and a cache that does not fit
 * only costs the compilation it would have saved. The build's warm-up runs
 * chain: a run started from an earlier run's cache writes a cache holding both
 * runs' functions, and refuses to start from one V8 rejects.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNodeOptions } from '../../src/cli/install-plan.js';
import { flushRequest } from '../../src/protocol/flush-messages.js';
import { repoRoot } from '../helpers/paths.js';

const DIR = 'dist/bundle/flush';
/** What bin/flush runs: the loader. */
const LOADER = `${DIR}/daemon.cjs`;
const BUNDLE = `${DIR}/daemon-code.cjs`;
const CACHE = `${DIR}/daemon-code.cache`;
const METAFILE = join(repoRoot, DIR, 'daemon-code.meta.json');

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
}

function metafile(): Metafile {
  return JSON.parse(readFileSync(METAFILE, 'utf8')) as Metafile;
}

test('the build wrote the loader, the bundle, its code cache, its node options and its metafile', (t) => {
  for (const file of [LOADER, BUNDLE, CACHE, `${DIR}/node-options`]) t.true(existsSync(join(repoRoot, file)), file);
  t.truthy(metafile().outputs[BUNDLE], `metafile describes ${BUNDLE}`);
});

test('the bundle holds the daemon without commander or the command-line tool', (t) => {
  const inputs = Object.keys(metafile().inputs);
  t.true(inputs.includes('src/flush/daemon.ts'));
  t.true(inputs.includes('src/lifecycle/single-server.ts'));
  t.deepEqual(inputs.filter((path) => /(^|\/)node_modules\/commander\//.test(path)), []);
  t.deepEqual(inputs.filter((path) => path.startsWith('src/cli/')), []);
});

test('the bundle loads nothing from disk but built-in modules', (t) => {
  // The addon is loaded through createRequire(), which the bundler leaves alone.
  const imports = metafile().outputs[BUNDLE]?.imports ?? [];
  t.deepEqual(imports.filter((entry) => !isBuiltin(entry.path)), []);
});

/** Runs the loader at `loader` with -S and one add request; the exit status, the reply and the logfile. */
async function addThroughLoader(loader: string): Promise<{ code: unknown; stderr: string; reply: string; logfile: string }> {
  const root = mkdtempSync(join(tmpdir(), 'bundle-'));
  try {
    const spool = join(root, 'spool');
    for (const dir of ['etc', 'spool/flush', 'spool/public', 'spool/pid']) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, 'etc/main.cf'), `queue_directory = ${spool}\nfast_flush_domains = example.test\n`);
    const child = spawn(process.execPath, [loader, '-S'], {
      env: { MAIL_CONFIG: join(root, 'etc') }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(flushRequest('add', { site: 'example.test', queueId: 'ABCDEF1' }));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (data: Buffer) => chunks.push(data));
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => { stderr += data.toString(); });
    const code = await new Promise((resolve) => child.on('close', resolve));
    const logfile = join(spool, 'flush/example_test');
    return {
      code, stderr, reply: Buffer.concat(chunks).toString('latin1'),
      logfile: existsSync(logfile) ? readFileSync(logfile, 'latin1') : '',
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const ADDED = 'protocol\0queue_flush_protocol\0\0status\x000\0\0';

test('the bundle answers a request with -S', async (t) => {
  const run = await addThroughLoader(join(repoRoot, LOADER));
  t.is(run.code, 0, run.stderr);
  t.is(run.reply, ADDED);
  t.is(run.logfile, 'ABCDEF1\n');
});

test('this node accepts the code cache, made after a warm-up run', (t) => {
  // In a fresh node with the daemon's node options, as bin/flush starts it; the loader compiles as it does then.
  const probe = `const { readFileSync } = require('node:fs');
const { compileDaemon } = require(process.argv[1]);
const warm = compileDaemon(readFileSync(process.argv[2])).script;
const topLevelOnly = compileDaemon(undefined).script.createCachedData();
process.stdout.write(JSON.stringify({ rejected: warm.cachedDataRejected, warm: readFileSync(process.argv[2]).length,
  topLevelOnly: topLevelOnly.length }));`;
  const nodeOptions = parseNodeOptions(readFileSync(join(repoRoot, DIR, 'node-options'), 'latin1'));
  const result = spawnSync(process.execPath, [...nodeOptions, '-e', probe, join(repoRoot, LOADER), join(repoRoot, CACHE)],
    { env: {}, encoding: 'utf8' });
  const sizes = JSON.parse(result.stdout || '{}') as { rejected?: boolean; warm?: number; topLevelOnly?: number };
  t.is(sizes.rejected, false, result.stderr);
  // The warm-up compiled the functions of a start and of each kind of request: they are in the cache too.
  t.true((sizes.warm ?? 0) > (sizes.topLevelOnly ?? 0) * 1.3, JSON.stringify(sizes));
});

test('a code cache that does not fit is ignored', async (t) => {
  // A copy at the same depth, with the repository's addon where the bundle looks for it.
  const root = mkdtempSync(join(tmpdir(), 'bundle-cache-'));
  try {
    mkdirSync(join(root, DIR), { recursive: true });
    symlinkSync(join(repoRoot, 'native'), join(root, 'native'));
    copyFileSync(join(repoRoot, LOADER), join(root, LOADER));
    copyFileSync(join(repoRoot, BUNDLE), join(root, BUNDLE));
    writeFileSync(join(root, CACHE), 'not a code cache');
    const run = await addThroughLoader(join(root, LOADER));
    t.is(run.code, 0, run.stderr);
    t.is(run.reply, ADDED);
    rmSync(join(root, CACHE));
    const uncached = await addThroughLoader(join(root, LOADER));
    t.is(uncached.code, 0, uncached.stderr);
    t.is(uncached.reply, ADDED);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Runs scripts/warm-code-cache.cjs on one request; its exit status, stderr and the size of the cache it wrote. */
function warmRun(root: string, made: string, previous: string, input: Buffer): { status: number | null; stderr: string; size: number } {
  const nodeOptions = parseNodeOptions(readFileSync(join(repoRoot, DIR, 'node-options'), 'latin1'));
  const run = spawnSync(process.execPath, [...nodeOptions, join(repoRoot, 'scripts/warm-code-cache.cjs'), join(repoRoot, LOADER),
    made, previous, '-S'], { env: { MAIL_CONFIG: join(root, 'etc') }, input, encoding: 'latin1' });
  return { status: run.status, stderr: run.stderr, size: existsSync(made) ? readFileSync(made).length : 0 };
}

test('warm-up runs chain: a cache made from an earlier run\'s holds both runs\' code; a rejected one is an error', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bundle-warm-'));
  try {
    const spool = join(root, 'spool');
    for (const dir of ['etc', 'spool/flush', 'spool/public', 'spool/pid', 'spool/incoming']) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, 'etc/main.cf'), `queue_directory = ${spool}\nfast_flush_domains = example.test\n`);
    const add = warmRun(root, join(root, 'add.cache'), '-', flushRequest('add', { site: 'example.test', queueId: 'ABCDEF1' }));
    t.is(add.status, 0, add.stderr);
    const send = warmRun(root, join(root, 'send.cache'), join(root, 'add.cache'), flushRequest('send_site', { site: 'example.test' }));
    t.is(send.status, 0, send.stderr);
    t.is(readFileSync(join(spool, 'flush/example_test'), 'latin1'), '', 'the send ran and emptied the logfile');
    t.true(send.size > add.size, `${send.size} > ${add.size}`);
    writeFileSync(join(root, 'bad.cache'), 'not a code cache');
    const rejected = warmRun(root, join(root, 'never.cache'), join(root, 'bad.cache'), flushRequest('send_site', { site: 'example.test' }));
    t.not(rejected.status, 0);
    t.regex(rejected.stderr, /bad\.cache: V8 rejected the previous run's cache/);
    t.is(rejected.size, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
