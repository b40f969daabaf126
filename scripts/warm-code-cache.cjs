// warm-code-cache.cjs - run by build-daemon.mjs in a child process:
//   node warm-code-cache.cjs LOADER CACHE [PREVIOUS] -S   (stdin: one request; env: MAIL_CONFIG)
// Runs the daemon bundle through its loader as `flush -S` on that request and,
// when the daemon ends, writes the V8 code cache of the loader's script to
// CACHE. A cache made after running holds the bytecode of every function the
// run compiled; one made before running holds only the top level. With
// PREVIOUS (the cache an earlier warm-up run wrote, "-" for none) the script
// starts from that cache, so the cache written holds what both runs compiled:
// the build chains one run per kind of request.
//
// The daemon ends with the addon's exitNow (_exit), which skips every exit
// hook, so the addon's exports are wrapped as they are loaded: exitNow first
// writes the cache. Build-time only; nothing of this is in the daemon.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');

const [loader, cachePath, previous] = process.argv.splice(2, 3);
const { compileDaemon } = require(loader);
const daemon = compileDaemon(previous === '-' ? undefined : readFileSync(previous));
if (daemon.script.cachedDataRejected === true) throw new Error(`${previous}: V8 rejected the previous run's cache`);

const load = Module._load;
Module._load = function loadWrappingExit(request, ...rest) {
  const loaded = load.call(this, request, ...rest);
  if (typeof request !== 'string' || !request.endsWith('posix.node')) return loaded;
  return {
    ...loaded,
    exitNow(status) {
      if (status === 0) writeFileSync(cachePath, daemon.script.createCachedData());
      return loaded.exitNow(status);
    },
  };
};
daemon.run();
