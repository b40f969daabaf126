/*
 * msg.ts - Postfix-style diagnostics (msg_info, msg_warn, msg_error, msg_fatal,
 * msg_panic) for every layer.
 *
 * One process-wide logger, as in Postfix: modules call msg.warn(...) and the
 * lifecycle layer decides where lines go by registering sinks (stderr for -V/-d,
 * postlogd, syslog; tests register a capturing sink). Text is sanitised like
 * Postfix's (non-printable bytes become '?', at most 2000 characters).
 *
 * fatal() and panic() log and then throw FatalError. Code must let a FatalError
 * propagate (never swallow it); the lifecycle layer catches it at the top,
 * sleeps one second as Postfix does, and exits with status 1.
 *
 * Exports: msg, MsgSeverity, MsgSink, FatalError, sanitizeLogText.
 */

export type MsgSeverity = 'info' | 'warning' | 'error' | 'fatal' | 'panic';

/** A destination for log records; `text` is already sanitised and has no prefix. */
export type MsgSink = (severity: MsgSeverity, text: string) => void;

export class FatalError extends Error {
  readonly severity: 'fatal' | 'panic';
  constructor(severity: 'fatal' | 'panic', text: string) {
    super(text);
    this.name = 'FatalError';
    this.severity = severity;
  }
}

const MAX_LOG_TEXT = 2000;

/** Replaces bytes outside printable ASCII with '?' (keeps valid UTF-8 when allowed). */
export function sanitizeLogText(text: string, allowUtf8 = false): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if ((code >= 0x20 && code < 0x7f) || (allowUtf8 && code >= 0xa0 && code !== 0xfffd)) {
      out += ch;
    } else {
      out += '?';
    }
    if (out.length >= MAX_LOG_TEXT) break;
  }
  return out.slice(0, MAX_LOG_TEXT);
}

class MessageLog {
  private sinks: MsgSink[] = [];
  /** Postfix's msg_verbose: raised by -v (once per -v) and MAIL_VERBOSE. */
  verbose = 0;
  allowUtf8 = false;

  addSink(sink: MsgSink): () => void {
    this.sinks.push(sink);
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  clearSinks(): void {
    this.sinks = [];
  }

  private emit(severity: MsgSeverity, text: string): string {
    const clean = sanitizeLogText(text, this.allowUtf8);
    for (const sink of this.sinks) sink(severity, clean);
    return clean;
  }

  info(text: string): void {
    this.emit('info', text);
  }

  warn(text: string): void {
    this.emit('warning', text);
  }

  error(text: string): void {
    this.emit('error', text);
  }

  fatal(text: string): never {
    throw new FatalError('fatal', this.emit('fatal', text));
  }

  panic(text: string): never {
    throw new FatalError('panic', this.emit('panic', text));
  }
}

export const msg = new MessageLog();
