/*
 * daemon.ts - the flush(8) program that master(8) runs (through bin/flush):
 * the generic single-server skeleton plus the fast flush service.
 *
 * Everything the service needs (fast_flush_domains with its /file and table
 * items, queue hashing, times) is resolved in pre-jail init, as root and
 * before any chroot, so that nothing is read or loaded lazily afterwards.
 *
 * bin/flush passes master's argv[0] in FASTFLUSH_PROCESS_NAME, because under
 * node argv[0] is node itself; Postfix uses its basename as process_name.
 *
 * bin/flush runs this file as part of a CommonJS bundle
 * (scripts/build-daemon.mjs), hence no top-level await.
 */
import { exitProcess, runSingleServer } from '../lifecycle/single-server.js';
import { loadFlushSettings, type FlushSettings } from './settings.js';
import { serveFlushClient } from './service.js';

const program = process.env.FASTFLUSH_PROCESS_NAME || 'flush';
delete process.env.FASTFLUSH_PROCESS_NAME;

let settings: FlushSettings | undefined;

runSingleServer(
  {
    requiresUnlimited: true,
    preJailInit(ctx) {
      settings = loadFlushSettings(ctx.config);
    },
    retireReason() {
      const table = settings?.domains.changedTable();
      return table === undefined ? undefined : `table ${table} has changed`;
    },
    serve(client) {
      return serveFlushClient(client, settings as FlushSettings);
    },
  },
  [program, ...process.argv.slice(2)],
  process.env,
).then(exitProcess);
