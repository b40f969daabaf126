// build-daemon.mjs - run by `npm run build` after tsc: bundles the flush
// daemon (src/flush/daemon.ts and everything it imports) into one file,
// dist/bundle/flush/daemon-code.cjs, with a V8 code cache for it
// (daemon-code.cache) and the small loader bin/flush runs
// (dist/bundle/flush/daemon.cjs, from scripts/daemon-loader.cjs).
//
// Why one file: master(8) starts a new daemon every max_use connections, so
// start-up is paid constantly, and resolving and compiling ~60 ES modules
// costs more than the daemon's own work. One CommonJS file needs no module
// resolution and no ES module loader, and it holds all the code the daemon
// can run, so nothing is loaded from disk after a chroot. The code cache
// (below) saves most of the remaining compilation per start; the loader
// falls back to compiling from source whenever V8 refuses it.
//
// What goes in: only what the request path imports (the CLI and commander do
// not); test/flush/bundle.test.ts checks the metafile written next to the
// bundle. The bundle is not minified, so stack traces name the real
// functions and each module's code follows a "// src/..." comment; the linked
// source map (daemon-code.cjs.map) maps lines back to the TypeScript.
//
// The N-API addon stays a separate file: src/native/posix.ts loads it
// relative to its own URL ("../../../native/build/Release/posix.node", written
// for dist/src/native/posix.js). import.meta.url becomes the bundle's own URL,
// and the bundle sits at the same depth under the repository
// (dist/bundle/flush/), so that path finds the same addon.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = 'dist/bundle/flush';
const BUNDLE = `${OUT_DIR}/daemon-code.cjs`;

// The node options every daemon starts with, written to node-options next to
// the loader for bin/flush and the installed launcher (and used by the
// warm-up below, since V8 takes a code cache only under the options it was
// made with). --single-threaded-gc: V8 otherwise runs each young-generation
// collection on helper threads, and waking them costs more than it saves for
// a heap of a few MB; on a 2-core machine, where master, the clients and the
// daemon share the CPUs, sequential adds measured 1.2-1.7x faster with it.
// Words only: bin/flush splits the file on white space.
const DAEMON_NODE_OPTIONS = ['--single-threaded-gc'];

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/flush/daemon.ts'],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: ['scripts/import-meta-url.mjs'],
  plugins: [{
    // debug probes for the optional supports-color package at load time;
    // without it (as here) that is a failed search of node_modules on every
    // start. It only picks 256-colour names for DEBUG output on a terminal.
    name: 'no-supports-color',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^supports-color$/ }, () => ({ path: 'supports-color', namespace: 'empty' }));
      pluginBuild.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
    },
  }],
});
writeFileSync(join(root, OUT_DIR, 'daemon-code.meta.json'), `${JSON.stringify(result.metafile, null, 1)}\n`);

copyFileSync(join(root, 'scripts/daemon-loader.cjs'), join(root, OUT_DIR, 'daemon.cjs'));
writeFileSync(join(root, OUT_DIR, 'node-options'), `${DAEMON_NODE_OPTIONS.join(' ')}\n`);

// The code cache: made after warm-up runs of the daemon (warm-code-cache.cjs),
// one per kind of request, each starting from the cache the one before wrote,
// so it holds every function that start and those requests compiled and
// spares each start most of its compilation, and a process's first send or
// refresh the compilation of its own path; the top level only, compiled as
// the loader compiles it, when a warm-up run fails. The warm-up runs in a
// fresh node with master's near-empty environment, so that the cache is made
// under the V8 options a daemon starts with (DAEMON_NODE_OPTIONS; V8 refuses
// a cache made under others).
const require = createRequire(import.meta.url);
// The client side of the protocol, from tsc's output (npm run build runs tsc first).
const { flushRequest } = await import(new URL('../dist/src/protocol/flush-messages.js', import.meta.url).href);
const loaderPath = join(root, OUT_DIR, 'daemon.cjs');
const cachePath = join(root, OUT_DIR, 'daemon-code.cache');
const warm = warmUp(loaderPath, cachePath);
if (warm !== null) {
  console.warn(`build-daemon: warm-up failed (${warm}); the code cache holds the top level only`);
  writeFileSync(cachePath, require(loaderPath).compileDaemon(undefined).script.createCachedData());
}

/**
 * A logfile for the warm-up's sends: ids with and without queue files, listed
 * and probed, a bad line and a repeated id; last read an hour ago, so that a
 * purge sends it too.
 */
function warmLogfile(spool) {
  const ids = [];
  for (let i = 0; i < 24; i++) ids.push(`A${(0x10000 + i).toString(16).toUpperCase()}`);
  for (let i = 0; i < 8; i++) ids.push(`${'BCDEF012'[i]}1234${i}`);
  const logfile = join(spool, 'flush/warm_example');
  writeFileSync(logfile, `${[...ids, 'not.an.id', ids[0]].join('\n')}\n`);
  const anHourAgo = Date.now() / 1000 - 3600;
  utimesSync(logfile, anHourAgo, anHourAgo);
}

/**
 * Runs the daemon -S once per kind of request in a throw-away queue, chaining
 * the caches; null when it wrote `cache`, else why not.
 */
function warmUp(loader, cache) {
  const scratch = mkdtempSync(join(tmpdir(), 'fastflush-warm-'));
  try {
    const spool = join(scratch, 'spool');
    for (const dir of ['etc', 'spool/flush', 'spool/public', 'spool/pid', 'spool/incoming', 'spool/deferred/A',
      'spool/deferred/B']) {
      mkdirSync(join(scratch, dir), { recursive: true });
    }
    writeFileSync(join(scratch, 'etc/main.cf'), `queue_directory = ${spool}\nfast_flush_domains = warm.example\n`);
    // Mode 0700: a queue file is ready (not still being written) only with the owner's x bit.
    const queueFile = (id) => writeFileSync(join(spool, 'deferred', id[0], id), '', { mode: 0o700 });
    const steps = [
      { input: flushRequest('add', { site: 'warm.example', queueId: 'ABCDEF1' }) },
      { input: flushRequest('send_site', { site: 'warm.example' }), before: () => {
        warmLogfile(spool);
        queueFile('A10003');
        queueFile('B12340');
      } },
      { input: flushRequest('send_file', { queueId: 'A10005' }), before: () => queueFile('A10005') },
      { input: flushRequest('purge'), before: () => {
        warmLogfile(spool);
        queueFile('A10007');
      } },
    ];
    let previous = '-';
    for (const [index, step] of steps.entries()) {
      step.before?.();
      const made = join(scratch, `daemon-code.cache.${index}`);
      const run = spawnSync(process.execPath, [...DAEMON_NODE_OPTIONS, join(root, 'scripts/warm-code-cache.cjs'), loader, made,
        previous, '-S'], { env: { MAIL_CONFIG: join(scratch, 'etc') }, input: step.input, timeout: 60_000 });
      const what = `run ${index + 1} of ${steps.length}`;
      if (run.error) return `${what}: ${run.error.message}`;
      if (run.status !== 0) return `${what}: exit status ${run.status}: ${run.stderr.toString().trim()}`;
      if (!run.stdout.toString('latin1').endsWith('status\x000\0\0')) return `${what}: no OK reply`;
      if (!existsSync(made)) return `${what}: no cache written`;
      previous = made;
    }
    copyFileSync(previous, cache);
    return null;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
