/*
 * log-sinks.ts - the places a Postfix daemon's log records go: stderr (-V),
 * the postlogd(8) service (maillog_file), and the system logger (/dev/log).
 *
 * Record formats follow what Postfix and glibc put on the wire, so the same
 * log readers and postlogd accept our lines:
 *   stderr   "postfix/flush: warning: text\n"            (msg_vstream: no pid)
 *   postlog  "Nov 09 08:03:01 host postfix/flush[42]: warning: text"
 *            (msg_logger: strftime "%b %d %H:%M:%S", first label of the host name)
 *   syslog   "<20>Nov  9 08:03:01 postfix/flush[42]: warning: text"
 *            (glibc syslog(3): "%h %e %T", so the day is space-padded there)
 * Both datagram sinks connect when they are created, because a daemon may
 * chroot afterwards and then no longer see the socket path, and both drop
 * records silently when the log service is missing, as Postfix does. Their
 * close() releases the socket when logging is switched elsewhere.
 *
 * Exports: DatagramSink, severityPrefix, formatStderrRecord,
 * formatPostlogRecord, formatSyslogRecord, syslogFacility, syslogPriority,
 * firstLabel, createStderrSink, createPostlogSink, createSyslogSink.
 */
import { closeSync, writeSync } from 'node:fs';
import { dgramOpen, dgramSend } from '../native/posix.js';
import type { MsgSeverity, MsgSink } from './msg.js';

/** A sink that owns a socket. */
export type DatagramSink = MsgSink & { close(): void };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** syslog(3) facility codes by the names syslog_facility accepts (Linux values). */
const FACILITIES: ReadonlyMap<string, number> = new Map([
  ['kern', 0], ['user', 1], ['mail', 2], ['daemon', 3], ['auth', 4], ['security', 4],
  ['syslog', 5], ['lpr', 6], ['news', 7], ['uucp', 8], ['cron', 9], ['authpriv', 10],
  ['ftp', 11], ['local0', 16], ['local1', 17], ['local2', 18], ['local3', 19],
  ['local4', 20], ['local5', 21], ['local6', 22], ['local7', 23],
]);

/** Postfix maps its severities onto these syslog levels (fatal and panic are LOG_CRIT). */
const LEVELS: Record<MsgSeverity, number> = { info: 6, warning: 4, error: 3, fatal: 2, panic: 2 };

const pad2 = (n: number, fill: string): string => (n < 10 ? fill + n : String(n));

/** "Mmm dd HH:MM:SS" in local time; `dayFill` is '0' (Postfix strftime %d) or ' ' (glibc %e). */
function timestamp(date: Date, dayFill: string): string {
  return `${MONTHS[date.getMonth()]} ${pad2(date.getDate(), dayFill)} `
    + `${pad2(date.getHours(), '0')}:${pad2(date.getMinutes(), '0')}:${pad2(date.getSeconds(), '0')}`;
}

/** The text Postfix puts before a message of this severity (none for info). */
export function severityPrefix(severity: MsgSeverity): string {
  return severity === 'info' ? '' : `${severity}: `;
}

export function formatStderrRecord(tag: string, severity: MsgSeverity, text: string): string {
  return `${tag}: ${severityPrefix(severity)}${text}\n`;
}

export function formatPostlogRecord(
  date: Date, host: string, tag: string, pid: number, severity: MsgSeverity, text: string,
): string {
  return `${timestamp(date, '0')} ${host} ${tag}[${pid}]: ${severityPrefix(severity)}${text}`;
}

export function formatSyslogRecord(
  date: Date, priority: number, tag: string, pid: number, severity: MsgSeverity, text: string,
): string {
  return `<${priority}>${timestamp(date, ' ')} ${tag}[${pid}]: ${severityPrefix(severity)}${text}`;
}

/** The facility code for a syslog_facility value, or undefined when the name is unknown. */
export function syslogFacility(name: string): number | undefined {
  return FACILITIES.get(name);
}

export function syslogPriority(facility: number, severity: MsgSeverity): number {
  return facility * 8 + LEVELS[severity];
}

/** postlogd records carry only the first label of the host name, as msg_logger does. */
export function firstLabel(hostname: string): string {
  const dot = hostname.indexOf('.');
  return dot < 0 ? hostname : hostname.slice(0, dot);
}

/** Writes synchronously so that a record is out before a fatal error ends the process. */
export function createStderrSink(tag: string): MsgSink {
  return (severity, text) => {
    try {
      writeSync(2, formatStderrRecord(tag, severity, text));
    } catch {
      // Nobody is listening on stderr (closed, or a full non-blocking pipe): nothing to report to.
    }
  };
}

/**
 * A connected UNIX datagram socket that survives a restart of the log service:
 * a failed send closes the socket, reconnects once (possible only outside a
 * chroot jail) and retries; otherwise the record is dropped.
 */
class DatagramLink {
  private fd: number | undefined;

  constructor(private readonly path: string) {
    this.fd = this.connect();
  }

  private connect(): number | undefined {
    try {
      return dgramOpen(this.path);
    } catch {
      return undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  send(record: string): void {
    const data = Buffer.from(record);
    if (this.fd !== undefined) {
      try {
        dgramSend(this.fd, data);
        return;
      } catch {
        closeSync(this.fd);
        this.fd = undefined;
      }
    }
    this.fd = this.connect();
    if (this.fd === undefined) return;
    try {
      dgramSend(this.fd, data);
    } catch {
      // The log service is not taking records; Postfix drops them too.
    }
  }
}

export function createPostlogSink(opts: { path: string; host: string; tag: string; pid: number }): DatagramSink {
  const link = new DatagramLink(opts.path);
  const host = firstLabel(opts.host);
  const sink: MsgSink = (severity, text) => {
    link.send(formatPostlogRecord(new Date(), host, opts.tag, opts.pid, severity, text));
  };
  return Object.assign(sink, { close: () => link.close() });
}

export function createSyslogSink(opts: { tag: string; pid: number; facility: number; path?: string }): DatagramSink {
  const link = new DatagramLink(opts.path ?? '/dev/log');
  const sink: MsgSink = (severity, text) => {
    const priority = syslogPriority(opts.facility, severity);
    link.send(formatSyslogRecord(new Date(), priority, opts.tag, opts.pid, severity, text));
  };
  return Object.assign(sink, { close: () => link.close() });
}
