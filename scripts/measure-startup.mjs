// measure-startup.mjs - how much a flush daemon start costs next to bare Node.
//
// master(8) starts a new daemon every max_use connections, so the time from
// exec to the first reply and the memory of an idle daemon matter. Measured,
// in alternating rounds (bare, daemon, bare, daemon, ...) so that a busy
// machine slows both alike, reported as medians:
//   bare node    wall time of `node -e 0` from spawn to exit; its maximum RSS
//                (from /usr/bin/time, when installed); the RSS of an idle
//                `node -e` that waits on a timer
//   the daemon   `bin/flush -S` with one `add` request written at once: time
//                from spawn to the complete status reply; and, with stdin held
//                open and nothing sent, VmRSS and VmHWM from /proc after it
//                settled (what a daemon waiting for its first client holds)
// Every process runs with master's near-empty environment: the daemon gets
// only MAIL_CONFIG (naming a throw-away main.cf whose queue directory is a
// throw-away tree, removed afterwards), bare node nothing at all; variables
// such as NODE_EXTRA_CA_CERTS would otherwise slow every start alike.
//
//   node scripts/measure-startup.mjs [--rounds N] [--rss-rounds N] [--settle MS]
//                                    [--daemon PROGRAM] [--json]
//
// --daemon runs another launcher (an older bin/flush, say) in place of this
// repository's bin/flush. Exports measureStartup(options) for bench/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_FLUSH = fileURLToPath(new URL('../bin/flush', import.meta.url));
const TIME = '/usr/bin/time';
const SITE = 'example.test';
const REPLY = /status\0[^\0]*\0\0/;

/**
 * @typedef {object} StartupOptions
 * @property {number} [rounds]     start-time rounds (default 15)
 * @property {number} [rssRounds]  idle-RSS rounds, each waits settleMs (default 3)
 * @property {number} [settleMs]   how long an idle process runs before its RSS is read (default 1000)
 * @property {string} [daemon]     the launcher master would run (default: this repository's bin/flush)
 * @property {string} [node]       the node binary for the bare runs (default: this one)
 *
 * @typedef {object} StartupResult
 * @property {{ startMs: number, maxRssKiB: number | null, idleRssKiB: number }} bare
 * @property {{ firstReplyMs: number, idleRssKiB: number, idleHwmKiB: number }} daemon
 * @property {{ start: number, idleRss: number }} ratio  daemon / bare
 * @property {number} rounds
 * @property {number} rssRounds
 */

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function elapsedMs(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A request as Postfix's clients send it (attr0): an `add` with a fresh queue id. */
function addRequest(queueId) {
  return Buffer.from(`request\0add\0site\0${SITE}\0queue_id\0${queueId}\0\0`, 'latin1');
}

/** etc/main.cf and a queue directory with what an `add` needs. */
function makeInstance() {
  const root = mkdtempSync(join(tmpdir(), 'measure-startup-'));
  const spool = join(root, 'spool');
  for (const dir of ['etc', 'spool/flush', 'spool/public', 'spool/pid']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'etc/main.cf'), `queue_directory = ${spool}\nfast_flush_domains = ${SITE}\n`);
  return { root, configDir: join(root, 'etc') };
}

function bareStart(node) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(node, ['-e', '0'], { env: {}, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(elapsedMs(start)));
  });
}

/** Maximum RSS of `node -e 0` in KiB, as /usr/bin/time reports it. */
function bareMaxRss(node, root) {
  const out = join(root, 'time.out');
  return new Promise((resolve, reject) => {
    const child = spawn(TIME, ['-f', '%M', '-o', out, node, '-e', '0'], { env: {}, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(Number(readFileSync(out, 'latin1').trim())));
  });
}

function daemonFirstReply(daemon, configDir, queueId) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(daemon, ['-S'], { env: { MAIL_CONFIG: configDir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    let replyMs;
    child.stdin.on('error', () => {});
    child.stdin.end(addRequest(queueId));
    child.stdout.on('data', (data) => {
      output += data.toString('latin1');
      if (replyMs === undefined && REPLY.test(output)) replyMs = elapsedMs(start);
    });
    child.stderr.on('data', (data) => { stderr += data; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (replyMs !== undefined && output.endsWith('status\x000\0\0')) resolve(replyMs);
      else reject(new Error(`${daemon} -S: exit status ${code}, reply ${JSON.stringify(output)}: ${stderr}`));
    });
  });
}

function statusKiB(status, field) {
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+) kB/.exec(line ?? '')?.[1]);
}

/** Starts argv, waits settleMs, reads its /proc status, then ends it (it was started here, so by pid). */
function idleMemory(argv, options, settleMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { ...options, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data) => { stderr += data; });
    child.on('error', reject);
    const early = () => reject(new Error(`${argv.join(' ')} ended before it settled: ${stderr}`));
    child.on('exit', early);
    setTimeout(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'latin1');
        resolve({ rssKiB: statusKiB(status, 'VmRSS'), hwmKiB: statusKiB(status, 'VmHWM') });
      } catch (error) {
        reject(error);
      } finally {
        child.off('exit', early);
        child.kill();
      }
    }, settleMs);
  });
}

/**
 * @param {StartupOptions} [options]
 * @returns {Promise<StartupResult>}
 */
export async function measureStartup(options = {}) {
  const rounds = options.rounds ?? 15;
  const rssRounds = options.rssRounds ?? 3;
  const settleMs = options.settleMs ?? 1000;
  const daemon = options.daemon ?? REPO_FLUSH;
  const node = options.node ?? process.execPath;
  const instance = makeInstance();
  try {
    const bareMs = [];
    const replyMs = [];
    for (let round = 0; round < rounds; round++) {
      bareMs.push(await bareStart(node));
      replyMs.push(await daemonFirstReply(daemon, instance.configDir, `ABC${(round + 0x100).toString(16).toUpperCase()}`));
    }
    const bareMax = [];
    const bareIdle = [];
    const daemonIdle = [];
    const daemonHwm = [];
    const haveTime = existsSync(TIME);
    for (let round = 0; round < rssRounds; round++) {
      if (haveTime) bareMax.push(await bareMaxRss(node, instance.root));
      bareIdle.push((await idleMemory([node, '-e', 'setTimeout(() => {}, 2 ** 30)'], { env: {} }, settleMs)).rssKiB);
      const idle = await idleMemory([daemon, '-S'], { env: { MAIL_CONFIG: instance.configDir } }, settleMs);
      daemonIdle.push(idle.rssKiB);
      daemonHwm.push(idle.hwmKiB);
    }
    const bare = { startMs: median(bareMs), maxRssKiB: haveTime ? median(bareMax) : null, idleRssKiB: median(bareIdle) };
    const measured = { firstReplyMs: median(replyMs), idleRssKiB: median(daemonIdle), idleHwmKiB: median(daemonHwm) };
    return {
      bare,
      daemon: measured,
      ratio: { start: measured.firstReplyMs / bare.startMs, idleRss: measured.idleRssKiB / bare.idleRssKiB },
      rounds,
      rssRounds,
    };
  } finally {
    rmSync(instance.root, { recursive: true, force: true });
  }
}

function table(result) {
  const mib = (kib) => (kib === null ? '-' : (kib / 1024).toFixed(1));
  const rows = [
    ['', 'bare node', 'flush daemon', 'ratio'],
    ['start to exit / first reply (ms)', result.bare.startMs.toFixed(1), result.daemon.firstReplyMs.toFixed(1),
      result.ratio.start.toFixed(2)],
    ['idle RSS (MiB)', mib(result.bare.idleRssKiB), mib(result.daemon.idleRssKiB), result.ratio.idleRss.toFixed(2)],
    ['max RSS (MiB): node -e 0 / idle daemon', mib(result.bare.maxRssKiB), mib(result.daemon.idleHwmKiB), ''],
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column])
    : cell.padStart(widths[column]))).join('  '));
  return `${lines.join('\n')}\nmedians of ${result.rounds} start rounds and ${result.rssRounds} memory rounds\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      'rss-rounds': { type: 'string' },
      settle: { type: 'string' },
      daemon: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const number = (text) => (text === undefined ? undefined : Number(text));
  const result = await measureStartup({
    rounds: number(values.rounds),
    rssRounds: number(values['rss-rounds']),
    settleMs: number(values.settle),
    daemon: values.daemon,
  });
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : table(result));
}
