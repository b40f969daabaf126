/*
 * log.ts - where the fastflush command's diagnostics go: stderr, in the form
 * Postfix's command-line tools and a foreground master use,
 *   "<tag>[<pid>]: warning: text"   (or without "[pid]"), no prefix for info.
 *
 * Exports: logToStderr(tag, withPid).
 */
import { msg } from '../util/msg.js';

export function logToStderr(tag: string, withPid: boolean): void {
  const who = withPid ? `${tag}[${process.pid}]` : tag;
  msg.addSink((severity, text) => {
    const prefix = severity === 'info' ? '' : `${severity}: `;
    process.stderr.write(`${who}: ${prefix}${text}\n`);
  });
}
