/*
 * show.ts - the display side of postconf: main.cf parameters (all, -n, -d,
 * or by name, with -h/-H/-x/-f), and master.cf as entries (-M), fields (-F)
 * or `-o` parameters (-P), each optionally filtered by patterns.
 *
 * Every function appends the output text to `out` (byte strings) and
 * reports through `warn`; fatal conditions are thrown.
 *
 * Exports: DisplayMode, Output, showParameters, showMasterEntries,
 * showMasterFields, showMasterParams.
 */
import { PostconfFatal, type Warn } from './diag.js';
import { formatLine } from './print-line.js';
import {
  FIELD_COMMAND,
  WILDCARD_FIELD,
  formatMasterEntry,
  formatMasterField,
  matchService,
  parseFieldName,
  parseServicePattern,
} from './master-entry.js';
import type { Lookup, MasterService, ParamClass, PostconfTables } from './param-table.js';

export interface DisplayMode {
  /** -d: defaults only. */
  readonly defaults: boolean;
  /** -n: settings only. */
  readonly settingsOnly: boolean;
  /** -f */
  readonly fold: boolean;
  /** -h */
  readonly hideName: boolean;
  /** -H */
  readonly hideValue: boolean;
  /** -x */
  readonly expand: boolean;
}

/** Collects stdout text. */
export interface Output {
  write(text: string): void;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function printParameter(out: Output, tables: PostconfTables, mode: DisplayMode, name: string): void {
  const lookup: Lookup = { defaults: mode.defaults, settingsOnly: mode.settingsOnly };
  let value = tables.lookup(name, lookup);
  if (value === undefined) return;
  if (mode.hideValue) {
    out.write(formatLine(name, mode.fold));
    return;
  }
  if (mode.expand && !tables.nodes.get(name)?.raw) value = tables.expand(value, lookup);
  out.write(formatLine(mode.hideName ? value : `${name} = ${value}`, mode.fold));
}

/** pcf_show_parameters: every known name in byte order, or the named ones in order. */
export function showParameters(
  out: Output,
  tables: PostconfTables,
  mode: DisplayMode,
  classes: ReadonlySet<ParamClass>,
  names: readonly string[],
  warn: Warn,
): void {
  if (names.length === 0) {
    for (const name of [...tables.nodes.keys()].sort(byteOrder)) {
      if (classes.has(tables.nodes.get(name)?.cls as ParamClass)) printParameter(out, tables, mode, name);
    }
    return;
  }
  for (const name of names) {
    if (tables.nodes.has(name)) printParameter(out, tables, mode, name);
    else warn(`${name}: unknown parameter`);
  }
}

interface Filter {
  readonly raw: string;
  readonly pattern: readonly string[];
  matches: number;
}

function parseFilters(args: readonly string[], max: number, usage: string): Filter[] {
  return args.map((raw) => {
    const pattern = parseServicePattern(raw, 1, max);
    if (pattern === null) throw new PostconfFatal(usage);
    return { raw, pattern, matches: 0 };
  });
}

function reportUnmatched(filters: readonly Filter[], warn: Warn): void {
  for (const filter of filters) {
    if (filter.matches === 0) warn(`unmatched request: "${filter.raw}"`);
  }
}

/** For -x: `-o` values expand within their own entry first. */
function valueMapper(tables: PostconfTables, mode: DisplayMode, service: MasterService): (value: string) => string {
  return mode.expand ? (value) => tables.expand(value, { defaults: false, settingsOnly: false }, service) : (value) => value;
}

/** -M [service[/type]...]: each entry once per matching pattern, in file order. */
export function showMasterEntries(out: Output, tables: PostconfTables, mode: DisplayMode, args: readonly string[], warn: Warn): void {
  const filters = parseFilters(args, 2, '-M option requires service_name[/type]');
  for (const service of tables.services) {
    const print = (): void => out.write(formatMasterEntry(service.argv, mode.fold, valueMapper(tables, mode, service)));
    if (filters.length === 0) print();
    for (const filter of filters) {
      if (!matchService(filter.pattern, service.argv[0], service.argv[1])) continue;
      filter.matches++;
      print();
    }
  }
  reportUnmatched(filters, warn);
}

/** -F [service[/type[/field]]...]: `service/type/field = value` lines. */
export function showMasterFields(out: Output, tables: PostconfTables, mode: DisplayMode, args: readonly string[], warn: Warn): void {
  const fields: number[] = [];
  const filters = args.map((arg) => {
    // Each pattern's field name is checked right after the pattern itself.
    const [filter] = parseFilters([arg], 3, '-F option requires service_name[/type[/field]]');
    fields.push(parseFieldName(filter.pattern[2]));
    return filter;
  });
  for (const service of tables.services) {
    const how = { fold: mode.fold, hideName: mode.hideName, hideValue: mode.hideValue, mapValue: valueMapper(tables, mode, service) };
    const print = (field: number): void => {
      const list = field === WILDCARD_FIELD ? [...Array(FIELD_COMMAND + 1).keys()] : [field];
      for (const f of list) out.write(formatMasterField(service.argv, f, how));
    };
    if (filters.length === 0) print(WILDCARD_FIELD);
    filters.forEach((filter, i) => {
      if (!matchService(filter.pattern, service.argv[0], service.argv[1])) return;
      filter.matches++;
      print(fields[i]);
    });
  }
  reportUnmatched(filters, warn);
}

function printMasterParam(out: Output, tables: PostconfTables, mode: DisplayMode, service: MasterService, name: string): void {
  if (mode.hideValue) {
    out.write(formatLine(`${service.nameSpace}/${name}`, mode.fold));
    return;
  }
  let value = service.params?.get(name) as string;
  if (mode.expand) value = tables.expand(value, { defaults: false, settingsOnly: false }, service);
  out.write(formatLine(mode.hideName ? value : `${service.nameSpace}/${name} = ${value}`, mode.fold));
}

/** -P [service[/type[/parameter]]...]: each entry's -o settings in byte order of the name. */
export function showMasterParams(out: Output, tables: PostconfTables, mode: DisplayMode, args: readonly string[], warn: Warn): void {
  const filters = parseFilters(args, 3, '-P option requires service_name[/type[/parameter]]');
  for (const service of tables.services) {
    const params = service.params;
    if (params === undefined) continue;
    const printAll = (): void => {
      for (const name of [...params.keys()].sort(byteOrder)) printMasterParam(out, tables, mode, service, name);
    };
    if (filters.length === 0) printAll();
    for (const filter of filters) {
      if (!matchService(filter.pattern, service.argv[0], service.argv[1])) continue;
      const param = filter.pattern[2];
      if (param === '*') {
        printAll();
        filter.matches++;
      } else if (params.has(param)) {
        printMasterParam(out, tables, mode, service, param);
        filter.matches++;
      }
    }
  }
  reportUnmatched(filters, warn);
}
