/*
 * diag.ts - how the postconf code reports problems: a fatal error is thrown
 * as PostconfFatal (the runner prints "postconf: fatal: <text>" and exits
 * with status 1, as msg_fatal() does), warnings go to a Warn callback that
 * the runner turns into "postconf: warning: <text>" lines, in order.
 *
 * Exports: PostconfFatal, Warn.
 */

/** A condition postconf reports with msg_fatal(); the message excludes "fatal: ". */
export class PostconfFatal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostconfFatal';
  }
}

/** Receives one warning text (without the "postconf: warning: " prefix). */
export type Warn = (text: string) => void;
