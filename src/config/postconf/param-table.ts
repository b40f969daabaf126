/*
 * param-table.ts - what postconf knows while it displays parameters: the
 * main.cf settings (plus -o overrides), the master.cf entries with their
 * per-service `-o` name spaces, and the table of known parameter names
 * (built-in, service-defined from master.cf command names, and valid
 * user-defined names), with the lookup and `$name` expansion rules of
 * postconf_lookup.c and the warnings of postconf_user.c/postconf_unused.c.
 *
 * Postfix 3.7 walks its hash tables in a random order (the hash is seeded
 * per process), so the order of "undefined parameter", "read-only parameter"
 * and "unused parameter" warnings changes from run to run there. Here every
 * table is walked in byte order of the name, and master.cf entries in file
 * order.
 *
 * Exports: ParamClass, ParamNode, MasterService, Lookup, PostconfTables.
 */
import { hostname } from 'node:os';
import { expandValue, MacroError } from '../expand.js';
import { ConfigError } from '../errors.js';
import { PARAMS, type ComputeContext } from '../params.js';
import { BUILTIN_DEFAULTS, RAW_PARAMETERS, READ_ONLY_PARAMETERS } from './builtin-3.7.js';
import { PostconfFatal, type Warn } from './diag.js';
import { FIELD_COMMAND, optionParams } from './master-entry.js';
import { computeMynetworks, localAddresses } from './mynetworks.js';
import { scanMacroNames } from './scan.js';

export type ParamClass = 'builtin' | 'service' | 'user';

export interface ParamNode {
  cls: ParamClass;
  readonly raw: boolean;
  readonly readOnly: boolean;
  /** The built-in default (user-defined names: empty). */
  readonly defaultValue: () => string;
}

export interface MasterService {
  readonly argv: string[];
  /** "service/type" as first parsed; names the entry in -P output. */
  readonly nameSpace: string;
  /** The entry's `-o` settings; undefined when it has none. */
  readonly params: Map<string, string> | undefined;
  /** User-defined names that are valid in this entry's name space. */
  readonly valid: Set<string>;
}

/** Which values a lookup may return: -d (defaults only), -n (settings only). */
export interface Lookup {
  readonly defaults: boolean;
  readonly settingsOnly: boolean;
}

const ALL_VALUES: Lookup = { defaults: false, settingsOnly: false };

/*
 * Service-defined parameters: a master.cf entry whose command is one of
 * these delivery programs gets "<service><suffix>" parameters whose default
 * is "$<global parameter>".
 */
const TRANSPORT_SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ['_delivery_slot_cost', 'default_delivery_slot_cost'],
  ['_delivery_slot_discount', 'default_delivery_slot_discount'],
  ['_delivery_slot_loan', 'default_delivery_slot_loan'],
  ['_destination_concurrency_failed_cohort_limit', 'default_destination_concurrency_failed_cohort_limit'],
  ['_destination_concurrency_limit', 'default_destination_concurrency_limit'],
  ['_destination_concurrency_negative_feedback', 'default_destination_concurrency_negative_feedback'],
  ['_destination_concurrency_positive_feedback', 'default_destination_concurrency_positive_feedback'],
  ['_destination_rate_delay', 'default_destination_rate_delay'],
  ['_destination_recipient_limit', 'default_destination_recipient_limit'],
  ['_extra_recipient_limit', 'default_extra_recipient_limit'],
  ['_initial_destination_concurrency', 'initial_destination_concurrency'],
  ['_minimum_delivery_slots', 'default_minimum_delivery_slots'],
  ['_recipient_limit', 'default_recipient_limit'],
  ['_recipient_refill_delay', 'default_recipient_refill_delay'],
  ['_recipient_refill_limit', 'default_recipient_refill_limit'],
  ['_transport_rate_delay', 'default_transport_rate_delay'],
];
const TIME_LIMIT: readonly [string, string] = ['_time_limit', 'command_time_limit'];
const SERVICE_PROGRAMS: ReadonlyMap<string, ReadonlyArray<readonly [string, string]>> = new Map([
  ['local', TRANSPORT_SUFFIXES],
  ['error', TRANSPORT_SUFFIXES],
  ['virtual', TRANSPORT_SUFFIXES],
  ['smtp', TRANSPORT_SUFFIXES],
  ['lmtp', TRANSPORT_SUFFIXES],
  ['pipe', [TIME_LIMIT, ...TRANSPORT_SUFFIXES]],
  ['spawn', [TIME_LIMIT]],
]);

/**
 * Within a master.cf entry, process_name is the command's base name and
 * service_name the entry's service name, as the daemon would see them.
 */
function readOnlyInScope(name: string, scope: MasterService): string | undefined {
  if (name === 'process_name') return scope.argv[FIELD_COMMAND].replace(/^.*\//, '');
  if (name === 'service_name') return scope.argv[0];
  return undefined;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedKeys(map: ReadonlyMap<string, unknown>): string[] {
  return [...map.keys()].sort(byteOrder);
}

export class PostconfTables {
  readonly nodes = new Map<string, ParamNode>();
  private readonly cache = new Map<string, string>();

  /**
   * @param configDir the directory as given (-c, MAIL_CONFIG or the default)
   * @param main main.cf settings with -o overrides, in a mutable map
   * @param services master.cf entries in file order
   */
  constructor(
    readonly configDir: string,
    readonly main: Map<string, string>,
    readonly services: MasterService[],
    private readonly warn: Warn,
  ) {}

  /** A master.cf entry as the tables keep it. */
  static service(argv: string[]): MasterService {
    return { argv, nameSpace: `${argv[0]}/${argv[1]}`, params: optionParams(argv), valid: new Set() };
  }

  registerBuiltins(): void {
    for (const [name, value] of BUILTIN_DEFAULTS) {
      this.nodes.set(name, {
        cls: 'builtin',
        raw: RAW_PARAMETERS.has(name),
        readOnly: READ_ONLY_PARAMETERS.has(name),
        defaultValue: () => value,
      });
    }
    const computed: ReadonlyArray<readonly [string, () => string]> = [
      ['myhostname', () => this.computeOnce('myhostname', () => this.hostnameDefault())],
      ['mydomain', () => this.computeOnce('mydomain', () => this.compute('mydomain'))],
      ['mynetworks', () => this.computeOnce('mynetworks', () => this.mynetworksDefault())],
      ['process_id', () => String(process.pid)],
      ['process_name', () => 'postconf'],
    ];
    for (const [name, defaultValue] of computed) {
      this.nodes.set(name, { cls: 'builtin', raw: false, readOnly: READ_ONLY_PARAMETERS.has(name), defaultValue });
    }
  }

  registerServiceParams(): void {
    for (const service of this.services) {
      const suffixes = SERVICE_PROGRAMS.get(service.argv[FIELD_COMMAND]);
      if (suffixes === undefined) continue;
      for (const [suffix, global] of suffixes) {
        const name = service.argv[0] + suffix;
        const node = this.nodes.get(name);
        // A built-in with its own default (local_destination_recipient_limit) only changes class.
        if (node !== undefined) node.cls = 'service';
        else this.nodes.set(name, { cls: 'service', raw: false, readOnly: false, defaultValue: () => `$${global}` });
      }
    }
  }

  /**
   * Finds the valid user-defined names and reports undefined, read-only and
   * (for known parameters) malformed settings: first the master.cf name
   * spaces, then the defaults left in effect, then main.cf.
   */
  registerUserParams(): void {
    const restrictionClasses = new Set<string>();
    for (const service of this.services) {
      if (service.params !== undefined) this.scanNameSpace(service.params, service, restrictionClasses);
    }
    for (const name of sortedKeys(this.nodes)) {
      const node = this.nodes.get(name) as ParamNode;
      if (node.raw || this.main.has(name)) continue;
      // Defaults may name legacy parameters; those are never "undefined".
      scanMacroNames(node.defaultValue(), (ref) => this.flagUser(ref, undefined, false), this.warn);
    }
    this.scanNameSpace(this.main, undefined, restrictionClasses);
  }

  private scanNameSpace(params: Map<string, string>, scope: MasterService | undefined, restrictionClasses: Set<string>): void {
    const source = scope ? 'master.cf' : 'main.cf';
    const classes = params.get('smtpd_restriction_classes');
    if (classes !== undefined) {
      // Evaluated within this name space only, as dict_eval() does.
      const expanded = this.evalInDict(classes, params);
      for (const name of expanded.split(/[, \t\r\n]+/)) {
        if (name === '') continue;
        if (scope === undefined) restrictionClasses.add(name);
        this.flagUser(name, scope, true);
      }
    }
    for (const name of sortedKeys(params)) {
      const value = params.get(name) as string;
      if (scope !== undefined && restrictionClasses.has(name)) scope.valid.add(name);
      const node = this.nodes.get(name);
      if (node?.readOnly) {
        this.warn(`${this.configDir}/${source}: read-only parameter assignment: ${name}=${value}`);
        params.delete(name);
        continue;
      }
      if (node?.raw) continue;
      scanMacroNames(value, (ref) => this.flagUser(ref, scope, true), this.warn);
      // Postfix 3.7 also expands the setting of every known parameter here, so
      // a malformed value is fatal even when nobody asked for -x.
      if (node !== undefined && node.cls !== 'user') this.expand(value, ALL_VALUES, scope);
    }
  }

  /** A `$name` reference validates a user-defined name that has a setting. */
  private flagUser(name: string, scope: MasterService | undefined, warnUndefined: boolean): void {
    let supplied = false;
    if (scope?.params?.has(name)) {
      supplied = true;
      scope.valid.add(name);
    } else if (this.main.has(name)) {
      supplied = true;
      if (!this.nodes.has(name)) this.nodes.set(name, { cls: 'user', raw: false, readOnly: false, defaultValue: () => '' });
    }
    if (scope === undefined) {
      for (const service of this.services) {
        if (service.params?.has(name)) {
          supplied = true;
          service.valid.add(name);
        }
      }
    }
    if (!supplied && warnUndefined && !this.nodes.has(name)) {
      this.warn(`${this.configDir}/${scope ? 'master.cf' : 'main.cf'}: undefined parameter: ${name}`);
    }
  }

  /**
   * pcf_lookup_parameter_value: the entry's own process_name and
   * service_name, its -o settings, then main.cf, then the built-in default.
   */
  lookup(name: string, how: Lookup, scope?: MasterService): string | undefined {
    if (!how.defaults) {
      const value = (scope && readOnlyInScope(name, scope)) ?? scope?.params?.get(name) ?? this.main.get(name);
      if (value !== undefined || how.settingsOnly) return value;
    }
    return this.nodes.get(name)?.defaultValue();
  }

  /** Recursive `$name` expansion as postconf -x does it (defaults always visible unless -d). */
  expand(value: string, how: Lookup, scope?: MasterService): string {
    const within: Lookup = { defaults: how.defaults, settingsOnly: false };
    try {
      return expandValue(value, (name) => this.lookup(name, within, scope), this.warn);
    } catch (err) {
      if (err instanceof MacroError) throw new PostconfFatal('macro processing error');
      if (err instanceof ConfigError) throw new PostconfFatal(err.message);
      throw err;
    }
  }

  /** dict_eval() over one name space: other names of that space only, no defaults. */
  private evalInDict(value: string, params: ReadonlyMap<string, string>): string {
    try {
      return expandValue(value, (name) => params.get(name), this.warn);
    } catch (err) {
      if (err instanceof ConfigError) throw new PostconfFatal(`dictionary mail_dict: ${err.message}`);
      throw err;
    }
  }

  /** mail_conf_lookup_eval(): the expanded main.cf setting, or undefined. */
  private setting(name: string): string | undefined {
    const value = this.main.get(name);
    return value === undefined ? undefined : this.evalInDict(value, this.main);
  }

  private computeOnce(name: string, compute: () => string): string {
    let value = this.cache.get(name);
    if (value === undefined) {
      value = compute();
      this.cache.set(name, value);
    }
    return value;
  }

  /** The run-time defaults shared with the daemon side (params.ts). */
  private compute(name: 'myhostname' | 'mydomain'): string {
    const ctx: ComputeContext = {
      configDir: this.configDir,
      warn: this.warn,
      // mydomain's default looks at the configured (or computed) myhostname.
      get: (other) => this.setting(other) ?? this.hostnameDefault(),
      hostname: () => hostname(),
      setting: (other) => this.setting(other),
    };
    const spec = PARAMS.get(name);
    if (spec?.compute === undefined) throw new Error(`no computed default for ${name}`);
    try {
      return spec.compute(ctx);
    } catch (err) {
      if (err instanceof ConfigError) throw new PostconfFatal(err.message);
      throw err;
    }
  }

  private hostnameDefault(): string {
    return this.computeOnce('myhostname', () => this.compute('myhostname'));
  }

  private mynetworksDefault(): string {
    const value = (name: string): string => this.expand(this.lookup(name, ALL_VALUES) ?? '', ALL_VALUES);
    return computeMynetworks(value('mynetworks_style'), value('inet_protocols'), value('inet_interfaces'), localAddresses());
  }

  /** "unused parameter" warnings for main.cf settings with unknown names. */
  flagUnusedMain(): void {
    for (const name of sortedKeys(this.main)) {
      if (!this.nodes.has(name)) this.warn(`${this.configDir}/main.cf: unused parameter: ${name}=${this.main.get(name)}`);
    }
  }

  /** The same for master.cf `-o` settings. */
  flagUnusedMaster(): void {
    for (const service of this.services) {
      if (service.params === undefined) continue;
      for (const name of sortedKeys(service.params)) {
        if (!this.nodes.has(name) && !service.valid.has(name)) {
          this.warn(`${this.configDir}/master.cf: unused parameter: ${name}=${service.params.get(name)}`);
        }
      }
    }
  }
}
