/*
 * progress.ts - a one-line progress indicator on stderr for commands that walk
 * many logfiles ("status: 41200/100000 logfiles"), redrawn at most ten times a
 * second and erased when the work is done, so that stdout stays clean for
 * pipes. It is silent when stderr is not a terminal or with --quiet.
 *
 * Exports: Progress, startProgress(label, total, options).
 */

export interface Progress {
  /** One more item done. */
  step(): void;
  /** Erases the line. */
  done(): void;
}

interface ProgressOptions {
  quiet: boolean;
  stream?: NodeJS.WriteStream;
  /** Milliseconds between redraws. */
  intervalMs?: number;
}

const SILENT: Progress = { step() {}, done() {} };

export function startProgress(label: string, total: number, options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet || stream.isTTY !== true) return SILENT;
  const intervalMs = options.intervalMs ?? 100;
  let count = 0;
  let lastDraw = 0;
  let drawn = false;
  const draw = (): void => {
    stream.write(`\r${label}: ${count}/${total} logfiles`);
    drawn = true;
    lastDraw = Date.now();
  };
  return {
    step(): void {
      count++;
      if (Date.now() - lastDraw >= intervalMs) draw();
    },
    done(): void {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
