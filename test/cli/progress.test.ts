/*
 * progress.test.ts - the progress line: drawn on a terminal, erased at the end, silent when
 * stderr is not a terminal or with --quiet.
 */
import test from 'ava';
import { startProgress } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

test('on a terminal: one redraw per interval, the count of the last one, then erased', (t) => {
  const { stream, written } = fakeStream(true);
  const progress = startProgress('compact', 3, { quiet: false, stream, intervalMs: 0 });
  for (let i = 0; i < 3; i++) progress.step();
  progress.done();
  t.deepEqual(written, ['\rcompact: 1/3 logfiles', '\rcompact: 2/3 logfiles', '\rcompact: 3/3 logfiles', '\r\x1b[K']);
});

test('redraws are rate-limited', (t) => {
  const { stream, written } = fakeStream(true);
  const progress = startProgress('status', 100_000, { quiet: false, stream, intervalMs: 60_000 });
  for (let i = 0; i < 100_000; i++) progress.step();
  progress.done();
  t.deepEqual(written, ['\rstatus: 1/100000 logfiles', '\r\x1b[K']);
});

test('silent when not a terminal, and with --quiet', (t) => {
  for (const [isTTY, quiet] of [[false, false], [true, true]] as const) {
    const { stream, written } = fakeStream(isTTY);
    const progress = startProgress('status', 2, { quiet, stream, intervalMs: 0 });
    progress.step();
    progress.done();
    t.deepEqual(written, [], `isTTY ${isTTY}, quiet ${quiet}`);
  }
});
