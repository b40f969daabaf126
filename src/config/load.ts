/*
 * load.ts - builds the MailConfig a Postfix program sees: main.cf from the
 * configuration directory, then master.cf `-o` overrides (later ones win),
 * then the built-in defaults of the parameter table; values are expanded
 * lazily on first read and cached (the configuration never changes inside a
 * process). Read-only parameters (process_name, process_id, service_name)
 * always report the program's own values.
 *
 * Two views of `$name` references. A program that runs mail_params_init()
 * (validate, the default: the daemon and the fastflush command) sees what a
 * Postfix daemon sees: main.cf and -o values, plus the evaluated defaults of
 * the parameters it has already read, in mail_params_init()'s order and then
 * in the order the program asks for its own; a reference to a parameter not
 * read yet is undefined (so `${relay_domains?a:b}` in fast_flush_domains sees
 * relay_domains' evaluated, possibly empty, default, and `$relay_domains` in
 * mydestination sees nothing). Without validation (postconf) any table
 * parameter's default is visible, as `postconf -x` shows it.
 *
 * Unless told not to, loading also performs the checks mail_params_init()
 * performs in every Postfix program, in its order, so a bad main.cf stops the
 * program at start-up as it would stop Postfix. Not checked here: that
 * mail_owner, setgid_group and default_privs exist (the privilege code does
 * that), mynetworks, and the set-gid trust check of the directory.
 *
 * Exports: LoadOptions, DEFAULT_CONFIG_DIR, loadMailConfig, ConfigError,
 * MacroError, parseMainCf, splitNameValue, expandValue.
 */
import { hostname as osHostname } from 'node:os';
import { basename } from 'node:path';
import { msg } from '../util/msg.js';
import type { MailConfig } from './types.js';
import { ConfigError } from './errors.js';
import { readMainCf } from './main-cf.js';
import { MacroError, expandValue } from './expand.js';
import {
  PARAMS,
  PARAM_TABLE,
  type ComputeContext,
  type ParamSpec,
  checkStrLength,
  paramSpec,
  parseBoolValue,
  parseIntValue,
  parseTimeValue,
  splitList,
} from './params.js';

export { ConfigError } from './errors.js';
export { MacroError, expandValue } from './expand.js';
export { parseMainCf, splitNameValue } from './main-cf.js';

/** Where main.cf lives when neither the caller nor MAIL_CONFIG says otherwise. */
export const DEFAULT_CONFIG_DIR = paramSpec('config_directory').default;

export interface LoadOptions {
  /** Overrides MAIL_CONFIG. */
  configDir?: string;
  /** Source of MAIL_CONFIG (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** master.cf `-o name=value` settings, already split, in command-line order. */
  overrides?: ReadonlyArray<readonly [string, string]>;
  /** process_name (default: basename of the script being run). */
  processName?: string;
  /** service_name, the -n value or the program name (default: empty, as for commands). */
  serviceName?: string;
  /** process_id (default: process.pid). */
  processId?: number;
  /**
   * Run mail_params_init()'s checks now (default true), and see `$name`
   * references as a daemon does; false: as postconf does.
   */
  validate?: boolean;
  /** gethostname() (default os.hostname). */
  hostname?: () => string;
}

class LoadedConfig implements MailConfig {
  readonly configDir: string;
  private readonly settings: ReadonlyMap<string, string>;
  private readonly readOnly: ReadonlyMap<string, string>;
  private readonly hostname: () => string;
  private readonly cache = new Map<string, string>();
  /** Computed defaults in progress: a reference back to one of them is undefined. */
  private readonly computing = new Set<string>();
  private readonly context: ComputeContext;
  /**
   * Daemon view: the values of the defaulted parameters read so far, as
   * get_mail_conf_*() adds them to the parameter table. Null: postconf view.
   */
  private readonly readDefaults: Map<string, string> | null;

  constructor(configDir: string, settings: ReadonlyMap<string, string>, readOnly: ReadonlyMap<string, string>,
    hostname: () => string, daemonView: boolean) {
    this.readDefaults = daemonView ? new Map() : null;
    this.configDir = configDir;
    this.settings = settings;
    this.readOnly = readOnly;
    this.hostname = hostname;
    this.context = {
      configDir,
      warn: (text) => msg.warn(text),
      get: (name) => this.get(name),
      hostname: () => this.hostname(),
      setting: (name) => {
        const raw = this.settings.get(name);
        return raw === undefined ? undefined : this.expand(raw);
      },
    };
  }

  /** The configured (main.cf, -o, program-set) value of a name, unexpanded, or undefined. */
  private fixed(name: string): string | undefined {
    const fixed = this.readOnly.get(name) ?? this.settings.get(name);
    if (fixed !== undefined) return fixed;
    if (name === 'config_directory') return this.configDir;
    return undefined;
  }

  /** The unexpanded value a `$name` reference sees, or undefined. */
  private raw(name: string): string | undefined {
    const fixed = this.fixed(name);
    if (fixed !== undefined) return fixed;
    if (this.readDefaults !== null) return this.readDefaults.get(name);
    return this.defaultOf(name);
  }

  /** The built-in default of a table parameter, unexpanded (computed ones computed), or undefined. */
  private defaultOf(name: string): string | undefined {
    const spec = PARAMS.get(name);
    if (spec === undefined) return undefined;
    if (spec.compute === undefined) return spec.default;
    if (this.computing.has(name)) return undefined;
    this.computing.add(name);
    try {
      return spec.compute(this.context);
    } finally {
      this.computing.delete(name);
    }
  }

  private expand(raw: string): string {
    try {
      return expandValue(raw, (name) => this.raw(name), (text) => msg.warn(text));
    } catch (err) {
      if (err instanceof MacroError) throw new ConfigError('dictionary mail_dict: macro processing error');
      throw err;
    }
  }

  get(name: string): string {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const fixed = this.fixed(name);
    let value: string;
    if (fixed !== undefined) {
      value = this.expand(fixed);
    } else {
      const raw = this.defaultOf(name);
      if (raw === undefined) throw new Error(`unknown parameter: ${name}`);
      value = this.expand(raw);
      // Reading a defaulted parameter puts its evaluated default in the table, as get_mail_conf_str() does.
      this.readDefaults?.set(name, value);
    }
    this.cache.set(name, value);
    return value;
  }

  getBool(name: string): boolean {
    typed(name, 'bool');
    return parseBoolValue(name, this.get(name));
  }

  getInt(name: string): number {
    const spec = typed(name, 'int');
    return parseIntValue(name, this.get(name), spec.min, spec.max);
  }

  getTime(name: string): number {
    const spec = typed(name, 'time');
    return parseTimeValue(name, this.get(name), spec.unit as NonNullable<ParamSpec['unit']>, spec.min, spec.max);
  }

  getList(name: string): string[] {
    return splitList(this.get(name));
  }

  isSet(name: string): boolean {
    return this.settings.has(name) && !this.readOnly.has(name);
  }

  /**
   * mail_params_init(): reads every parameter all programs read, in its
   * order, and stops at the first bad one. String limits and extra checks
   * live here rather than in get(), so that get() can also serve tools that
   * display values without judging them.
   */
  validate(): void {
    for (const spec of PARAM_TABLE) {
      if (!spec.global) continue;
      if (spec.type === 'bool') this.getBool(spec.name);
      else if (spec.type === 'int') this.getInt(spec.name);
      else if (spec.type === 'time') this.getTime(spec.name);
      else this.checkString(spec);
    }
  }

  private checkString(spec: ParamSpec): void {
    const value = this.get(spec.name);
    checkStrLength(spec.name, value, spec.min, spec.max);
    const fatal = spec.check?.(spec.name, value, this.context);
    if (fatal !== undefined) throw new ConfigError(fatal);
  }
}

function typed(name: string, type: ParamSpec['type']): ParamSpec {
  const spec = paramSpec(name);
  if (spec.type !== type) throw new Error(`parameter ${name} is ${spec.type}, not ${type}`);
  return spec;
}

/**
 * Loads `<dir>/main.cf` and returns the merged, typed view. Throws
 * ConfigError for anything Postfix treats as fatal at this point (missing
 * main.cf, a line without `=`, a bad value when validating); warnings such as
 * duplicate entries go to msg.warn.
 */
export function loadMailConfig(opts: LoadOptions = {}): MailConfig {
  const env = opts.env ?? process.env;
  const configDir = opts.configDir ?? env.MAIL_CONFIG ?? DEFAULT_CONFIG_DIR;
  const processName = opts.processName ?? basename(process.argv[1] ?? process.argv0);

  // Postfix puts these in its table before reading main.cf; changing them there draws a warning.
  const preset = new Map([
    ['config_directory', configDir],
    ['process_name', processName],
  ]);
  const mainCf = readMainCf(`${configDir}/main.cf`, preset);
  for (const warning of mainCf.warnings) msg.warn(warning);

  const settings = new Map<string, string>();
  for (const [name, entry] of mainCf.entries) settings.set(name, entry.value);
  for (const [name, value] of opts.overrides ?? []) settings.set(name, value);

  const readOnly = new Map([
    ['process_name', processName],
    ['service_name', opts.serviceName ?? ''],
    ['process_id', String(opts.processId ?? process.pid)],
  ]);
  const validate = opts.validate ?? true;
  const config = new LoadedConfig(configDir, settings, readOnly, opts.hostname ?? osHostname, validate);
  if (validate) config.validate();
  return config;
}
