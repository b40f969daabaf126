/*
 * bundle.test.ts - the one-file daemon that `npm run build` writes for
 * bin/flush (scripts/build-daemon.mjs): it exists, holds only what the
 * request path imports (never commander or the command-line tool), needs
 * nothing from disk but Node's built-in modules and the addon, and answers a
 * request on its own (-S), which also proves that it finds the addon.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flushRequest } from '../../src/protocol/flush-messages.js';
import { repoRoot } from '../helpers/paths.js';

const BUNDLE = 'dist/bundle/flush/daemon.cjs';
const METAFILE = join(repoRoot, 'dist/bundle/flush/daemon.meta.json');

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
}

function metafile(): Metafile {
  return JSON.parse(readFileSync(METAFILE, 'utf8')) as Metafile;
}

test('the build wrote the bundle and its metafile', (t) => {
  t.true(existsSync(join(repoRoot, BUNDLE)), BUNDLE);
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

test('the bundle answers a request with -S', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bundle-'));
  try {
    const spool = join(root, 'spool');
    for (const dir of ['etc', 'spool/flush', 'spool/public', 'spool/pid']) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, 'etc/main.cf'), `queue_directory = ${spool}\nfast_flush_domains = example.test\n`);
    const child = spawn(process.execPath, [join(repoRoot, BUNDLE), '-S'], {
      env: { MAIL_CONFIG: join(root, 'etc') }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(flushRequest('add', { site: 'example.test', queueId: 'ABCDEF1' }));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (data: Buffer) => chunks.push(data));
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => { stderr += data.toString(); });
    const code = await new Promise((resolve) => child.on('close', resolve));
    t.is(code, 0, stderr);
    t.is(Buffer.concat(chunks).toString('latin1'), 'protocol\0queue_flush_protocol\0\0status\x000\0\0');
    t.is(readFileSync(join(spool, 'flush/example_test'), 'latin1'), 'ABCDEF1\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
