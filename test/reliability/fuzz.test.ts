/*
 * fuzz.test.ts - the bounded, seeded hostile-input campaign in-process (fastflush's service on
 * a throwaway queue directory): 20,000 fuzzed attribute streams and the hostile logfiles. No
 * crash, no malformed reply, nothing written outside flush/, memory bounded.
 */
import test from 'ava';
import { runHostileLogfiles, runServiceFuzz } from './fuzz.js';

const SEED = 20261203;
const MAX_RSS_KIB = 512 * 1024;

test.serial('20,000 fuzzed attribute streams: no crash, well-formed replies, nothing written outside flush/', async (t) => {
  const figures = await runServiceFuzz({ cases: 20_000, seed: SEED });
  t.log(`cases ${figures.cases}, crashes ${figures.crashes}, peak RSS ${figures.peakRssKiB} KiB, ${figures.durationMs} ms`);
  t.deepEqual(figures.failures, []);
  t.is(figures.cases, 20_000);
  t.is(figures.crashes, 0);
  t.is(figures.writesOutsideFlush, 0);
  t.true(figures.peakRssKiB < MAX_RSS_KIB);
});

test.serial('hostile logfiles (200,000 lines, garbage, a 10 MB line, odd names) and 10 MB site names', async (t) => {
  const figures = await runHostileLogfiles(200_000);
  t.log(`cases ${figures.cases}, peak RSS ${figures.peakRssKiB} KiB`);
  t.deepEqual(figures.failures, []);
  t.is(figures.crashes, 0);
  t.true(figures.peakRssKiB < MAX_RSS_KIB);
});
