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
// saves a further few milliseconds of compilation per start; the loader
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
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFunction } from 'node:vm';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = 'dist/bundle/flush';
const BUNDLE = `${OUT_DIR}/daemon-code.cjs`;

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

// Compiled as the loader compiles it (same wrapper parameters and file name),
// before anything runs, so the cache holds the top level and does not depend
// on the V8 options the daemon sets while it runs.
const bundlePath = join(root, BUNDLE);
const compiled = compileFunction(readFileSync(bundlePath, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
  filename: bundlePath,
  produceCachedData: true,
});
writeFileSync(join(root, OUT_DIR, 'daemon-code.cache'), compiled.cachedData);
copyFileSync(join(root, 'scripts/daemon-loader.cjs'), join(root, OUT_DIR, 'daemon.cjs'));
