/*
 * postfix-instance.ts - a private, loopback-only Postfix instance for integration tests and
 * benchmarks (recipe: docs real-postfix.md §2). The flush service runs either Postfix's own C
 * daemon or fastflush (bin/flush, reached with master's relative-path trick). smtp-sink is the
 * next hop. Every instance this process starts is stopped on teardown, on exit and on
 * SIGINT/SIGTERM.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync,
  readFileSync, readlinkSync, realpathSync, rmSync, utimesSync, writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { repoRoot } from './paths.js';

export type FlushProgram = 'c' | 'fastflush';
export type SinkMode = 'defer' | 'accept';
export type QueueName = 'deferred' | 'incoming' | 'active';

export interface InstanceOptions {
  /** Which program master runs for the `flush` service (default 'c'). */
  flushProgram?: FlushProgram;
  /** master.cf wakeup column of the flush service (default '1000?'; '0' = never). */
  flushWakeup?: string;
  /** master.cf chroot column of the flush service (default 'n'; Debian's packaged master.cf has 'y'). */
  flushChroot?: string;
  /**
   * Give the instance its own daemon_directory, DIR/libexec, holding copies of Postfix's
   * programs, so that a test may install files there without touching the system's
   * (default false).
   */
  privateDaemonDirectory?: boolean;
  /** Extra arguments after the flush command, e.g. ['-o', 'max_use=100000']. */
  flushArgs?: string[];
  /** Extra or overriding main.cf parameters. */
  mainCf?: Record<string, string>;
  /** smtp-sink behaviour: 'defer' answers RCPT with 450, 'accept' delivers (default 'defer'). */
  sinkMode?: SinkMode;
  /** Lines appended to master.cf, e.g. a second flush service run by the other program. */
  extraMasterCf?: string;
}

export interface RawFlushOptions {
  /** Half-close our side after the write, so the server sees EOF (default false). */
  end?: boolean;
  /** Give up waiting for the server's close after this long (default 5000 ms). */
  timeoutMs?: number;
  /** The service socket under public/ (default "flush"). */
  service?: string;
  /**
   * A server that never announces (or a socket that cannot be reached) is a result, not an
   * error: resolve with whatever arrived, `closed` true for any connection error.
   */
  allowSilence?: boolean;
}

export interface RawFlushResult {
  /** What the server sent first (31 bytes from a healthy flush). */
  announcement: Buffer;
  /** Everything the server sent after the announcement. */
  reply: Buffer;
  /** The server closed the connection (EOF or reset) before the timeout. */
  closed: boolean;
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const ANNOUNCEMENT_LENGTH = 31;
const SENDER = 'sender@pfx.localdomain';

/* Where Debian's (or any) Postfix keeps its programs, asked of postconf once. */
interface PostfixPaths {
  postconf: string;
  daemonDirectory: string;
  commandDirectory: string;
  metaDirectory: string;
  shlibDirectory: string;
}

let cachedPaths: PostfixPaths | null | undefined;

function findPostconf(): string | null {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/bin']) {
    if (existsSync(join(dir, 'postconf'))) return join(dir, 'postconf');
  }
  return null;
}

function postfixPaths(): PostfixPaths | null {
  if (cachedPaths !== undefined) return cachedPaths;
  const postconf = findPostconf();
  cachedPaths = null;
  if (postconf !== null) {
    const r = spawnSync(postconf, ['-dh', 'daemon_directory', 'command_directory', 'meta_directory',
      'shlib_directory'], { encoding: 'utf8' });
    const lines = r.status === 0 ? r.stdout.trim().split('\n') : [];
    if (lines.length === 4) {
      const [daemonDirectory, commandDirectory, metaDirectory, shlibDirectory] = lines as
        [string, string, string, string];
      cachedPaths = { postconf, daemonDirectory, commandDirectory, metaDirectory, shlibDirectory };
    }
  }
  return cachedPaths;
}

/** null when a private instance can run here, else the reason it cannot. */
export function postfixUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root (private Postfix instances need root)';
  const paths = postfixPaths();
  if (paths === null) return 'postconf not found or not working (Postfix not installed)';
  const needed = [
    join(paths.daemonDirectory, 'master'), join(paths.daemonDirectory, 'flush'),
    ...['postfix', 'postqueue', 'sendmail', 'postlog', 'postkick', 'smtp-sink', 'smtp-source']
      .map((p) => join(paths.commandDirectory, p)),
  ];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  if (spawnSync('id', ['-u', 'postfix']).status !== 0) return 'no postfix user';
  if (spawnSync('ss', ['-V']).error !== undefined) return 'ss not found';
  return null;
}

/**
 * Start an instance whose stop is registered as the test's teardown; a failed test gets the
 * end of the maillog in its log.
 */
export async function startInstance(t: ExecutionContext, opts: InstanceOptions = {}): Promise<PostfixInstance> {
  const pf = await PostfixInstance.start(opts);
  t.teardown(() => {
    if (!t.passed) t.log(`maillog of ${pf.dir} (last 40 lines):\n${pf.maillog().split('\n').slice(-41).join('\n')}`);
    pf.stop();
  });
  return pf;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

type Falsy = null | undefined | false;

/** Poll `predicate` every 50 ms until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(predicate: () => T | Falsy | Promise<T | Falsy>, timeoutMs: number,
  what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The logfile name flush uses for an ASCII site: lowercase, non-alphanumerics become '_'. */
export function logfileName(site: string): string {
  return site.toLowerCase().replace(/[^a-z0-9]/g, '_');
}

/* ---- process-wide registry: stop everything we started, whatever happens ---- */

const live = new Set<PostfixInstance>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const pf of live) pf.stop();
  });
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      for (const pf of live) pf.stop();
      process.exit(code);
    });
  }
}

/* ---- small process utilities ---- */

function run(file: string, args: string[]): CommandResult {
  const r = spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const stderr = r.stderr ?? (r.error ? String(r.error) : '');
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr };
}

async function runAsync(file: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return await new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err) => { stderr += String(err); });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/* A zombie counts as gone: nobody may reap it while we block the event loop. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. */
function terminate(pid: number, graceMs: number): void {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) sleepSync(20);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function listening(port: number, pid?: number): boolean {
  const r = spawnSync('ss', pid === undefined ? ['-Hltn', `sport = :${port}`] : ['-Hltnp', `sport = :${port}`],
    { encoding: 'utf8' });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.includes(`127.0.0.1:${port}`));
  return pid === undefined ? lines.length > 0 : lines.some((l) => l.includes(`pid=${pid},`));
}

/* Ports below the kernel's ephemeral range, so outgoing connections never hold them. */
async function freePort(exclude: number[]): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (exclude.includes(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

function lookupId(flag: '-u' | '-g', name: string): number {
  return Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
}

/* ---- the instance ---- */

export class PostfixInstance {
  /** Base directory DIR (etc/, spool/, data/, log/, run/ below it). */
  readonly dir: string;
  readonly etcDir: string;
  readonly spoolDir: string;
  readonly maillogPath: string;
  readonly postfixUid: number;
  readonly postfixGid: number;
  private ports = { smtp: 0, sink: 0 };
  /** daemon_directory of the instance: Postfix's own, or DIR/libexec (privateDaemonDirectory). */
  readonly daemonDirectory: string;
  private opts: Required<InstanceOptions>;
  private readonly paths: PostfixPaths;
  private readonly base: string;
  private sink: ChildProcess | null = null;
  private masterPid: number | null = null;
  private stopped = false;

  private constructor(opts: InstanceOptions, paths: PostfixPaths) {
    this.paths = paths;
    this.opts = {
      flushProgram: opts.flushProgram ?? 'c',
      flushWakeup: opts.flushWakeup ?? '1000?',
      flushChroot: opts.flushChroot ?? 'n',
      privateDaemonDirectory: opts.privateDaemonDirectory ?? false,
      flushArgs: opts.flushArgs ?? [],
      mainCf: opts.mainCf ?? {},
      sinkMode: opts.sinkMode ?? 'defer',
      extraMasterCf: opts.extraMasterCf ?? '',
    };
    /* mkdtemp makes a 0700 directory; postfix must be able to search every parent (§2.2). */
    this.base = mkdtempSync(join(tmpdir(), 'fastflush-it-'));
    chmodSync(this.base, 0o755);
    this.dir = join(this.base, `pfx${basename(this.base).slice(-6)}`);
    this.etcDir = join(this.dir, 'etc');
    this.spoolDir = join(this.dir, 'spool');
    this.maillogPath = join(this.dir, 'log', 'maillog');
    this.postfixUid = lookupId('-u', 'postfix');
    this.postfixGid = lookupId('-g', 'postfix');
    for (const d of [this.dir, this.etcDir, this.spoolDir, join(this.dir, 'log'), join(this.dir, 'run')]) {
      mkdirSync(d, { mode: 0o755 });
      chmodSync(d, 0o755);
    }
    this.daemonDirectory = this.opts.privateDaemonDirectory ? this.copyDaemonDirectory() : paths.daemonDirectory;
  }

  /** Create the instance, start smtp-sink and Postfix, wait until flush and smtpd listen. */
  static async start(opts: InstanceOptions = {}): Promise<PostfixInstance> {
    const reason = postfixUnavailableReason();
    if (reason !== null) throw new Error(`cannot start a private Postfix instance: ${reason}`);
    const pf = new PostfixInstance(opts, postfixPaths() as PostfixPaths);
    live.add(pf);
    installExitHandlers();
    try {
      await pf.boot();
    } catch (err) {
      pf.stop();
      throw err;
    }
    return pf;
  }

  /** smtpd's port on 127.0.0.1. */
  get smtpPort(): number {
    return this.ports.smtp;
  }

  /** smtp-sink's port on 127.0.0.1 (the relayhost). */
  get sinkPort(): number {
    return this.ports.sink;
  }

  /** The program master currently runs for the flush service. */
  get flushProgram(): FlushProgram {
    return this.opts.flushProgram;
  }

  /** The master.cf command column for the flush service. */
  flushCommand(program: FlushProgram = this.flushProgram): string {
    if (program === 'c') return 'flush';
    /* master prepends "$daemon_directory/": climb out with one ".." per component (§2.5). */
    const up = realpathSync(this.daemonDirectory).split('/').filter(Boolean).map(() => '..').join('/');
    return `${up}${join(repoRoot, 'bin', 'flush')}`;
  }

  /** Stop Postfix, change the flush service, and start again (the queue and the sink stay). */
  async restart(changes: Pick<InstanceOptions, 'flushProgram' | 'flushWakeup' | 'flushArgs' | 'flushChroot'> = {}): Promise<void> {
    this.stopPostfix();
    this.opts = { ...this.opts, ...changes };
    this.writeMasterCf();
    await this.startPostfix();
  }

  /** Stop Postfix and start it again with main.cf and master.cf as they are now (e.g. edited by a test). */
  async restartAsIs(): Promise<void> {
    this.stopPostfix();
    await this.startPostfix();
  }

  /** `postfix reload`: master re-reads its configuration; running children get EOF on fd 5. */
  async reload(): Promise<void> {
    const r = await runAsync(this.cmd('postfix'), ['-c', this.etcDir, 'reload']);
    if (r.code !== 0) throw new Error(`postfix reload failed (${r.code}): ${r.stderr}`);
  }

  /** Restart smtp-sink in the given mode on the same port. */
  async setSinkMode(mode: SinkMode): Promise<void> {
    this.stopSink();
    this.opts.sinkMode = mode;
    await this.startSink();
  }

  /**
   * Stop everything this instance started and remove its directory (kept when
   * FASTFLUSH_KEEP_INSTANCE=1). Synchronous, idempotent, safe from an 'exit' handler.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.stopPostfix();
    } finally {
      this.stopSink();
      live.delete(this);
      if (process.env.FASTFLUSH_KEEP_INSTANCE !== '1') rmSync(this.base, { recursive: true, force: true });
    }
  }

  /* ---- observation helpers ---- */

  /** Absolute path of the flush logfile for `site`. */
  logfile(site: string): string {
    return join(this.spoolDir, 'flush', logfileName(site));
  }

  /** Queue ids in the lines of the logfile for `site` ([] when it does not exist). */
  logfileIds(site: string): string[] {
    const p = this.logfile(site);
    return existsSync(p) ? readFileSync(p, 'latin1').split('\n').filter((l) => l !== '') : [];
  }

  /** Queue ids currently in `queue` (hashed subdirectories included), sorted. */
  queueIds(queue: QueueName): string[] {
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else out.push(e.name);
      }
    };
    const root = join(this.spoolDir, queue);
    if (existsSync(root)) walk(root);
    return out.sort();
  }

  /** Path of a queue file, searched in `queue` and its hashed subdirectories; null if absent. */
  queueFile(queue: QueueName, id: string): string | null {
    const root = join(this.spoolDir, queue);
    for (const p of [join(root, id), join(root, id[0] ?? '', id)]) {
      if (existsSync(p)) return p;
    }
    return null;
  }

  /** The instance's maillog text ('' before postlogd wrote anything). */
  maillog(): string {
    return existsSync(this.maillogPath) ? readFileSync(this.maillogPath, 'utf8') : '';
  }

  /** How often qmgr took `id` into the active queue, per the maillog. */
  activations(id: string): number {
    const re = new RegExp(`qmgr\\[\\d+\\]: ${id}: from=<.*\\(queue active\\)$`, 'gm');
    return (this.maillog().match(re) ?? []).length;
  }

  /** Lines logged by flush processes (pid removed), e.g. "warning: missing attribute …". */
  flushLogLines(text = this.maillog()): string[] {
    return [...text.matchAll(/\/flush\[\d+\]: (.*)$/gm)].map((m) => m[1] as string);
  }

  /**
   * Write `text` through postlogd and wait until it is in the maillog. Every line a process
   * logged before this call is then in the maillog too (one datagram socket, one reader).
   */
  async logMarker(text: string): Promise<void> {
    const r = await runAsync(this.cmd('postlog'), ['-c', this.etcDir, '-t', 'fftest', text]);
    if (r.code !== 0) throw new Error(`postlog failed: ${r.stderr}`);
    await waitFor(() => this.maillog().includes(`]: ${text}\n`), 10_000, `log marker ${text}`);
  }

  /* ---- driving Postfix ---- */

  /** Submit `n` messages to `rcpt` through smtpd with smtp-source; resolves once they are queued. */
  async inject(n: number, rcpt: string): Promise<void> {
    const r = await runAsync(this.cmd('smtp-source'),
      ['-m', String(n), '-f', SENDER, '-t', rcpt, '-S', 'fastflush test', `127.0.0.1:${this.smtpPort}`]);
    if (r.code !== 0) throw new Error(`smtp-source failed (${r.code}): ${r.stderr}${r.stdout}`);
  }

  async postqueue(args: string[]): Promise<CommandResult> {
    return await runAsync(this.cmd('postqueue'), ['-c', this.etcDir, ...args]);
  }

  async sendmail(args: string[]): Promise<CommandResult> {
    return await runAsync(this.cmd('sendmail'), ['-C', this.etcDir, ...args]);
  }

  /** Send a trigger request to a public service, as `postkick -c DIR/etc public SERVICE REQUEST`. */
  async kick(service: string, request: string): Promise<void> {
    const r = await runAsync(this.cmd('postkick'), ['-c', this.etcDir, 'public', service, request]);
    /* postkick writes the request, then a NUL; qmgr may close after the first byte, and
       postkick does not ignore the SIGPIPE of the second write. The request got through. */
    if (r.code !== 0 && r.signal !== 'SIGPIPE') throw new Error(`postkick failed (${r.code ?? r.signal}): ${r.stderr}`);
  }

  /** One SMTP session: EHLO, ETRN site, QUIT. Returns the ETRN reply line. */
  async etrn(site: string): Promise<string> {
    const sock = net.connect(this.smtpPort, '127.0.0.1');
    sock.setEncoding('latin1');
    let buffered = '';
    let waiter: (() => void) | null = null;
    let failure: Error | null = null;
    sock.on('data', (d: string) => { buffered += d; waiter?.(); });
    sock.on('error', (err) => { failure = err; waiter?.(); });
    sock.on('close', () => { failure ??= new Error('connection closed'); waiter?.(); });
    /* A reply ends with a line whose fourth character is a space. */
    const reply = async (): Promise<string> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const m = /^(?:\d{3}-.*\r\n)*(\d{3} .*)\r\n/.exec(buffered);
        if (m) {
          buffered = buffered.slice(m[0].length);
          return m[1] as string;
        }
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error('SMTP reply timeout');
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 1000);
        });
        waiter = null;
      }
    };
    try {
      await reply();
      sock.write('EHLO client.localdomain\r\n');
      await reply();
      sock.write(`ETRN ${site}\r\n`);
      const answer = await reply();
      sock.write('QUIT\r\n');
      await reply();
      return answer;
    } finally {
      sock.destroy();
    }
  }

  /**
   * Raw client for public/flush: connect, read the announcement, write `bytes` in one write,
   * read until the server closes (or the timeout).
   */
  async rawFlush(bytes: Buffer, opts: RawFlushOptions = {}): Promise<RawFlushResult> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return await new Promise<RawFlushResult>((resolve, reject) => {
      const sock = net.connect(join(this.spoolDir, 'public', opts.service ?? 'flush'));
      let received = Buffer.alloc(0);
      let sent = false;
      const finish = (closed: boolean): void => {
        clearTimeout(timer);
        sock.destroy();
        if (!sent && !opts.allowSilence) {
          const how = closed ? 'closed' : 'timeout';
          reject(new Error(`no announcement from flush (got ${received.length} bytes, ${how})`));
          return;
        }
        resolve({
          announcement: received.subarray(0, ANNOUNCEMENT_LENGTH),
          reply: received.subarray(ANNOUNCEMENT_LENGTH),
          closed,
        });
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      sock.on('data', (d: Buffer) => {
        received = Buffer.concat([received, d]);
        if (!sent && received.length >= ANNOUNCEMENT_LENGTH) {
          sent = true;
          if (bytes.length > 0) sock.write(bytes);
          if (opts.end) sock.end();
        }
      });
      sock.on('end', () => finish(true));
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || opts.allowSilence) finish(true);
        else {
          clearTimeout(timer);
          reject(err);
        }
      });
    });
  }

  /** Create (or replace) a logfile owned by postfix, mode 0600, with the given times. */
  writeLogfile(name: string, content: string, times?: { atime: Date; mtime: Date }): string {
    const p = join(this.spoolDir, 'flush', name);
    writeFileSync(p, content, { encoding: 'latin1', mode: 0o600 });
    chmodSync(p, 0o600);
    chownSync(p, this.postfixUid, this.postfixGid);
    if (times) utimesSync(p, times.atime, times.mtime);
    return p;
  }

  /* ---- internals ---- */

  private cmd(name: string): string {
    return join(this.paths.commandDirectory, name);
  }

  /*
   * DIR/libexec: a copy of Postfix's daemon_directory (about 1.5 MB). Copies, not symlinks:
   * postfix check warns about every symlink that leaves the directory.
   */
  private copyDaemonDirectory(): string {
    const dir = join(this.dir, 'libexec');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const real = realpathSync(this.paths.daemonDirectory);
    for (const name of readdirSync(real)) copyFileSync(join(real, name), join(dir, name));
    return dir;
  }

  private async boot(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.ports.sink = await freePort([]);
      this.ports.smtp = await freePort([this.ports.sink]);
      this.writeMainCf();
      this.writeMasterCf();
      try {
        await this.startSink();
        await this.startPostfix();
        return;
      } catch (err) {
        /* Another process may have taken a port between the probe and the bind: retry. */
        this.stopPostfix();
        this.stopSink();
        if (attempt >= 3 || !/in use|sink exited/i.test(String(err))) throw err;
      }
    }
  }

  private writeMainCf(): void {
    const p: Record<string, string> = {
      compatibility_level: '3.6',
      config_directory: this.etcDir,
      queue_directory: this.spoolDir,
      data_directory: join(this.dir, 'data'),
      daemon_directory: this.daemonDirectory,
      command_directory: this.paths.commandDirectory,
      meta_directory: this.paths.metaDirectory,
      shlib_directory: this.paths.shlibDirectory,
      mail_owner: 'postfix',
      setgid_group: 'postdrop',
      maillog_file: this.maillogPath,
      maillog_file_prefixes: join(this.dir, 'log'),
      syslog_name: `postfix-${basename(this.dir)}`,
      myhostname: 'pfx.localdomain',
      mydomain: 'localdomain',
      myorigin: '$myhostname',
      mydestination: 'localhost',
      inet_interfaces: 'loopback-only',
      inet_protocols: 'ipv4',
      mynetworks: '127.0.0.0/8',
      relay_domains: 'example.test, noflush.test',
      alias_maps: '',
      alias_database: '',
      local_recipient_maps: '',
      biff: 'no',
      append_dot_mydomain: 'no',
      readme_directory: 'no',
      smtputf8_enable: 'no',
      smtp_dns_support_level: 'disabled',
      smtp_host_lookup: 'native',
      relayhost: `[127.0.0.1]:${this.sinkPort}`,
      smtp_connect_timeout: '5s',
      smtp_tls_security_level: 'none',
      smtpd_tls_security_level: 'none',
      fast_flush_domains: 'example.test',
      /* Deferred mail stays put for an hour: only flush requests move it. */
      queue_run_delay: '3600s',
      minimal_backoff_time: '3600s',
      maximal_backoff_time: '4000s',
      ...this.opts.mainCf,
    };
    const text = Object.entries(p).map(([k, v]) => `${k} = ${v}\n`).join('');
    writeFileSync(join(this.etcDir, 'main.cf'), text, { mode: 0o644 });
  }

  private writeMasterCf(): void {
    const flush = [this.flushCommand(), ...this.opts.flushArgs].join(' ');
    const text = `# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:${this.smtpPort} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       ${this.opts.flushChroot}       ${this.opts.flushWakeup}       0       ${flush}
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
${this.opts.extraMasterCf}`;
    writeFileSync(join(this.etcDir, 'master.cf'), text, { mode: 0o644 });
  }

  private async startSink(): Promise<void> {
    const logFd = openSync(join(this.dir, 'run', 'sink.log'), 'a');
    const args = ['-u', 'postfix', '-h', 'sink.localdomain',
      ...(this.opts.sinkMode === 'defer' ? ['-r', 'RCPT'] : []), `127.0.0.1:${this.sinkPort}`, '64'];
    const sink = spawn(this.cmd('smtp-sink'), args, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    this.sink = sink;
    writeFileSync(join(this.dir, 'run', 'sink.pid'), `${sink.pid}\n`);
    const pid = sink.pid as number;
    await waitFor(() => {
      if (sink.exitCode !== null || sink.signalCode !== null) throw new Error('smtp-sink exited (port in use?)');
      return listening(this.sinkPort, pid);
    }, 10_000, `smtp-sink on port ${this.sinkPort}`);
  }

  private stopSink(): void {
    const sink = this.sink;
    this.sink = null;
    if (sink?.pid !== undefined && sink.exitCode === null && sink.signalCode === null) terminate(sink.pid, 3000);
  }

  private async startPostfix(): Promise<void> {
    const postfix = this.cmd('postfix');
    const check = run(postfix, ['-c', this.etcDir, 'check']);
    if (check.code !== 0) throw new Error(`postfix check failed: ${check.stderr}${check.stdout}`);
    const start = run(postfix, ['-c', this.etcDir, 'start']);
    this.masterPid = this.readMasterPid();
    if (start.code !== 0) {
      throw new Error(`postfix start failed: ${start.stderr}${start.stdout}\n${this.maillog().slice(-2000)}`);
    }
    await waitFor(() => existsSync(join(this.spoolDir, 'public', 'flush')) && listening(this.smtpPort),
      20_000, `public/flush and smtpd on port ${this.smtpPort}`);
  }

  /* master's PID, if the pid file names a live master whose cwd is our spool. */
  private readMasterPid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.spoolDir, 'pid', 'master.pid'), 'utf8').trim());
      return readlinkSync(`/proc/${pid}/cwd`) === this.spoolDir ? pid : null;
    } catch {
      return null;
    }
  }

  private stopPostfix(): void {
    if (!existsSync(join(this.spoolDir, 'pid', 'master.pid')) && this.masterPid === null) return;
    const pid = this.masterPid ?? this.readMasterPid();
    this.masterPid = null;
    run(this.cmd('postfix'), ['-c', this.etcDir, 'stop']);
    if (pid !== null && alive(pid)) terminate(pid, 5000);
    rmSync(join(this.spoolDir, 'pid', 'master.pid'), { force: true });
    /* A master child that ignores the shutdown (e.g. a broken flush program) must not outlive us. */
    for (const child of this.processesInSpool()) terminate(child, 2000);
  }

  /* Live processes working in our queue directory: only master's children do. */
  private processesInSpool(): number[] {
    return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
      try {
        return alive(p) && `${readlinkSync(`/proc/${p}/cwd`)}/`.startsWith(`${this.spoolDir}/`);
      } catch {
        return false;
      }
    });
  }
}
