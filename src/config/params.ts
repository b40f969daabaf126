/*
 * params.ts - the one table of Postfix parameters fastflush knows (name, type,
 * built-in default, time unit, limits, extra validation), and the typed
 * parsers Postfix applies when a program reads a parameter
 * (global/mail_conf_{str,int,bool,time}.c, conv_time.c).
 *
 * Defaults are what the installed Postfix 3.7.11 (Debian build) prints with
 * `postconf -d`, unexpanded. Where the 3.12 specification differs, the row
 * says so. Rows marked global are the ones mail_params_init() reads (and
 * checks) in every Postfix program; they are listed in its read order so a
 * configuration with several mistakes reports the same one first.
 *
 * Exports: ParamType, TimeUnit, CheckContext, ComputeContext, ParamSpec,
 * PARAM_TABLE, PARAMS, paramSpec, validHostname, parseBoolValue,
 * parseIntValue, convTime, parseTimeValue, checkStrLength, splitList.
 */
import { ConfigError } from './errors.js';
import { strtol10, truncBytes } from './c-text.js';
import { compatLevelFromString, malformedCompatLevel } from './compat-level.js';

export type ParamType = 'str' | 'list' | 'bool' | 'int' | 'time';
export type TimeUnit = 's' | 'm' | 'h' | 'd' | 'w';

/** What an extra validation step may consult. */
export interface CheckContext {
  /** The configuration directory as Postfix names it in messages. */
  readonly configDir: string;
  /** Logs a warning that precedes the fatal message (valid_hostname's gripes). */
  warn(text: string): void;
  /** Another parameter's expanded value. */
  get(name: string): string;
}

/** What a run-time default (myhostname, mydomain) may consult. */
export interface ComputeContext extends CheckContext {
  /** gethostname(). */
  hostname(): string;
  /** The expanded main.cf/-o value of a name, or undefined when it is not set there. */
  setting(name: string): string | undefined;
}

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  /** The default as `postconf -d` prints it (unexpanded); '' when computed or read-only. */
  readonly default: string;
  /** Time parameters: the unit of a bare number (first letter of the default). */
  readonly unit: TimeUnit | undefined;
  /** Lower and upper limit; 0 means none (Postfix's convention). For str and list: length in bytes. */
  readonly min: number;
  readonly max: number;
  /** Read and checked by mail_params_init() in every Postfix program. */
  readonly global: boolean;
  /** Set by the program itself (process_name, process_id, service_name); main.cf cannot change it. */
  readonly readOnly: boolean;
  /**
   * fastflush's own parameter, unknown to Postfix: its programs ignore it, and
   * postconf (Postfix's and ours alike) reports it as an unused parameter.
   */
  readonly fastflushOnly: boolean;
  /** Computes a default that depends on the host. */
  readonly compute: ((ctx: ComputeContext) => string) | undefined;
  /** Extra validation after the type check; returns Postfix's fatal text, or undefined. */
  readonly check: ((name: string, value: string, ctx: CheckContext) => string | undefined) | undefined;
}

interface RowOptions {
  min?: number;
  max?: number;
  check?: ParamSpec['check'];
}

function row(name: string, type: ParamType, def: string, opts: RowOptions = {}, extra: Partial<ParamSpec> = {}): ParamSpec {
  return {
    name,
    type,
    default: def,
    unit: undefined,
    min: opts.min ?? 0,
    max: opts.max ?? 0,
    global: false,
    readOnly: false,
    fastflushOnly: false,
    compute: undefined,
    check: opts.check,
    ...extra,
  };
}

const str = (name: string, def: string, opts?: RowOptions): ParamSpec => row(name, 'str', def, opts);
const list = (name: string, def: string, opts?: RowOptions): ParamSpec => row(name, 'list', def, opts);
const bool = (name: string, def: string): ParamSpec => row(name, 'bool', def);
const int = (name: string, def: string, opts?: RowOptions): ParamSpec => row(name, 'int', def, opts);

/** A time row; its unit is the first letter of the default, as get_mail_conf_time() finds it. */
function time(name: string, def: string, opts?: RowOptions): ParamSpec {
  const unit = /[A-Za-z]/.exec(def)?.[0];
  if (unit === undefined || !'smhdw'.includes(unit)) throw new Error(`time parameter ${name}: no unit in default ${def}`);
  return row(name, 'time', def, opts, { unit: unit as TimeUnit });
}

function computed(name: string, compute: (ctx: ComputeContext) => string, opts?: RowOptions): ParamSpec {
  return row(name, 'str', '', opts, { compute });
}

function readOnly(name: string, type: ParamType): ParamSpec {
  return row(name, type, '', {}, { readOnly: true });
}

function everyProgram(rows: ParamSpec[]): ParamSpec[] {
  return rows.map((r) => ({ ...r, global: true }));
}

/**
 * valid_hostname(): labels of letters, digits, `_` and inner hyphens, at most
 * 63 bytes each and 255 in all, no empty label, not all numeric. Returns the
 * warning Postfix logs for a bad name, or undefined when the name is valid.
 */
export function validHostname(name: string): string | undefined {
  const gripe = (what: string): string => `valid_hostname: ${what}: ${truncBytes(name, 100)}`;
  if (name === '') return 'valid_hostname: empty hostname';
  let labelLength = 0;
  let nonNumeric = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (/[A-Za-z0-9_]/.test(ch)) {
      if (++labelLength > 63) return gripe('hostname label too long');
      if (!/[0-9]/.test(ch)) nonNumeric = true;
    } else if (ch === '.') {
      if (labelLength === 0 || i + 1 === name.length) return gripe('misplaced delimiter');
      labelLength = 0;
    } else if (ch === '-') {
      labelLength++;
      if (labelLength === 1 || i + 1 === name.length || name[i + 1] === '.') return gripe('misplaced hyphen');
    } else {
      return gripe(`invalid character ${Buffer.from(ch)[0]}(decimal)`);
    }
  }
  if (!nonNumeric) return gripe('numeric hostname');
  if (name.length > 255) return `valid_hostname: bad length ${name.length} for ${truncBytes(name, 100)}...`;
  return undefined;
}

function checkHostname(name: string, value: string, ctx: CheckContext): string | undefined {
  const gripe = validHostname(value);
  if (gripe === undefined) return undefined;
  ctx.warn(gripe);
  return `file ${ctx.configDir}/main.cf: parameter ${name}: bad parameter value: ${value}`;
}

function checkCompatLevel(_name: string, value: string): string | undefined {
  return compatLevelFromString(value) === undefined ? malformedCompatLevel(value) : undefined;
}

/* The facility names msg_syslog.c knows on Linux (no "security" there). */
const SYSLOG_FACILITIES = new Set([
  'auth', 'authpriv', 'cron', 'daemon', 'ftp', 'kern', 'lpr', 'mail', 'news', 'syslog', 'user', 'uucp',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
]);

function checkSyslogFacility(name: string, value: string, ctx: CheckContext): string | undefined {
  if (SYSLOG_FACILITIES.has(value)) return undefined;
  return `file ${ctx.configDir}/main.cf: parameter ${name}: unrecognized value: ${value}`;
}

function checkSingleValue(name: string, value: string): string | undefined {
  return /[, \t\r\n]/.test(value) ? `${name} parameter setting must not contain multiple values: ${value}` : undefined;
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function checkRelayhost(_name: string, value: string, ctx: CheckContext): string | undefined {
  const myhostname = ctx.get('myhostname');
  if (asciiLower(value) !== asciiLower(myhostname)) return undefined;
  return `myhostname and relayhost parameter settings must not be identical: ${myhostname}`;
}

/*
 * gethostname(), plus ".$mydomain" (or ".localdomain") when it has no dot.
 * Postfix gives up when the system's own name is unusable.
 */
function defaultMyhostname(ctx: ComputeContext): string {
  const host = ctx.hostname();
  const gripe = validHostname(host);
  if (gripe !== undefined) {
    ctx.warn(gripe);
    throw new ConfigError('unable to use my own hostname');
  }
  return host.includes('.') ? host : `${host}.${ctx.setting('mydomain') ?? 'localdomain'}`;
}

/** The text after the first dot of myhostname, else "localdomain". */
function defaultMydomain(ctx: ComputeContext): string {
  const myhostname = ctx.get('myhostname');
  const dot = myhostname.indexOf('.');
  return dot < 0 ? 'localdomain' : myhostname.slice(dot + 1);
}

/* Defaults that change with compatibility_level (§3.4 of spec-config.md). */
const BELOW_LEVEL = (level: string, below: string, otherwise: string): string =>
  `\${{$compatibility_level} <level {${level}} ? {${below}} : {${otherwise}}}`;

export const PARAM_TABLE: readonly ParamSpec[] = [
  ...everyProgram([
    // Read first: the other compatibility-dependent defaults refer to it.
    str('compatibility_level', '0', { check: checkCompatLevel }),
    str('mail_version', '3.7.11', { min: 1 }),
    str('syslog_facility', 'mail', { min: 1, check: checkSyslogFacility }),
    str('inet_protocols', 'all'),
    list('multi_instance_directories', ''),
    str('multi_instance_group', ''),
    str('multi_instance_name', ''),
    str('maillog_file', ''),
    list('maillog_file_prefixes', '/var, /dev/stdout', { min: 1 }),
    str('maillog_file_compressor', 'gzip', { min: 1 }),
    str('maillog_file_rotate_suffix', '%Y%m%d-%H%M%S', { min: 1 }),
    str('postlog_service_name', 'postlog', { min: 1 }),
    bool('daemon_table_open_error_is_fatal', 'no'),
    bool('smtputf8_enable', BELOW_LEVEL('1', 'no', 'yes')),
    bool('enable_idna2003_compatibility', 'no'),
    bool('respectful_logging', BELOW_LEVEL('3.6', 'no', 'yes')),
    computed('myhostname', defaultMyhostname, { min: 1, check: checkHostname }),
    computed('mydomain', defaultMydomain, { min: 1, check: checkHostname }),
    str('mail_name', 'Postfix', { min: 1 }),
    str('syslog_name', '${multi_instance_name?{$multi_instance_name}:{postfix}}', { min: 1 }),
    str('mail_owner', 'postfix', { min: 1 }),
    str('setgid_group', 'postdrop', { min: 1 }),
    list('mydestination', '$myhostname, localhost.$mydomain, localhost'),
    str('myorigin', '$myhostname', { min: 1, check: checkSingleValue }),
    str('relayhost', '', { check: checkRelayhost }),
    // Build-time paths: Debian's values (the 3.12 source default is /usr/libexec/postfix).
    str('daemon_directory', '/usr/lib/postfix/sbin', { min: 1 }),
    str('data_directory', '/var/lib/postfix', { min: 1 }),
    str('command_directory', '/usr/sbin', { min: 1 }),
    str('meta_directory', '/etc/postfix', { min: 1 }),
    str('queue_directory', '/var/spool/postfix', { min: 1 }),
    str('shlib_directory', '/usr/lib/postfix', { min: 1 }),
    str('process_id_directory', 'pid', { min: 1 }),
    list('inet_interfaces', 'all'),
    list('proxy_interfaces', ''),
    str('double_bounce_sender', 'double-bounce', { min: 1 }),
    str('default_privs', 'nobody', { min: 1 }),
    str('alias_database', 'hash:/etc/aliases'),
    str('mail_release_date', '20240304', { min: 1 }),
    str('default_database_type', 'hash', { min: 1 }),
    list('hash_queue_names', 'deferred, defer', { min: 1 }),
    str('recipient_delimiter', ''),
    list('relay_domains', BELOW_LEVEL('2', '$mydestination', '')),
    list('fast_flush_domains', '$relay_domains'),
    list('export_environment', 'TZ MAIL_CONFIG LANG'),
    // 3.12 adds XDG_RUNTIME_DIR to this list; 3.7 does not have it.
    list('import_environment', 'MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME'),
    list('mynetworks_style', BELOW_LEVEL('2', 'subnet', 'host'), { min: 1 }),
    list('debug_peer_list', ''),
    str('default_verp_delimiters', '+=', { min: 2, max: 2 }),
    str('verp_delimiter_filter', '-=+', { min: 1 }),
    list('parent_domain_matches_subdomains',
      'debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps'),
    list('alternate_config_directories', ''),
    str('queue_service_name', 'qmgr', { min: 1 }),
    str('flush_service_name', 'flush', { min: 1 }),
    int('default_process_limit', '100', { min: 1 }),
    int('max_use', '100', { min: 1 }),
    int('dont_remove', '0'),
    int('line_length_limit', '2048', { min: 512 }),
    int('hash_queue_depth', '1', { min: 1 }),
    int('fork_attempts', '5', { min: 1 }),
    int('deliver_lock_attempts', '20', { min: 1 }),
    int('debug_peer_level', '2', { min: 1 }),
    bool('multi_instance_enable', 'no'),
    bool('enable_long_queue_ids', 'no'),
    time('application_event_drain_time', '100s', { min: 1 }),
    time('max_idle', '100s', { min: 1 }),
    time('ipc_timeout', '3600s', { min: 1 }),
    time('ipc_idle', '5s', { min: 1 }),
    time('ipc_ttl', '1000s', { min: 1 }),
    time('trigger_timeout', '10s', { min: 1 }),
    time('fork_delay', '1s', { min: 1 }),
    time('deliver_lock_delay', '1s', { min: 1 }),
    time('stale_lock_time', '500s', { min: 1 }),
    time('daemon_timeout', '18000s', { min: 1 }),
    time('in_flow_delay', '1s', { max: 10 }),
  ]),
  // flush(8)'s own parameters.
  time('fast_flush_refresh_time', '12h', { min: 1 }),
  time('fast_flush_purge_time', '7d', { min: 1 }),
  // fastflush only: the periodic refresh also compacts each logfile (queue/compact.ts) first.
  { ...bool('fastflush_compact_on_refresh', 'no'), fastflushOnly: true },
  // The proxymap(8) client, for fast_flush_domains tables fastflush does not read itself.
  str('proxymap_service_name', 'proxymap', { min: 1 }),
  // master(8) and the service skeleton.
  time('service_throttle_time', '60s', { min: 1 }),
  list('master_service_disable', ''),
  str('debugger_command', ''),
  str('stress', ''),
  // The loader answers with the directory main.cf came from unless main.cf sets it.
  str('config_directory', '/etc/postfix'),
  // Set by the program; assignments in main.cf or -o are discarded.
  readOnly('process_name', 'str'),
  readOnly('process_id', 'int'),
  readOnly('service_name', 'str'),
];

export const PARAMS: ReadonlyMap<string, ParamSpec> = new Map(PARAM_TABLE.map((p) => [p.name, p]));

/** The table row for a name; asking for an unknown name is a programming error. */
export function paramSpec(name: string): ParamSpec {
  const spec = PARAMS.get(name);
  if (spec === undefined) throw new Error(`unknown parameter: ${name}`);
  return spec;
}

/** yes or no, in any case; nothing else (get_mail_conf_bool). */
export function parseBoolValue(name: string, value: string): boolean {
  const lower = asciiLower(value);
  if (lower === 'yes') return true;
  if (lower === 'no') return false;
  throw new ConfigError(`bad boolean configuration: ${name} = ${value}`);
}

const INT_MAX = 2147483647n;
const INT_MIN = -2147483648n;

/** The whole value as a base-10 C int (strtol rules), then the range check. */
export function parseIntValue(name: string, value: string, min = 0, max = 0): number {
  const r = strtol10(value);
  if (value === '' || r.end !== value.length || r.overflow || r.value > INT_MAX || r.value < INT_MIN) {
    throw new ConfigError(`bad numerical configuration: ${name} = ${value}`);
  }
  const n = Number(r.value);
  if (min !== 0 && n < min) throw new ConfigError(`invalid ${name} parameter value ${n} < ${min}`);
  if (max !== 0 && n > max) throw new ConfigError(`invalid ${name} parameter value ${n} > ${max}`);
  return n;
}

const UNIT_SECONDS: Readonly<Record<TimeUnit, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const INT_MAX_NUMBER = 2147483647;

/**
 * conv_time(): a non-negative C int (strtol rules) and an optional unit
 * letter; only the first character after the number is looked at, so
 * "12hours" is 12h. A bare number takes `defaultUnit`. Returns seconds, or
 * undefined for a bad value or unit, or when the product would not be below
 * INT_MAX.
 */
export function convTime(value: string, defaultUnit: TimeUnit): number | undefined {
  const r = strtol10(value);
  if (value === '' || r.overflow || r.value > INT_MAX || r.value < 0n) return undefined;
  const n = Number(r.value);
  const unit = r.end < value.length ? value[r.end] : defaultUnit;
  if (!Object.hasOwn(UNIT_SECONDS, unit)) return undefined;
  const factor = UNIT_SECONDS[unit as TimeUnit];
  if (factor === 1) return n;
  return n < Math.trunc(INT_MAX_NUMBER / factor) ? n * factor : undefined;
}

/** get_mail_conf_time(): conv_time() and the range check, in seconds. */
export function parseTimeValue(name: string, value: string, unit: TimeUnit, min = 0, max = 0): number {
  const seconds = convTime(value, unit);
  if (seconds === undefined) throw new ConfigError(`parameter ${name}: bad time value or unit: ${value}`);
  if (min !== 0 && seconds < min) throw new ConfigError(`invalid ${name}: ${seconds} (min ${min})`);
  if (max !== 0 && seconds > max) throw new ConfigError(`invalid ${name}: ${seconds} (max ${max})`);
  return seconds;
}

/** get_mail_conf_str()'s length limits (bytes, as strlen() counts). */
export function checkStrLength(name: string, value: string, min = 0, max = 0): void {
  const length = Buffer.byteLength(value);
  if (min !== 0 && length < min) throw new ConfigError(`bad string length ${length} < ${min}: ${name} = ${value}`);
  if (max !== 0 && length > max) throw new ConfigError(`bad string length ${length} > ${max}: ${name} = ${value}`);
}

/** A list value split on commas and whitespace, empty items dropped. */
export function splitList(value: string): string[] {
  return value.split(/[, \t\r\n]+/).filter((item) => item !== '');
}
