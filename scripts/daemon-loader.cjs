// daemon-loader.cjs - copied by build-daemon.mjs to dist/bundle/flush/daemon.cjs,
// the file bin/flush runs: it runs the daemon bundle (daemon-code.cjs, next to
// it) as Node would run a CommonJS file, but compiled with the V8 code cache
// that the build wrote (daemon-code.cache). The build makes that cache after
// warm-up requests (build-daemon.mjs), so it holds the bytecode of every
// function a start and each kind of request run, not only the bundle's top
// level: a start, and a process's first request, then compile almost nothing.
//
// V8 checks the cache itself (V8 version, flags, source) and compiles from
// source when it does not fit, for instance after node was upgraded without a
// rebuild; a missing cache file means the same. So the cache can make a start
// faster but never break one. Everything here runs before any chroot.
//
// Run as a program: runs the daemon. Required as a module (by the build's
// warm-up): exports compileDaemon(cachedData) -> { script, run(require) },
// so that the cache is made from exactly the script this file runs.
'use strict';
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, 'daemon-code.cjs');

/** The bundle compiled inside Node's CommonJS wrapper, with `cachedData` when V8 accepts it. */
function compileDaemon(cachedData) {
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`;
  const script = new Script(source, { filename: bundle, cachedData });
  return {
    script,
    run(requireForBundle = createRequire(bundle)) {
      const bundleModule = { exports: {} };
      script.runInThisContext().call(bundleModule.exports, bundleModule.exports, requireForBundle, bundleModule, bundle,
        __dirname);
    },
  };
}

if (require.main === module) {
  let cachedData;
  try {
    cachedData = readFileSync(join(__dirname, 'daemon-code.cache'));
  } catch {
    // No cache: compile from source.
  }
  compileDaemon(cachedData).run();
} else {
  module.exports = { compileDaemon };
}
