/*
 * Differential tests against the installed Postfix: for a corpus of main.cf
 * files, every parameter of our table must expand as `postconf -c DIR -x -h`
 * expands it, every default must read as `postconf -d` prints it, syntax and
 * expansion errors must carry Postfix's text, and (as root, where the flush
 * daemon can run stand-alone) start-up checks must stop on the same fatal
 * message as Postfix's own flush(8).
 *
 * Without /usr/sbin/postconf (or root for the flush cases) the tests are not
 * registered, unless REQUIRE_POSTFIX=1, in which case they fail (requirements.ts).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, MacroError, loadMailConfig, type LoadOptions } from '../../src/config/load.js';
import { PARAM_TABLE } from '../../src/config/params.js';
import { msg } from '../../src/util/msg.js';
import { gatedTests } from '../helpers/requirements.js';

const POSTCONF = '/usr/sbin/postconf';

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/*
 * A Postfix program that dies sleeps a second first, so runs are made
 * concurrently, a few at a time.
 */
const MAX_RUNNING = 8;
let running = 0;
const waiting: Array<() => void> = [];

async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, keepStdout = true): Promise<RunResult> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      const child = spawn(command, args, { env, stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Every directory these tests create lives under one temporary root. */
const scratch = mkdtempSync(join(tmpdir(), 'ff-pcdiff-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A config directory with main.cf and an empty master.cf. The old mtime keeps
 * Postfix from treating main.cf as "just written" and re-reading it (which
 * also drops config_directory, spec-config.md §1.3).
 */
function confDir(text: string): string {
  const dir = mkdtempSync(join(scratch, 'd'));
  writeFileSync(join(dir, 'main.cf'), text);
  writeFileSync(join(dir, 'master.cf'), '');
  const old = new Date('1971-01-01T00:00:00Z');
  utimesSync(join(dir, 'main.cf'), old, old);
  return dir;
}

/** postconf prints values with every run of whitespace collapsed to one space. */
function normalize(value: string): string {
  return value.split(/[ \t\r\n]+/).filter((w) => w !== '').join(' ');
}

/** postconf's warnings and fatal text, without the program name and the noise about unused names. */
function diagnostics(stderr: string): { warnings: string[]; fatal: string | undefined } {
  const warnings = new Set<string>();
  let fatal: string | undefined;
  for (const line of stderr.split('\n')) {
    const m = /^(?:\S*\/)?postconf: (warning|fatal): (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'fatal') fatal = m[2];
    else if (!/: (unused|undefined) parameter: /.test(m[2])) warnings.add(sanitized(m[2]));
  }
  return { warnings: [...warnings], fatal };
}

/*
 * Postfix's log sanitizer turns each byte of a non-ASCII character into '?',
 * msg.ts turns the whole character into one '?': compare with runs collapsed.
 */
function sanitized(text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, '?').replace(/\?+/g, '?');
}

/** Our side: the value, or the fatal text plus distinct warnings, as postconf would print them. */
function ours(load: () => { get(name: string): string }, name: string): { value?: string; warnings: string[]; fatal?: string } {
  const warnings = new Set<string>();
  const remove = msg.addSink((severity, text) => {
    if (severity === 'warning') warnings.add(sanitized(text));
  });
  try {
    return { value: normalize(load().get(name)), warnings: [...warnings] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // postconf words a macro failure without the dictionary name.
    return { warnings: [...warnings], fatal: err instanceof MacroError ? err.message : err.message.replace(/^dictionary mail_dict: /, '') };
  } finally {
    remove();
  }
}

// process_id is postconf's own PID; everything else must match.
const COMPARED = PARAM_TABLE.filter((p) => p.name !== 'process_id' && !p.fastflushOnly).map((p) => p.name);

const corpus: Array<[string, string, Array<[string, string]>?]> = [
  ['empty main.cf', ''],
  ['compatibility_level 0', 'compatibility_level = 0\n'],
  ['compatibility_level 1', 'compatibility_level = 1\n'],
  ['compatibility_level 2', 'compatibility_level = 2\n'],
  ['compatibility_level 3.6', 'compatibility_level = 3.6\n'],
  ['compatibility_level 3.7', 'compatibility_level = 3.7\n'],
  ['compatibility_level 3.10', 'compatibility_level = 3.10\n'],
  ['mydestination list', 'mydestination = a.example, b.example\n'],
  ['relay_domains empty', 'relay_domains =\n'],
  ['explicit fast_flush_domains', 'fast_flush_domains = $mydestination, extra.example\nmydestination = x.example\n'],
  ['myhostname with subdomains', 'myhostname = a.b.c.example\n'],
  ['single-label myhostname', 'myhostname = single\n'],
  ['mydomain only', 'mydomain = example.com\n'],
  ['mydomain refers to myhostname', 'mydomain = $myhostname.x\n'],
  ['multi-instance name', 'multi_instance_name = postfix-b\n'],
  ['config_directory assigned', 'config_directory = /elsewhere\n'],
  ['read-only assignments', 'process_name = x\nservice_name = y\n'],
  ['continuations, comments, CRLF and duplicates',
    '# header\nmydestination = a.example,\n   b.example\n# c\n\n  c.example   \r\nmax_use = 1\nmax_use = 2\n'
    + 'hash_queue_names = deferred,\tdefer, flush\nimport_environment = MAIL_CONFIG\n  TZ\n'],
  ['user parameters referenced from known ones', 'smtpd_banner = $my_a\nmy_a = ${my_b?{$my_b}:none}\nmy_b = $$literal\n'
    + 'mydestination = $my_a, $smtpd_banner\n'],
  ['-o overrides', 'relay_domains = main.example\nmax_use = 5\n',
    [['relay_domains', 'over.example'], ['max_use', '6'], ['max_use', '7'], ['fast_flush_domains', '$relay_domains,$max_use']]],
];

const vectors = [
  '$a', '$a-beta', '${b}/$(a)', '${a?yes}', '${e?yes}', '${a:no}', '${e:no}', '${u:undefined}', '${a?{X}:{Y}}',
  '${e?{X}:{Y}}', '${a?X:Y}', '${e ? {X} : {Y}}', '${a?$b:$c}', '${a?{$b}:{$c}}', '${a?{ X }}', '${a ? X }',
  '${e:{ Y }}z', '$$a', '$${a}', '$ab$a.x', '${a}b', '$u|', '${ a }', '$(a?(x))', '${a?{${e:{nested}}}}',
  '${{$a} == {alpha}}', '${{$a} == {beta}}', '${{$a}=={alpha}?{T}:{F}}', '${{$a} != {beta} ? {ne} : {eq}}',
  '${{10} < {9}}', '${{10} < {9x}}', '${{007} == {7}}', '${{ 2} == {2}}', '${{3.10} <level {3.9}}',
  '${{3.10} < {3.9}}', '${{a}<{b}}${{b}<{a}}', '${{$e} == {}}', '${{$compatibility_level} <level {2} ? {old} : {new}}',
  '${domain_to_ascii{ exämple.com }}', '${{}==""}', '$', 'a$-b', '${a', '${}', '$(a', '$(na me1)',
  '${{$a} ? {x} : {y} }', '${{text}}', '${{text} = {}}', '${{xx}==(yy)?{oops}:{phew}}', '${u:{${a}}:{${u}}}',
  '${u?{${a}}?{${u}}}', '${{${a?bug:test}} != {bug:test}?{Error: NOT}:{Good:}} Postfix 2.11 compatible',
  '${{${a??bug}} != {?bug}?{Error: NOT}:{Good:}} Postfix 2.11 compatible',
  '${{${u::bug}} != {:bug}?{Error: NOT}:{Good:}} Postfix 2.11 compatible',
  '${{$u} != {} ? {x} : name 2 undefined, |$a|}', '${{$a} != {}?x{x}}', '${{$a} >=blah {bar}}',
  '${{3.10} <=level {3.10}}', '${{3.1} ==level {3.1.0}}', '${{3.} <level {3}}', '${{ +3} <level {4}}',
  '${foo{x}}', '$bogus{AB}', '${{99999999999999999999} == {1}}', '${{10} <= {10}}${{10} >= {9}}${{9} > {10}}',
  '${a?{X} junk}', '${u:{X} junk}', '${ a ? {X} : Y }', '${a  }', '${a?}', '${e:}', '${a-b}', '$(a?{x)',
  '${{a}=={b}x}', '${{a}==b{b}}', '${?x}${ }y', '$c', '$loop', '$v1',
];

/** Expansion-vector context: spec-config.md §2.9 plus a self-reference and a 100-long chain. */
function vectorMainCf(vector: string): string {
  let text = 'a = alpha\nb = $a-beta\nc = ${b}/$(a)\ne =\nloop = x$loop\n';
  for (let i = 1; i < 100; i++) text += `v${i} = $v${i + 1}\n`;
  return `${text}v100 = end\nsmtpd_banner = ${vector}\n`;
}

const mainCfErrors = [
  'foo bar\n',
  'x=1\n\n= bar\n',
  'my param = bar\n',
  'a = 1\n  2\n\n  x\nmy param \n  = bar\n',
  ' abcde\nfoo = 1\nfoo = 1\nfoo=2\nmydestination = $foo\n',
];

// Start-up fatals as Postfix 3.7's flush -S reports them (run as root only).
const startupCases = [
  'max_use = 0', 'max_use = 1e3', 'max_use =', 'max_use = 2147483648', 'max_use = -5', 'max_use = +7',
  'line_length_limit = 511', 'default_process_limit = 0', 'hash_queue_depth = 0', 'debug_peer_level = 0',
  'hash_queue_names =', 'queue_service_name =', 'syslog_name =', 'mail_owner =', 'myorigin =', 'myorigin = a b',
  'daemon_table_open_error_is_fatal = true', 'smtputf8_enable = maybe', 'enable_long_queue_ids = 1',
  'ipc_timeout = 12 h', 'ipc_timeout = h', 'ipc_timeout = -1', 'max_idle = 0', 'in_flow_delay = 11',
  'in_flow_delay = 1m', 'fast_flush_refresh_time = 0', 'fast_flush_purge_time = 2x', 'fast_flush_refresh_time = 596523h',
  'compatibility_level = 3.', 'compatibility_level = 3.1024', 'syslog_facility = bogus', 'syslog_facility = MAIL',
  'myhostname = foo..bar', 'myhostname = 123', 'mydomain = a.b.', 'myhostname = host.example\nrelayhost = HOST.Example',
  'x = $x\nmax_use = $x', 'max_use = ${x', 'relay_domains = ${{1} == {', 'compatibility_level = 3.7\nmax_use = 9',
];

const withPostconf = gatedTests({
  what: 'postconf(1)',
  missing: () => (existsSync(POSTCONF) ? null : `${POSTCONF} is not installed`),
});

const loadOptions = (dir: string, overrides?: Array<[string, string]>): LoadOptions => ({
  configDir: dir,
  processName: 'postconf',
  validate: false,
  overrides,
});

for (const [title, text, overrides] of corpus) {
  withPostconf.test(`postconf -x: ${title}`, async (t) => {
    const dir = confDir(text);
    const args = ['-c', dir, '-x', '-h'];
    for (const [name, value] of overrides ?? []) args.push('-o', `${name}=${value}`);
    const result = await run(POSTCONF, [...args, ...COMPARED]);
    t.is(result.code, 0, result.stderr);
    const values = result.stdout.split('\n');
    const config = loadMailConfig(loadOptions(dir, overrides));
    COMPARED.forEach((name, i) => t.is(normalize(config.get(name)), values[i], name));
  });
}

withPostconf.test('postconf -d: every default in the table', async (t) => {
  const result = await run(POSTCONF, ['-d', '-h', ...COMPARED]);
  t.is(result.code, 0, result.stderr);
  const values = result.stdout.split('\n');
  const computed = loadMailConfig({ configDir: confDir(''), validate: false, processName: 'postconf' });
  PARAM_TABLE.filter((p) => p.name !== 'process_id' && !p.fastflushOnly).forEach((spec, i) => {
    const expected = spec.compute !== undefined || spec.readOnly ? computed.get(spec.name) : spec.default;
    t.is(normalize(expected), values[i], spec.name);
  });
});

for (const vector of vectors) {
  withPostconf.test(`postconf -x vector ${JSON.stringify(vector)}`, async (t) => {
    const dir = confDir(vectorMainCf(vector));
    const result = await run(POSTCONF, ['-c', dir, '-x', '-h', 'smtpd_banner']);
    const theirs = diagnostics(result.stderr);
    const mine = ours(() => loadMailConfig(loadOptions(dir)), 'smtpd_banner');
    if (result.code === 0) {
      t.is(mine.value, result.stdout.replace(/\n$/, ''));
      t.is(mine.fatal, undefined);
    } else {
      t.is(mine.fatal, theirs.fatal);
      t.deepEqual(mine.warnings.sort(), theirs.warnings.sort());
    }
  });
}

for (const text of mainCfErrors) {
  withPostconf.test(`postconf main.cf reading ${JSON.stringify(text)}`, async (t) => {
    const dir = confDir(text);
    const result = await run(POSTCONF, ['-c', dir, '-x', '-h', 'mydestination']);
    const theirs = diagnostics(result.stderr);
    const mine = ours(() => loadMailConfig(loadOptions(dir)), 'mydestination');
    t.is(mine.fatal, theirs.fatal);
    t.deepEqual(mine.warnings, theirs.warnings);
    if (result.code === 0) t.is(mine.value, result.stdout.replace(/\n$/, ''));
  });
}

const daemonDirectory = '/usr/lib/postfix/sbin';
const withFlush = gatedTests({
  what: "Postfix's flush(8), run as root",
  missing: () => {
    if (!existsSync(`${daemonDirectory}/flush`)) return `${daemonDirectory}/flush is not installed`;
    return process.getuid?.() === 0 ? null : 'not running as root';
  },
});
for (const line of startupCases) {
  withFlush.test(`flush(8) start-up checks: ${JSON.stringify(line)}`, async (t) => {
    const queue = mkdtempSync(join(scratch, 'q'));
    mkdirSync(join(queue, 'flush'));
    const dir = confDir(`queue_directory = ${queue}\n${line}\n`);
    // flush -S keeps waiting when its stdout is a pipe; /dev/null lets it finish.
    const result = await run(`${daemonDirectory}/flush`, ['-S', '-V'], { MAIL_CONFIG: dir, PATH: process.env.PATH }, false);
    const theirs = /postfix\/flush: fatal: (.*)/.exec(result.stderr)?.[1];
    let mine: string | undefined;
    try {
      const config = loadMailConfig({ configDir: dir, processName: 'flush' });
      config.getTime('fast_flush_refresh_time');
      config.getTime('fast_flush_purge_time');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      mine = err.message;
    }
    t.is(mine, theirs);
  });
}
