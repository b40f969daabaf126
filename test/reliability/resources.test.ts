/*
 * resources.test.ts - running out of things, and timeouts, for fastflush: a full disk makes
 * an add fail (-1) with the logfile left whole; an EMFILE sweep loses nothing and hangs
 * nothing; hostile socket clients crash nothing; the daemon_timeout watchdog ends a stuck
 * request; processes exit within max_idle and within 1 s of master's death.
 */
import { withPostfix } from '../helpers/postfix-variants.js';
import { PostfixInstance } from '../helpers/postfix-instance.js';
import { diskFull, emfileSweep, exitTimes, stuckRequest } from './resources.js';
import { runSocketFuzz } from './socket-fuzz.js';

withPostfix.serial('full disk: add answers -1, warns, and leaves no partial line (awaits the queue-I/O rollback)', async (t) => {
  const r = await diskFull('fastflush');
  t.log(JSON.stringify({ ...r, stderr: r.stderr.slice(0, 300) }));
  t.true(r.warned);
  t.is(r.fullStatus, -1);
  t.true(r.logfileIntact, 'no partial line left behind');
  t.is(r.nextStatus, 0);
  t.true(r.linesIntact);
  t.is(r.idsLost, 0);
});

withPostfix.serial('EMFILE: adds under tiny descriptor limits answer 0 and are listed, or fail cleanly', async (t) => {
  const r = await emfileSweep('fastflush');
  t.log(JSON.stringify(r));
  t.is(r.hung, 0);
  t.is(r.idsLost, 0);
  t.is(r.tornLines, 0);
  t.true(r.recovered);
});

withPostfix.serial('hostile sockets, watchdog, idle exit and master death', async (t) => {
  const pf = await PostfixInstance.start({
    flushProgram: 'fastflush',
    flushArgs: ['-o', 'ipc_timeout=2s', '-o', 'max_use=20', '-o', 'max_idle=2s', '-o', 'daemon_timeout=6s'],
    mainCf: { service_throttle_time: '1s' },
  });
  t.teardown(() => pf.stop());
  const fuzz = await runSocketFuzz(pf, 77, 60);
  t.log(JSON.stringify(fuzz));
  t.deepEqual(fuzz.failures, []);
  t.true(fuzz.healthy);
  t.true(fuzz.slowWritersCut > 0, 'stalled writers are cut at ipc_timeout');

  const watchdog = await stuckRequest(pf);
  t.log(JSON.stringify(watchdog));
  t.true(watchdog.loggedWatchdog);
  t.true(watchdog.logfileIntact);
  t.not(watchdog.seconds, null, 'the stuck process exits after the watchdog fires');
  t.true((watchdog.seconds ?? Infinity) < 12);

  await new Promise((resolve) => setTimeout(resolve, 1500));
  const exits = await exitTimes(pf);
  t.log(JSON.stringify(exits));
  t.true(exits.idleExitSeconds < 3.5, 'idle processes exit within max_idle (2 s) and a little');
  t.true(exits.processesAtMasterDeath > 0);
  t.true(exits.masterDeathExitSeconds <= 1, "every flush process exits within 1 s of master's death");
});
