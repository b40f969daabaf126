/*
 * Typed parameter parsing (spec-config.md §3.1, §3.2), compatibility levels
 * (§2.5), valid_hostname, and the consistency of the parameter table.
 */
import test from 'ava';
import {
  PARAMS,
  PARAM_TABLE,
  checkStrLength,
  convTime,
  paramSpec,
  parseBoolValue,
  parseIntValue,
  parseTimeValue,
  splitList,
  validHostname,
  type TimeUnit,
} from '../../src/config/params.js';
import { compatLevelFromString } from '../../src/config/compat-level.js';
import { ConfigError } from '../../src/config/errors.js';

// §3.2: value, default unit -> seconds (undefined = conv_time() rejects it).
const timeVectors: Array<[string, TimeUnit, number | undefined]> = [
  ['12', 'h', 43200],
  ['12', 'd', 1036800],
  ['12', 's', 12],
  ['12h', 'h', 43200],
  ['12hours', 'h', 43200],
  [' 12h', 'h', 43200],
  ['012', 'h', 43200],
  ['12h # comment', 'h', 43200],
  ['7', 'd', 604800],
  ['7d', 'd', 604800],
  ['1w', 'd', 604800],
  ['12s', 'h', 12],
  ['30m', 'h', 1800],
  ['+5', 'h', 18000],
  ['0', 'h', 0],
  ['-1', 'h', undefined],
  ['', 'h', undefined],
  ['x', 'h', undefined],
  ['12x', 'h', undefined],
  ['12 h', 'h', undefined],
  ['0x10', 'h', undefined],
  ['1.5h', 'h', undefined],
  ['h', 'h', 0],
  ['s', 'h', 0],
  ['3549w', 'h', 3549 * 604800],
  ['3550w', 'h', undefined],
  ['24854d', 'h', 24854 * 86400],
  ['24855d', 'h', undefined],
  ['596522h', 'h', 596522 * 3600],
  ['596523h', 'h', undefined],
  ['35791393m', 'h', 35791393 * 60],
  ['35791394m', 'h', undefined],
  ['2147483647s', 'h', 2147483647],
  ['2147483647', 's', 2147483647],
  ['2147483647', 'h', undefined],
  ['2147483648', 's', undefined],
  ['2147483648s', 'h', undefined],
];

for (const [value, unit, seconds] of timeVectors) {
  test(`conv_time ${JSON.stringify(value)} (unit ${unit}) -> ${seconds ?? 'ERROR'}`, (t) => {
    t.is(convTime(value, unit), seconds);
  });
}

const timeMessages: Array<[string, string, TimeUnit, number, number, number | string]> = [
  ['fast_flush_refresh_time', '0', 'h', 1, 0, 'invalid fast_flush_refresh_time: 0 (min 1)'],
  ['fast_flush_refresh_time', 'h', 'h', 1, 0, 'invalid fast_flush_refresh_time: 0 (min 1)'],
  ['fast_flush_purge_time', '2x', 'd', 1, 0, 'parameter fast_flush_purge_time: bad time value or unit: 2x'],
  ['fast_flush_purge_time', '2', 'd', 1, 0, 172800],
  ['fast_flush_refresh_time', '3', 'h', 1, 0, 10800],
  ['ipc_timeout', '12 h', 's', 1, 0, 'parameter ipc_timeout: bad time value or unit: 12 h'],
  ['in_flow_delay', '11', 's', 0, 10, 'invalid in_flow_delay: 11 (max 10)'],
  ['in_flow_delay', '1m', 's', 0, 10, 'invalid in_flow_delay: 60 (max 10)'],
  ['in_flow_delay', '0', 's', 0, 10, 0],
];

for (const [name, value, unit, min, max, expected] of timeMessages) {
  test(`time parameter ${name} = ${value} -> ${expected}`, (t) => {
    if (typeof expected === 'number') {
      t.is(parseTimeValue(name, value, unit, min, max), expected);
    } else {
      t.is(t.throws(() => parseTimeValue(name, value, unit, min, max), { instanceOf: ConfigError })?.message, expected);
    }
  });
}

// §3.1 int vectors (max_use: min 1).
const intVectors: Array<[string, number | string]> = [
  ['10', 10],
  ['+7', 7],
  ['010', 10],
  ['1e3', 'bad numerical configuration: max_use = 1e3'],
  ['', 'bad numerical configuration: max_use = '],
  ['2147483648', 'bad numerical configuration: max_use = 2147483648'],
  ['-2147483649', 'bad numerical configuration: max_use = -2147483649'],
  ['99999999999999999999', 'bad numerical configuration: max_use = 99999999999999999999'],
  ['0x10', 'bad numerical configuration: max_use = 0x10'],
  ['0', 'invalid max_use parameter value 0 < 1'],
  ['-5', 'invalid max_use parameter value -5 < 1'],
];

for (const [value, expected] of intVectors) {
  test(`int max_use = ${JSON.stringify(value)} -> ${expected}`, (t) => {
    if (typeof expected === 'number') {
      t.is(parseIntValue('max_use', value, 1, 0), expected);
    } else {
      t.is(t.throws(() => parseIntValue('max_use', value, 1, 0), { instanceOf: ConfigError })?.message, expected);
    }
  });
}

test('int: upper limit message', (t) => {
  t.is(t.throws(() => parseIntValue('x', '11', 1, 10))?.message, 'invalid x parameter value 11 > 10');
  t.is(parseIntValue('dont_remove', '-1'), -1);
});

const boolVectors: Array<[string, boolean | undefined]> = [
  ['yes', true],
  ['YES', true],
  ['No', false],
  ['no', false],
  ['true', undefined],
  ['1', undefined],
  ['', undefined],
];

for (const [value, expected] of boolVectors) {
  test(`bool ${JSON.stringify(value)} -> ${expected ?? 'ERROR'}`, (t) => {
    if (expected === undefined) {
      const err = t.throws(() => parseBoolValue('b', value), { instanceOf: ConfigError });
      t.is(err?.message, `bad boolean configuration: b = ${value}`);
    } else {
      t.is(parseBoolValue('b', value), expected);
    }
  });
}

test('str: length limits count bytes', (t) => {
  t.is(t.throws(() => checkStrLength('hash_queue_names', '', 1))?.message, 'bad string length 0 < 1: hash_queue_names = ');
  t.is(t.throws(() => checkStrLength('x', 'ééé', 0, 5))?.message, 'bad string length 6 > 5: x = ééé');
  t.notThrows(() => checkStrLength('x', 'abc', 1, 3));
});

test('list: split on commas and whitespace, empty items dropped', (t) => {
  t.deepEqual(splitList(' a.example,b.example\t\r\n c ,, d'), ['a.example', 'b.example', 'c', 'd']);
  t.deepEqual(splitList(''), []);
});

// §2.5 compatibility levels.
const validLevels: Array<[string, bigint]> = [
  ['0', 0n],
  ['1', 1n << 20n],
  ['2', 2n << 20n],
  ['3.1023', (3n << 20n) | (1023n << 10n)],
  ['3.2.1023', (3n << 20n) | (2n << 10n) | 1023n],
  ['3.10', (3n << 20n) | (10n << 10n)],
  [' +3', 3n << 20n],
];

for (const [text, level] of validLevels) {
  test(`compatibility level ${JSON.stringify(text)} is valid`, (t) => {
    t.is(compatLevelFromString(text), level);
  });
}

for (const text of ['3.2.1.0', '3a.2.1', '3.', '3.2.', '3.1024', '-3', '3.-2.1', '', 'x']) {
  test(`compatibility level ${JSON.stringify(text)} is malformed`, (t) => {
    t.is(compatLevelFromString(text), undefined);
  });
}

test('compatibility levels order numerically per part', (t) => {
  const level = (s: string): bigint => compatLevelFromString(s) as bigint;
  t.true(level('3.10') > level('3.9'));
  t.is(level('3'), level('3.0'));
  t.is(level('3.0'), level('3.0.0'));
});

const hostnames: Array<[string, string | undefined]> = [
  ['vm.localdomain', undefined],
  ['a_b.example', undefined],
  ['x-1.example', undefined],
  ['', 'valid_hostname: empty hostname'],
  ['foo..bar', 'valid_hostname: misplaced delimiter: foo..bar'],
  ['a.b.', 'valid_hostname: misplaced delimiter: a.b.'],
  ['a-.b', 'valid_hostname: misplaced hyphen: a-.b'],
  ['vm.-a.b', 'valid_hostname: misplaced hyphen: vm.-a.b'],
  ['a.b-', 'valid_hostname: misplaced hyphen: a.b-'],
  ['123', 'valid_hostname: numeric hostname: 123'],
  ['1.2.3.4', 'valid_hostname: numeric hostname: 1.2.3.4'],
  ['a b', 'valid_hostname: invalid character 32(decimal): a b'],
  ['ä.example', 'valid_hostname: invalid character 195(decimal): ä.example'],
  [`${'a'.repeat(64)}.example`, `valid_hostname: hostname label too long: ${'a'.repeat(64)}.example`],
  [Array(64).fill('abc').join('.'), undefined],
  [Array(65).fill('abc').join('.'), `valid_hostname: bad length 259 for ${Array(65).fill('abc').join('.').slice(0, 100)}...`],
];

for (const [name, gripe] of hostnames) {
  test(`valid_hostname ${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}... (${name.length} bytes)` : name)}`, (t) => {
    t.is(validHostname(name), gripe);
  });
}

test('table: names are unique and lookups find every row', (t) => {
  t.is(PARAMS.size, PARAM_TABLE.length);
  for (const spec of PARAM_TABLE) t.is(paramSpec(spec.name), spec);
  t.throws(() => paramSpec('no_such_parameter'), { message: 'unknown parameter: no_such_parameter' });
});

test('table: time units come from the default (fast_flush_refresh_time h, fast_flush_purge_time d, others s)', (t) => {
  t.is(paramSpec('fast_flush_refresh_time').unit, 'h');
  t.is(paramSpec('fast_flush_purge_time').unit, 'd');
  for (const name of ['daemon_timeout', 'ipc_timeout', 'max_idle', 'service_throttle_time']) t.is(paramSpec(name).unit, 's');
  for (const spec of PARAM_TABLE) {
    if (spec.type === 'time') t.is(spec.unit as string | undefined, /[a-z]/.exec(spec.default)?.[0], spec.name);
    else t.is(spec.unit, undefined, spec.name);
  }
});

test('table: literal defaults of typed rows parse and pass their own limits', (t) => {
  for (const spec of PARAM_TABLE) {
    if (spec.default.includes('$') || spec.readOnly) continue;
    if (spec.type === 'int') t.notThrows(() => parseIntValue(spec.name, spec.default, spec.min, spec.max), spec.name);
    if (spec.type === 'bool') t.notThrows(() => parseBoolValue(spec.name, spec.default), spec.name);
    if (spec.type === 'time') {
      t.notThrows(() => parseTimeValue(spec.name, spec.default, spec.unit as TimeUnit, spec.min, spec.max), spec.name);
    }
  }
});

test('table: spec-protocol-master §3.10 parameters are all present', (t) => {
  const names = [
    'fast_flush_domains', 'relay_domains', 'mydestination', 'parent_domain_matches_subdomains',
    'fast_flush_refresh_time', 'fast_flush_purge_time', 'queue_directory', 'hash_queue_names', 'hash_queue_depth',
    'enable_long_queue_ids', 'queue_service_name', 'trigger_timeout', 'ipc_timeout', 'daemon_timeout', 'max_idle',
    'max_use', 'mail_owner', 'smtputf8_enable', 'enable_idna2003_compatibility', 'daemon_table_open_error_is_fatal',
    'syslog_facility', 'syslog_name', 'maillog_file', 'maillog_file_prefixes', 'postlog_service_name', 'myhostname',
    'compatibility_level', 'config_directory', 'process_name', 'process_id', 'service_name',
  ];
  for (const name of names) t.true(PARAMS.has(name), name);
});

// spec-protocol-master §3.10 / spec-config §3.3 defaults, as postconf -d prints them.
const defaults: Array<[string, string]> = [
  ['fast_flush_domains', '$relay_domains'],
  ['relay_domains', '${{$compatibility_level} <level {2} ? {$mydestination} : {}}'],
  ['mydestination', '$myhostname, localhost.$mydomain, localhost'],
  ['smtputf8_enable', '${{$compatibility_level} <level {1} ? {no} : {yes}}'],
  ['syslog_name', '${multi_instance_name?{$multi_instance_name}:{postfix}}'],
  ['fast_flush_refresh_time', '12h'],
  ['fast_flush_purge_time', '7d'],
  ['hash_queue_names', 'deferred, defer'],
  ['queue_directory', '/var/spool/postfix'],
  ['daemon_timeout', '18000s'],
  ['ipc_timeout', '3600s'],
  ['max_idle', '100s'],
  ['max_use', '100'],
  ['trigger_timeout', '10s'],
  ['compatibility_level', '0'],
  ['config_directory', '/etc/postfix'],
  ['import_environment', 'MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME'],
  ['mail_version', '3.7.11'],
];

for (const [name, value] of defaults) {
  test(`default ${name} = ${value}`, (t) => {
    t.is(paramSpec(name).default, value);
  });
}
