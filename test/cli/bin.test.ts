/*
 * bin.test.ts - the launchers: bin/flush as master(8) runs it (no PATH, maybe
 * a relative or symlinked path) and bin/fastflush.
 *
 * bin/flush is copied into a scratch "repository" whose daemon bundle
 * (dist/bundle/flush/daemon.cjs) is a probe printing what it was given, so
 * these tests need no daemon.
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { scratchDir } from './support.js';

const PROBE = `console.log(JSON.stringify({ argv: process.argv.slice(2), name: process.env.FASTFLUSH_PROCESS_NAME,
  node: process.execPath, marker: process.env.FAKE_NODE_MARKER ?? null, script: process.argv[1] }));\n`;

const BUNDLE = 'dist/bundle/flush/daemon.cjs';

function fakeRepo(root: string, recordedNode?: string): string {
  const repo = join(root, 'repo');
  mkdirSync(join(repo, 'bin'), { recursive: true });
  mkdirSync(join(repo, 'dist/bundle/flush'), { recursive: true });
  mkdirSync(join(repo, 'node_modules'), { recursive: true });
  copyFileSync(join(repoRoot, 'bin/flush'), join(repo, 'bin/flush'));
  writeFileSync(join(repo, BUNDLE), PROBE);
  if (recordedNode !== undefined) writeFileSync(join(repo, 'node_modules/.fastflush-node'), `${recordedNode}\n`);
  return repo;
}

/** Runs a program the way master does: given path, argv[0], empty environment, cwd. */
function runAsMaster(path: string, argv0: string, cwd: string) {
  const result = spawnSync(path, ['-z', '-t', 'unix', '-u'], { argv0, cwd, env: {}, encoding: 'utf8' });
  return { status: result.status, out: result.stdout ? (JSON.parse(result.stdout) as Record<string, unknown>) : null, err: result.stderr };
}

test('bin/flush runs the daemon with the recorded node, no PATH needed', (t) => {
  const root = scratchDir(t);
  // A "node" that marks the environment, then runs the real one: proves the recorded path is used.
  const fakeNode = join(root, 'node');
  writeFileSync(fakeNode, `#!/bin/sh\nFAKE_NODE_MARKER=recorded exec '${process.execPath}' "$@"\n`, { mode: 0o755 });
  const repo = fakeRepo(root, fakeNode);
  const run = runAsMaster(join(repo, 'bin/flush'), 'flush', root);
  t.is(run.status, 0, run.err);
  t.like(run.out, { argv: ['-z', '-t', 'unix', '-u'], name: 'flush', marker: 'recorded' });
});

test('bin/flush through the relative-path trick and through a symlink', (t) => {
  const root = scratchDir(t);
  const repo = fakeRepo(root, process.execPath);
  const daemonDir = join(root, 'usr/lib/postfix/sbin');
  mkdirSync(daemonDir, { recursive: true });
  // daemon_directory + "/" + "../../../../<repo relative to root>/bin/flush"
  const command = `${relative(daemonDir, root)}/${relative(root, repo)}/bin/flush`;
  const viaTrick = runAsMaster(`${daemonDir}/${command}`, command, root);
  t.is(viaTrick.status, 0, viaTrick.err);
  t.like(viaTrick.out, { name: 'flush' });
  t.is(realpathSync(viaTrick.out?.['script'] as string), realpathSync(join(repo, BUNDLE)));

  symlinkSync(join(repo, 'bin/flush'), join(daemonDir, 'fastflush'));
  const viaLink = runAsMaster(join(daemonDir, 'fastflush'), 'fastflush', root);
  t.is(viaLink.status, 0, viaLink.err);
  t.like(viaLink.out, { name: 'fastflush' });
  t.is(realpathSync(viaLink.out?.['script'] as string), realpathSync(join(repo, BUNDLE)));

  const relativeCall = runAsMaster(`./${relative(root, repo)}/bin/flush`, 'flush', root);
  t.is(relativeCall.status, 0, relativeCall.err);
});

test('bin/flush without the bundle says how to build it', (t) => {
  const root = scratchDir(t);
  const repo = fakeRepo(root, process.execPath);
  rmSync(join(repo, BUNDLE));
  const result = spawnSync(join(repo, 'bin/flush'), ['-z', '-t', 'unix'], { argv0: 'flush', cwd: root, env: {}, encoding: 'utf8' });
  t.is(result.status, 1);
  t.regex(result.stderr, /^flush: fatal: .*\/dist\/bundle\/flush\/daemon\.cjs is missing \(run npm run build in .*\)\n$/);
});

const FALLBACK_NODES = ['/usr/local/bin/node', '/usr/bin/node'].filter((path) => existsSync(path));

(FALLBACK_NODES.length > 0 ? test : test.skip)('bin/flush falls back to /usr/local/bin/node or /usr/bin/node', (t) => {
  const root = scratchDir(t);
  const repo = fakeRepo(root);
  const run = runAsMaster(join(repo, 'bin/flush'), 'flush', root);
  t.is(run.status, 0, run.err);
  t.is(realpathSync(run.out?.['node'] as string), realpathSync(FALLBACK_NODES[0] as string));
});

test('bin/fastflush starts the command line tool', async (t) => {
  const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(join(repoRoot, 'bin/fastflush'), ['--help'], (error, stdout) =>
      resolve({ code: error ? Number(error.code) : 0, stdout }),
    );
  });
  t.is(out.code, 0);
  t.regex(out.stdout, /Usage: fastflush/);
});
