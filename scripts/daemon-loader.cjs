// daemon-loader.cjs - copied by build-daemon.mjs to dist/bundle/flush/daemon.cjs,
// the file bin/flush runs: it runs the daemon bundle (daemon-code.cjs, next to
// it) as Node would run a CommonJS file, but compiled with the V8 code cache
// that the build wrote (daemon-code.cache), which spares every start the
// compilation of the bundle's top level.
//
// V8 checks the cache itself (V8 version, flags, source) and compiles from
// source when it does not fit, for instance after node was upgraded without a
// rebuild; a missing cache file means the same. So the cache can make a start
// faster but never break one. Everything here runs before any chroot.
'use strict';
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { compileFunction } = require('node:vm');

const bundle = join(__dirname, 'daemon-code.cjs');
let cachedData;
try {
  cachedData = readFileSync(join(__dirname, 'daemon-code.cache'));
} catch {
  // No cache: compile from source.
}
const run = compileFunction(readFileSync(bundle, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
  filename: bundle,
  cachedData,
});
const bundleModule = { exports: {} };
run.call(bundleModule.exports, bundleModule.exports, createRequire(bundle), bundleModule, bundle, __dirname);
