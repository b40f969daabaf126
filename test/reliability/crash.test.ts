/*
 * crash.test.ts - SIGKILL at random points of add, send_site and purge on standalone daemons
 * (fixed seed; about a third of the send kills aimed between the last rename and the
 * truncate): no queue file lost, duplicated or changed, no id lost, no torn line, the lock
 * released, the next request works. Both programs (Postfix's C daemon needs a real Postfix).
 */
import test, { type ExecutionContext } from 'ava';
import type { FlushProgram } from '../helpers/postfix-instance.js';
import { withPostfix } from '../helpers/postfix-variants.js';
import { runCrashTrials } from './crash.js';

async function trials(t: ExecutionContext, program: FlushProgram): Promise<void> {
  const f = await runCrashTrials(program, { trials: 12, seed: 4242, queueFiles: 300, tailIds: 2000 });
  t.log(`${program}: ${f.trials} kills (${f.windowKills} between rename and truncate, ${f.missedKills} after the end), ${f.idsChecked} ids checked`);
  t.deepEqual(f.failures, []);
  t.is(f.trials, 12);
  t.is(f.idsLost + f.filesLost + f.filesDuplicated + f.filesChanged + f.tornLines, 0);
  t.is(f.locksHeld, 0);
  t.is(f.nextRequestFailures, 0);
}

test.serial('fastflush: SIGKILL during add, send_site and purge loses nothing', (t) => trials(t, 'fastflush'));
withPostfix.serial('c: SIGKILL during add, send_site and purge loses nothing', (t) => trials(t, 'c'));
