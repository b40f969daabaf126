/*
 * loadMailConfig: where main.cf comes from, -o precedence (spec-config.md
 * §1.4, §1.5), read-only parameters, compatibility-level defaults (§3.3,
 * §3.4), computed host names, typed getters, and the start-up checks of
 * mail_params_init().
 */
import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, MacroError, expandValue, loadMailConfig, parseMainCf, splitNameValue, type LoadOptions } from '../../src/config/load.js';
import { msg } from '../../src/util/msg.js';

/** Every directory these tests create lives under one temporary root. */
const scratch = mkdtempSync(join(tmpdir(), 'ff-load-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/** A config directory holding `text` as main.cf. */
function confDir(text: string): string {
  const dir = mkdtempSync(join(scratch, 'd'));
  writeFileSync(join(dir, 'main.cf'), text);
  return dir;
}

/** Loads with the host name fixed to "vm", as in the spec's captures. */
function load(text: string, opts: LoadOptions = {}): ReturnType<typeof loadMailConfig> {
  return loadMailConfig({ configDir: confDir(text), hostname: () => 'vm', processName: 'flush', ...opts });
}

/** Runs fn and returns the warnings it logged. */
function warningsOf(fn: () => void): string[] {
  const seen: string[] = [];
  const remove = msg.addSink((severity, text) => {
    if (severity === 'warning') seen.push(text);
  });
  try {
    fn();
  } finally {
    remove();
  }
  return seen;
}

function fatalOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return undefined;
}

test('re-exports the grammar and expansion entry points for the postconf tool', (t) => {
  t.is(typeof parseMainCf, 'function');
  t.deepEqual(splitNameValue('a = b'), { name: 'a', value: 'b' });
  t.is(expandValue('$x', () => 'y'), 'y');
  t.true(new MacroError([]) instanceof ConfigError);
});

test('config directory: the option wins over MAIL_CONFIG', (t) => {
  const dir = confDir('max_use = 7\n');
  const other = confDir('max_use = 8\n');
  t.is(loadMailConfig({ configDir: dir, env: { MAIL_CONFIG: other } }).getInt('max_use'), 7);
  const config = loadMailConfig({ env: { MAIL_CONFIG: other } });
  t.is(config.getInt('max_use'), 8);
  t.is(config.configDir, other);
});

test('config directory: /etc/postfix without option or MAIL_CONFIG', (t) => {
  if (existsSync('/etc/postfix/main.cf')) {
    t.is(loadMailConfig({ env: {}, validate: false }).configDir, '/etc/postfix');
  } else {
    t.is(fatalOf(() => loadMailConfig({ env: {} })), 'open /etc/postfix/main.cf: No such file or directory');
  }
});

test('a missing main.cf is fatal', (t) => {
  const dir = mkdtempSync(join(scratch, 'd'));
  t.is(fatalOf(() => loadMailConfig({ configDir: dir })), `open ${dir}/main.cf: No such file or directory`);
});

test('a bad line is fatal and the error names file and line', (t) => {
  const dir = confDir('a = 1\nfoo bar\n');
  const err = t.throws(() => loadMailConfig({ configDir: dir }), { instanceOf: ConfigError });
  t.is(err?.message, `${dir}/main.cf, line 2: missing '=' after attribute name: "foo bar"`);
  t.is(err?.file, `${dir}/main.cf`);
  t.is(err?.line, 2);
});

test('main.cf warnings are logged through msg.warn', (t) => {
  let dir = '';
  const warnings = warningsOf(() => {
    dir = confDir(' bad\nfoo = 1\nfoo = 2\nprocess_name = x\nconfig_directory = /y\n');
    loadMailConfig({ configDir: dir, processName: 'postqueue', hostname: () => 'vm' });
  });
  t.deepEqual(warnings, [
    `${dir}/main.cf: logical line must not start with whitespace: " bad"`,
    `${dir}/main.cf, line 3: overriding earlier entry: foo=1`,
    `${dir}/main.cf, line 4: overriding earlier entry: process_name=postqueue`,
    `${dir}/main.cf, line 5: overriding earlier entry: config_directory=${dir}`,
  ]);
});

test('config_directory: the directory used, unless main.cf assigns it (then $config_directory follows main.cf)', (t) => {
  const plain = load('x = 1\n');
  t.is(plain.get('config_directory'), plain.configDir);
  t.false(plain.isSet('config_directory'));
  const assigned = load('config_directory = /elsewhere\nsmtpd_banner = $config_directory\n');
  t.is(assigned.get('config_directory'), '/elsewhere');
  t.is(assigned.get('smtpd_banner'), '/elsewhere');
  t.not(assigned.configDir, '/elsewhere');
});

// §3.3: flush-relevant values after expansion, host "vm", main.cf holds only compatibility_level.
const levelVectors: Array<[string | undefined, string, string]> = [
  [undefined, 'vm.localdomain, localhost.localdomain, localhost', 'no'],
  ['0', 'vm.localdomain, localhost.localdomain, localhost', 'no'],
  ['1', 'vm.localdomain, localhost.localdomain, localhost', 'yes'],
  ['2', '', 'yes'],
  ['3.6', '', 'yes'],
  ['3.11', '', 'yes'],
  ['3.12', '', 'yes'],
];

for (const [level, domains, utf8] of levelVectors) {
  test(`compatibility_level ${level ?? 'unset'}: relay_domains, fast_flush_domains, smtputf8_enable`, (t) => {
    const config = load(level === undefined ? '' : `compatibility_level = ${level}\n`);
    t.is(config.get('relay_domains'), domains);
    t.is(config.get('fast_flush_domains'), domains);
    t.is(config.get('smtputf8_enable'), utf8);
    t.is(config.getBool('smtputf8_enable'), utf8 === 'yes');
  });
}

test('compatibility_level: other level-dependent defaults', (t) => {
  t.is(load('').get('mynetworks_style'), 'subnet');
  t.is(load('compatibility_level = 2\n').get('mynetworks_style'), 'host');
  t.false(load('compatibility_level = 3.5\n').getBool('respectful_logging'));
  t.true(load('compatibility_level = 3.6\n').getBool('respectful_logging'));
});

test('mydestination feeds relay_domains and fast_flush_domains at level 0', (t) => {
  const config = load('mydestination = a.example, b.example\n');
  t.is(config.get('relay_domains'), 'a.example, b.example');
  t.is(config.get('fast_flush_domains'), 'a.example, b.example');
  t.deepEqual(config.getList('fast_flush_domains'), ['a.example', 'b.example']);
});

test('relay_domains set to empty empties fast_flush_domains at any level', (t) => {
  const config = load('relay_domains =\n');
  t.is(config.get('fast_flush_domains'), '');
  t.deepEqual(config.getList('fast_flush_domains'), []);
  t.true(config.isSet('relay_domains'));
  t.false(config.isSet('fast_flush_domains'));
});

test('-o relay_domains=... reaches fast_flush_domains', (t) => {
  const config = load('', { overrides: [['relay_domains', 'foo.example']] });
  t.is(config.get('fast_flush_domains'), 'foo.example');
  t.true(config.isSet('relay_domains'));
});

test('-o: later overrides win over earlier ones and over main.cf; values may refer to main.cf', (t) => {
  const config = load('max_use = 5\nbase = 40\n', {
    overrides: [['max_use', '6'], ['max_use', '${base}7'], ['max_idle', '$base']],
  });
  t.is(config.getInt('max_use'), 407);
  t.is(config.getTime('max_idle'), 40);
});

test('a main.cf value sees an -o override of the parameter it refers to', (t) => {
  const config = load('smtpd_banner = [$relay_domains]\n', { overrides: [['relay_domains', 'x.example']] });
  t.is(config.get('smtpd_banner'), '[x.example]');
});

test('read-only parameters ignore main.cf and -o', (t) => {
  const config = load('process_name = x\nservice_name = y\nprocess_id = 5\n', {
    overrides: [['process_name', 'z'], ['service_name', 'w']],
    processName: 'flush',
    serviceName: 'flush-svc',
    processId: 4242,
  });
  t.is(config.get('process_name'), 'flush');
  t.is(config.get('service_name'), 'flush-svc');
  t.is(config.getInt('process_id'), 4242);
  t.false(config.isSet('process_name'));
});

test('read-only parameter defaults: service_name empty, process_id this process', (t) => {
  const config = load('');
  t.is(config.get('service_name'), '');
  t.is(config.getInt('process_id'), process.pid);
});

test('typed getters apply units and defaults', (t) => {
  const config = load('fast_flush_refresh_time = 3\nfast_flush_purge_time = 2\n');
  t.is(config.getTime('fast_flush_refresh_time'), 10800);
  t.is(config.getTime('fast_flush_purge_time'), 172800);
  const defaults = load('');
  t.is(defaults.getTime('fast_flush_refresh_time'), 43200);
  t.is(defaults.getTime('fast_flush_purge_time'), 604800);
  t.is(defaults.getTime('ipc_timeout'), 3600);
  t.is(defaults.getTime('daemon_timeout'), 18000);
  t.is(defaults.getInt('max_use'), 100);
  t.is(defaults.getInt('hash_queue_depth'), 1);
  t.deepEqual(defaults.getList('hash_queue_names'), ['deferred', 'defer']);
  t.false(defaults.getBool('daemon_table_open_error_is_fatal'));
  t.is(defaults.get('queue_service_name'), 'qmgr');
  t.is(defaults.get('syslog_name'), 'postfix');
  t.is(load('multi_instance_name = postfix-b\n').get('syslog_name'), 'postfix-b');
});

test('user-defined names can be read once main.cf sets them; unknown names are programming errors', (t) => {
  const config = load('my_own = $max_use\n');
  t.is(config.get('my_own'), '100');
  t.throws(() => config.get('not_a_parameter'), { message: 'unknown parameter: not_a_parameter' });
  t.throws(() => config.getInt('my_own'), { message: 'unknown parameter: my_own' });
  t.throws(() => config.getTime('max_use'), { message: 'parameter max_use is int, not time' });
});

test('myhostname/mydomain: computed from the host name', (t) => {
  const plain = load('');
  t.is(plain.get('myhostname'), 'vm.localdomain');
  t.is(plain.get('mydomain'), 'localdomain');
  t.is(plain.get('mydestination'), 'vm.localdomain, localhost.localdomain, localhost');
  t.is(plain.get('myorigin'), 'vm.localdomain');
  t.is(load('mydomain = example.com\n').get('myhostname'), 'vm.example.com');
  t.is(load('', { hostname: () => 'host.example.net' }).get('mydomain'), 'example.net');
});

test('myhostname/mydomain: main.cf values', (t) => {
  const deep = load('myhostname = a.b.c.example\n');
  t.is(deep.get('mydomain'), 'b.c.example');
  t.is(deep.get('mydestination'), 'a.b.c.example, localhost.b.c.example, localhost');
  const single = load('myhostname = single\n');
  t.is(single.get('mydomain'), 'localdomain');
});

test('myhostname/mydomain: a cycle through the computed default sees an empty myhostname (as postconf 3.7)', (t) => {
  const config = load('mydomain = $myhostname.x\nsmtpd_banner = $myhostname|$mydomain\n', { validate: false });
  t.is(config.get('smtpd_banner'), 'vm..x|vm..x.x');
  t.is(config.get('myhostname'), 'vm..x');
  t.is(config.get('mydomain'), 'vm..x.x');
  // Both are bad host names, which the start-up check (like mail_params_init) rejects.
  const dir = confDir('mydomain = $myhostname.x\n');
  t.is(fatalOf(() => loadMailConfig({ configDir: dir, hostname: () => 'vm' })),
    `file ${dir}/main.cf: parameter myhostname: bad parameter value: vm..x`);
});

test('an unusable system host name is fatal', (t) => {
  let message: string | undefined;
  const warnings = warningsOf(() => {
    message = fatalOf(() => load('', { hostname: () => 'bad..name' }));
  });
  t.is(message, 'unable to use my own hostname');
  t.deepEqual(warnings, ['valid_hostname: misplaced delimiter: bad..name']);
});

// mail_params_init() checks, as Postfix 3.7's flush reports them (the directory varies).
const startupFatals: Array<[string, string]> = [
  ['max_use = 0', 'invalid max_use parameter value 0 < 1'],
  ['max_use = 1e3', 'bad numerical configuration: max_use = 1e3'],
  ['max_use = $x', 'bad numerical configuration: max_use = '],
  ['line_length_limit = 100', 'invalid line_length_limit parameter value 100 < 512'],
  ['default_process_limit = 0', 'invalid default_process_limit parameter value 0 < 1'],
  ['hash_queue_names =', 'bad string length 0 < 1: hash_queue_names = '],
  ['queue_service_name = $x', 'bad string length 0 < 1: queue_service_name = '],
  ['daemon_table_open_error_is_fatal = true', 'bad boolean configuration: daemon_table_open_error_is_fatal = true'],
  ['smtputf8_enable = maybe', 'bad boolean configuration: smtputf8_enable = maybe'],
  ['ipc_timeout = 12 h', 'parameter ipc_timeout: bad time value or unit: 12 h'],
  ['ipc_timeout = h', 'invalid ipc_timeout: 0 (min 1)'],
  ['in_flow_delay = 11', 'invalid in_flow_delay: 11 (max 10)'],
  ['compatibility_level = 3.', 'malformed compatibility level syntax: "3."'],
  ['compatibility_level =', 'malformed compatibility level syntax: ""'],
  ['myorigin = a,b', 'myorigin parameter setting must not contain multiple values: a,b'],
  ['relayhost = VM.localdomain', 'myhostname and relayhost parameter settings must not be identical: vm.localdomain'],
  ['x = $x\nmax_use = $x', 'dictionary mail_dict: macro processing error'],
];

for (const [text, fatal] of startupFatals) {
  test(`start-up check: ${JSON.stringify(text)} -> ${fatal}`, (t) => {
    t.is(fatalOf(() => load(`${text}\n`)), fatal);
  });
}

test('start-up check: messages that name the configuration file', (t) => {
  const dir = confDir('syslog_facility = bogus\n');
  t.is(fatalOf(() => loadMailConfig({ configDir: dir, hostname: () => 'vm' })),
    `file ${dir}/main.cf: parameter syslog_facility: unrecognized value: bogus`);
  const dir2 = confDir('myhostname = foo..bar\n');
  let message: string | undefined;
  const warnings = warningsOf(() => {
    message = fatalOf(() => loadMailConfig({ configDir: dir2, hostname: () => 'vm' }));
  });
  t.is(message, `file ${dir2}/main.cf: parameter myhostname: bad parameter value: foo..bar`);
  t.deepEqual(warnings, ['valid_hostname: misplaced delimiter: foo..bar']);
});

test('start-up check: a macro error logs the specific warning first', (t) => {
  const warnings = warningsOf(() => {
    t.is(fatalOf(() => load('x = $x\nmax_use = $x\n')), 'dictionary mail_dict: macro processing error');
  });
  t.deepEqual(warnings, ['unreasonable macro call nesting: "x"']);
});

test('start-up check: only the first problem is reported, in mail_params_init order', (t) => {
  t.is(fatalOf(() => load('max_use = 0\ncompatibility_level = 3.\n')), 'malformed compatibility level syntax: "3."');
});

test('start-up check: skipped with validate: false; typed getters still check, get() does not', (t) => {
  const config = load('max_use = 0\nqueue_service_name =\n', { validate: false });
  t.is(fatalOf(() => config.getInt('max_use')), 'invalid max_use parameter value 0 < 1');
  t.is(config.get('queue_service_name'), '');
});

test('trailing whitespace is gone before a number is parsed (max_use = "10 ")', (t) => {
  t.is(load('max_use = 10 \n').getInt('max_use'), 10);
});

test('accepted values Postfix 3.7 also accepts', (t) => {
  const config = load('max_use = +7\nmax_idle = 12hours\ndont_remove = -1\nin_flow_delay = 0\nrelayhost = a,b\n'
    + 'syslog_facility = local7\ncompatibility_level = 99\n');
  t.is(config.getInt('max_use'), 7);
  t.is(config.getTime('max_idle'), 43200);
  t.is(config.getInt('dont_remove'), -1);
});

test('references follow the daemon read order: a parameter not read yet is undefined', (t) => {
  // A Postfix daemon reads max_use before max_idle, so there $max_idle is still undefined.
  t.is(fatalOf(() => load('max_use = $max_idle\n')), 'bad numerical configuration: max_use = ');
  // relay_domains is read (its evaluated default, empty at level 3.6, joins the table) before
  // fast_flush_domains, so "?" sees it empty; postconf -x sees its non-empty raw default.
  const text = 'compatibility_level = 3.6\nfast_flush_domains = ${relay_domains?{$relay_domains}:{fallback.test}}\n'
    + 'mydestination = ${parent_domain_matches_subdomains?{later}:{not yet}}\n';
  t.is(load(text).get('fast_flush_domains'), 'fallback.test');
  t.is(load(text).get('mydestination'), 'not yet');
  const postconf = loadMailConfig({ configDir: confDir(text), hostname: () => 'vm', validate: false });
  t.is(postconf.get('fast_flush_domains'), '');
  t.is(postconf.get('mydestination'), 'later');
});

test('values are expanded once and cached', (t) => {
  const config = load('smtpd_banner = $myhostname ESMTP\n');
  t.is(config.get('smtpd_banner'), 'vm.localdomain ESMTP');
  t.is(config.get('smtpd_banner'), config.get('smtpd_banner'));
});

test('fastflush_compact_on_refresh: fastflush only, a boolean, off unless main.cf or -o turns it on', (t) => {
  t.is(load('').getBool('fastflush_compact_on_refresh'), false);
  t.is(load('fastflush_compact_on_refresh = yes\n').getBool('fastflush_compact_on_refresh'), true);
  t.is(load('', { overrides: [['fastflush_compact_on_refresh', 'yes']] }).getBool('fastflush_compact_on_refresh'), true);
  t.throws(() => load('fastflush_compact_on_refresh = maybe\n').getBool('fastflush_compact_on_refresh'), {
    message: 'bad boolean configuration: fastflush_compact_on_refresh = maybe',
  });
});
