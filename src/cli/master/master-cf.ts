/*
 * master-cf.ts - reads master.cf the way Postfix's master(8) does
 * (spec-protocol-master.md §5.1, spec-config.md §1.1, §3.6, §5.7).
 *
 * Physical lines are joined into logical lines (indented lines continue the
 * previous one; blank and comment lines are skipped, even inside a
 * continuation). Each logical line is one service:
 *   service type private unpriv chroot wakeup maxproc command [args...]
 * Fields 1-7 are split on whitespace only; the command arguments honour
 * `{ ... }` grouping. `-` selects a field's default. Errors are fatal with
 * "<path>: line <N>: ..." as in master_ent.c; a duplicate service (same type
 * and endpoint) gives a warning and the last entry wins.
 *
 * Exports: MasterCfEntry, ServiceType, MasterCfContext, readLogicalLines,
 * parseMasterCf, serviceEndpoint.
 */
import { compatLevelFromString } from '../../config/compat-level.js';
import { msg } from '../../util/msg.js';
import { splitBraced } from './split.js';

export type ServiceType = 'inet' | 'unix' | 'unix-dgram' | 'fifo' | 'pass';

const SERVICE_TYPES: readonly ServiceType[] = ['inet', 'unix', 'unix-dgram', 'fifo', 'pass'];

export interface MasterCfEntry {
  /** Field 1 as written: a name, or `[host:]port` for inet. */
  service: string;
  type: ServiceType;
  private: boolean;
  unprivileged: boolean;
  chroot: boolean;
  /** Seconds between wakeups; 0 = none. */
  wakeupTime: number;
  /** `NNN?`: no wakeups until the service has been used. */
  conditionalWakeup: boolean;
  /** 0 = no limit. */
  maxProc: number;
  /** Field 8 as written (relative to daemon_directory). */
  command: string;
  /** Fields 9+, braces removed. */
  args: string[];
  /** First physical line of the entry. */
  line: number;
}

export interface MasterCfContext {
  /** For messages, e.g. /etc/postfix/master.cf. */
  path: string;
  /** The `-` value of the process-limit column. */
  defaultProcessLimit: number;
  /** compatibility_level; below 1 the chroot default is `y`. */
  compatibilityLevel: string;
}

export interface LogicalLine {
  text: string;
  line: number;
}

/** C isspace(). */
function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

const FIELD_BLANKS = ' \t\r\n';
const SHOWN_PREFIX = 30;

/** Postfix readllines(): physical lines to logical lines with their first line number. */
export function readLogicalLines(text: string, path: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const physical = text.split('\n');
  // A final "\n" ends the last line; it does not start an empty one.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  let current: LogicalLine | null = null;
  const finish = (): void => {
    if (current === null) return;
    if (isSpace(current.text[0])) {
      const shown = current.text.slice(0, SHOWN_PREFIX);
      const more = current.text.length > SHOWN_PREFIX ? '...' : '';
      msg.warn(`${path}: logical line must not start with whitespace: "${shown}${more}"`);
    } else {
      out.push(current);
    }
    current = null;
  };
  physical.forEach((raw, index) => {
    let first = 0;
    while (first < raw.length && isSpace(raw[first])) first++;
    if (first === raw.length || raw[first] === '#') return;
    if (!isSpace(raw[0])) {
      finish();
      current = { text: raw, line: index + 1 };
    } else if (current === null) {
      current = { text: raw, line: index + 1 };
    } else {
      current.text += raw;
    }
  });
  finish();
  for (const logical of out) {
    if (logical.text.includes('\0')) msg.warn(`${path}, line ${logical.line}: text after null byte may be ignored`);
  }
  return out;
}

/** Where a service listens, as master(8) names it: `public/x`, `private/x`, or the inet `[host:]port`. */
export function serviceEndpoint(entry: Pick<MasterCfEntry, 'service' | 'type' | 'private'>): string {
  if (entry.type === 'inet') return entry.service;
  return `${entry.private ? 'private' : 'public'}/${entry.service}`;
}

const COMPAT_LEVEL_1 = compatLevelFromString('1') as bigint;

/** Below compatibility_level 1 the chroot column defaults to `y`. */
function legacyChrootDefault(level: string): boolean {
  return (compatLevelFromString(level) ?? 0n) < COMPAT_LEVEL_1;
}

class EntryParser {
  private rest: string;
  constructor(
    text: string,
    private readonly ctx: MasterCfContext,
    private readonly line: number,
  ) {
    this.rest = text;
  }

  fatal(text: string): never {
    return msg.fatal(`${this.ctx.path}: line ${this.line}: ${text}`);
  }

  /** The next whitespace-separated field, or null at the end of the line. */
  nextWord(): string | null {
    let i = 0;
    while (i < this.rest.length && FIELD_BLANKS.includes(this.rest[i] as string)) i++;
    if (i === this.rest.length) {
      this.rest = '';
      return null;
    }
    let j = i;
    while (j < this.rest.length && !FIELD_BLANKS.includes(this.rest[j] as string)) j++;
    const word = this.rest.slice(i, j);
    this.rest = this.rest.slice(j);
    return word;
  }

  /** A field; `-` gives the default, or is fatal when the field has none. */
  str(name: string, def: string | null): { value: string; defaulted: boolean } {
    const word = this.nextWord();
    if (word === null) this.fatal(`missing "${name}" field`);
    if (word !== '-') return { value: word, defaulted: false };
    if (def === null) this.fatal(`field "${name}" has no default value`);
    return { value: def, defaulted: true };
  }

  bool(name: string, def: string): { value: boolean; defaulted: boolean } {
    const { value, defaulted } = this.str(name, def);
    if (value === 'y') return { value: true, defaulted };
    if (value === 'n') return { value: false, defaulted };
    this.fatal(`field "${name}": bad value: "${value}"`);
  }

  /** Must start with a digit; the leading digits count (C atoi), the rest is ignored. */
  int(name: string, def: string): { value: number; text: string } {
    const { value } = this.str(name, def);
    const digits = /^\d+/.exec(value);
    if (digits === null) this.fatal(`field "${name}": bad value: "${value}"`);
    return { value: Number(digits[0]), text: value };
  }

  remainingArgs(): string[] {
    const split = splitBraced(this.rest, FIELD_BLANKS);
    if (split.error !== undefined) this.fatal(split.error);
    return split.words;
  }
}

function parseEntry(logical: LogicalLine, ctx: MasterCfContext): MasterCfEntry {
  const p = new EntryParser(logical.text, ctx, logical.line);
  const service = p.nextWord() as string;
  const type = p.str('transport type', null).value;
  if (!SERVICE_TYPES.includes(type as ServiceType)) p.fatal(`bad transport type: ${type}`);
  const isPrivate = p.bool('private', 'y').value;
  if (type === 'inet' && isPrivate) p.fatal('inet service cannot be private');
  const unprivileged = p.bool('unprivileged', 'y').value;
  const legacy = legacyChrootDefault(ctx.compatibilityLevel);
  const chroot = p.bool('chroot', legacy ? 'y' : 'n');
  if (chroot.defaulted && legacy) {
    msg.info(`${ctx.path}: line ${logical.line}: using backwards-compatible default setting chroot=y`);
  }
  const wakeup = p.int('wakeup_time', '0');
  const maxProc = p.int('max_proc', String(ctx.defaultProcessLimit)).value;
  const command = p.str('command', null).value;
  return {
    service,
    type: type as ServiceType,
    private: isPrivate,
    unprivileged,
    chroot: chroot.value,
    wakeupTime: wakeup.value,
    conditionalWakeup: wakeup.value > 0 && wakeup.text.endsWith('?'),
    maxProc,
    command,
    args: p.remainingArgs(),
    line: logical.line,
  };
}

/** All services of a master.cf text, in file order; a later duplicate replaces an earlier one. */
export function parseMasterCf(text: string, ctx: MasterCfContext): MasterCfEntry[] {
  const byEndpoint = new Map<string, MasterCfEntry>();
  for (const logical of readLogicalLines(text, ctx.path)) {
    const entry = parseEntry(logical, ctx);
    const endpoint = serviceEndpoint(entry);
    const key = `${entry.type} ${endpoint}`;
    if (byEndpoint.has(key)) {
      msg.warn(`duplicate master.cf entry for service "${entry.service}" (${endpoint}) -- using the last entry`);
      byEndpoint.delete(key);
    }
    byEndpoint.set(key, entry);
  }
  return [...byEndpoint.values()];
}
