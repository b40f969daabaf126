/*
 * single-server.ts - the generic master(8) child skeleton, Postfix's
 * single_server.c for Node: options, environment, logging, configuration,
 * privileges, then serving client connections on the listen sockets that
 * master passes as fd 6 onwards, with TAKEN/AVAIL records on fd 5, max_use,
 * max_idle, ipc_timeout and the daemon_timeout watchdog. It knows nothing of
 * the service it runs: the service hands in a SingleServerSpec.
 *
 * Deviations from C, and why:
 *  - Connections are served concurrently inside one process: a Node process
 *    costs tens of milliseconds to start, so the C rhythm of "lock, accept
 *    one, unlock, serve, repeat" with many processes would cost far more than
 *    the requests. Connections are accepted and served with plain system
 *    calls (socket-client.ts, util/fd-stream.ts), one accept at a time, whenever the listen
 *    socket is readable and the process is still taking clients. A
 *    listening process is available to master; every completed connection is
 *    still reported (TAKEN+AVAIL), so master's use count and its start-up
 *    throttle see what they see with C children, and a process near max_use
 *    asks for its successor early (availability.ts).
 *  - The accept lock file pid/<transport>.<service> is still opened (and
 *    created) as in C, but it guards "the right to listen" instead of one
 *    accept(): a process listens only while it holds the lock, and gives it up
 *    when it stops listening (max_use, max_idle, master gone). Other processes
 *    of the service wait for the lock (on the thread pool, so they still notice
 *    master going away and their idle timer), which avoids several Node
 *    processes grabbing connections from one another, and hands the listen
 *    socket over without any client being reset.
 *  - max_use counts accepted connections; when the limit is reached the
 *    listeners are closed first (so the kernel keeps further clients queued
 *    for the next process) and the process exits once its connections are done.
 *  - Master going away (fd 5 readable, or a failed status write) stops
 *    listening and lets running requests finish before exiting 0.
 *  - The watchdog runs while requests are active; it restarts whenever the
 *    oldest running request finishes. C also runs it while idle in the event
 *    loop, which only matters when max_idle exceeds daemon_timeout.
 *  - Leftover command-line words are fatal at start-up (C flush finds them at
 *    its first connection and dies then, losing that client).
 *  - mail_owner is checked (known user, user and group id not 0, with
 *    Postfix's messages) only with -u, the only case that uses it; Postfix
 *    checks it in every daemon.
 *  - -S reads stdin and writes stdout as two streams, so it also works with
 *    two pipes; C only works when both are the same socket. ipc_timeout and
 *    the watchdog apply to -S too.
 *  - Transport "pass" is refused: the connections master passes carry file
 *    descriptors over SCM_RIGHTS, which Node cannot receive.
 *
 * The returned promise settles with the exit status; the caller must then end
 * the process with exitProcess(), since handles such as fd 5 or a pending lock
 * wait would otherwise keep it alive. process.exit() is not enough: it joins
 * libuv's thread pool, where a flock may be blocked for as long as another
 * process holds that lock (a successor waiting for the accept lock, an add
 * waiting for a C flush's logfile lock). Everything the daemon logs is written
 * synchronously, so ending with _exit(2) loses nothing.
 *
 * Exports: SingleServerSpec, ServerContext, ClientStream, SingleServerDeps,
 * runSingleServer, exitProcess.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../config/errors.js';
import { loadMailConfig, type LoadOptions } from '../config/load.js';
import type { MailConfig } from '../config/types.js';
import { exitNow, flockAsync, flockSync, isTerminal, LOCK_EX, LOCK_NB, LOCK_UN } from '../native/posix.js';
import { monotonicMs } from '../util/clock.js';
import { strerror } from '../util/errors.js';
import { FdStream, timerMs } from '../util/fd-stream.js';
import { FatalError, msg } from '../util/msg.js';
import { standaloneClient, type ClientStream } from './client-stream.js';
import { ListenSocket } from './socket-client.js';
import { DaemonLogging } from './logging.js';
import { parseGeneration, parseServerOptions, type ServerOptions } from './options.js';
import { checkMailOwner, enterJail } from './privileges.js';
import { MasterAvailability, SuccessorPolicy } from './availability.js';
import { MasterStatusChannel } from './status.js';
import { Watchdog } from './watchdog.js';

export type { ClientStream } from './client-stream.js';

/** fastflush:lifecycle tracing: a no-op unless startTracing() found it asked for. */
let debug: (format: string, ...args: unknown[]) => void = () => {};

/**
 * DEBUG=fastflush:* or -v: loads the debug package, only then, since it loads
 * Node's tty module (a millisecond or two of every start). Runs before the
 * jail, where nothing can be loaded any more.
 */
async function startTracing(verbose: boolean): Promise<void> {
  if (!verbose && process.env.DEBUG === undefined) return;
  const { default: createDebug } = await import('debug');
  if (verbose) createDebug.enable('fastflush:*');
  debug = createDebug('fastflush:lifecycle');
}

const MASTER_LISTEN_FD = 6;
/** Long enough for master to see a waiting client and fork, short for that client. */
const SUCCESSOR_PAUSE_MS = 5;
/** How long accepting pauses after accept(2) failed for want of descriptors or memory. */
const ACCEPT_RETRY_MS = 100;

export interface ServerContext {
  config: MailConfig;
  /** The -n value, else the program name. */
  serviceName: string;
  /** basename of argv[0], e.g. "flush". */
  processName: string;
  /** The -t value (unix or inet); empty with -S. */
  transport: string;
}

export interface SingleServerSpec {
  /** The service needs a process limit of 0 (flush does): without -z and -S that is fatal. */
  requiresUnlimited?: boolean;
  /** Runs as root, before privileges are dropped and before any chroot. */
  preJailInit?(ctx: ServerContext): void | Promise<void>;
  /** Runs inside the jail, with the final privileges. */
  postJailInit?(ctx: ServerContext): void | Promise<void>;
  /**
   * Asked at each accepted connection (C's pre-accept point): a reason to
   * retire, such as a lookup table file that changed, or undefined. With a
   * reason the process logs "<reason> -- restarting" and retires as at
   * max_use: it serves what it has accepted and exits 0, and master starts a
   * fresh process that reads the new data.
   */
  retireReason?(ctx: ServerContext): string | undefined;
  /**
   * Serves one client. The skeleton closes the connection afterwards. A
   * rejection is logged as a warning, except FatalError (and ConfigError),
   * which ends the process with status 1.
   */
  serve(client: ClientStream, ctx: ServerContext): Promise<void>;
}

export interface SingleServerDeps {
  /** Reads main.cf with the -o overrides applied (default: loadMailConfig). */
  loadConfig?: (opts: LoadOptions) => MailConfig;
}

/** FatalError as is; a ConfigError is logged as the fatal error it stands for; else undefined. */
function fatalFrom(error: unknown): FatalError | undefined {
  if (error instanceof FatalError) return error;
  if (error instanceof ConfigError) {
    try {
      msg.fatal(error.message);
    } catch (fatal) {
      return fatal as FatalError;
    }
  }
  return undefined;
}

/** Ends the process with `status` at once, even while a flock waits on the thread pool. */
export function exitProcess(status: number): never {
  return exitNow(status);
}

/**
 * argv is [program, ...options]: under Node the program is argv[1] of the
 * process (process.argv.slice(1)); its basename is the process name.
 */
export async function runSingleServer(
  spec: SingleServerSpec, argv: readonly string[], env: NodeJS.ProcessEnv, deps: SingleServerDeps = {},
): Promise<number> {
  try {
    return await startServer(spec, argv, env, deps);
  } catch (error) {
    const fatal = fatalFrom(error);
    if (fatal === undefined) throw error;
    // Postfix pauses before dying, so that a daemon that fails at once cannot
    // make master respawn it in a tight loop.
    await sleep(1000);
    if (fatal.severity === 'panic') process.abort();
    return 1;
  }
}

async function startServer(
  spec: SingleServerSpec, argv: readonly string[], env: NodeJS.ProcessEnv, deps: SingleServerDeps,
): Promise<number> {
  if (env.MAIL_VERBOSE !== undefined) msg.verbose = Math.max(msg.verbose, 1);
  // Node already ignores SIGPIPE; a file size limit must not kill us either (C ignores SIGXFSZ).
  process.on('SIGXFSZ', () => {});

  const processName = basename(argv[0] ?? 'unknown');
  const logging = new DaemonLogging(processName, env);
  if (msg.verbose) msg.info('daemon started');

  const { options, error: optionError } = parseServerOptions(argv.slice(1));
  if (options.logToStderr) logging.enableStderr();
  msg.verbose += options.verbose;
  await startTracing(msg.verbose > 0);
  if (optionError !== undefined) msg.fatal(optionError);

  const serviceName = options.serviceName ?? processName;
  const config = (deps.loadConfig ?? loadMailConfig)({
    configDir: env.MAIL_CONFIG, env, overrides: options.overrides, processName, serviceName,
  });
  logging.configure(config);
  // Postfix checks mail_owner in every daemon; here only -u depends on it, and
  // fastflush's own quick start runs without a postfix account.
  const owner = options.unprivileged ? checkMailOwner(config.get('mail_owner'), config.configDir) : undefined;

  if (options.daemonMode && !options.standalone && isTerminal(0)) logging.refuseTerminal();
  if (spec.requiresUnlimited && !options.standalone && !options.zeroLimit) {
    msg.fatal(`service ${serviceName} requires a process limit of 0`);
  }
  const transport = options.standalone ? '' : checkTransport(options.transport);
  if (options.args.length > 0) msg.fatal(`unexpected command-line argument: ${options.args[0]}`);
  const generation = parseGeneration(env.GENERATION) ?? msg.fatal(`bad generation: ${env.GENERATION}`);
  if (msg.verbose) msg.info(`process generation: ${env.GENERATION ?? ''} (${generation.toString(8)})`);
  if (options.debugMe || env.MAIL_DEBUG !== undefined) runDebugger(config, env);

  const lockFd = options.standalone || options.solitary ? undefined : openAcceptLock(transport, serviceName);
  const ctx: ServerContext = { config, serviceName, processName, transport };

  const queueDirectory = config.get('queue_directory');
  try {
    process.chdir(queueDirectory);
  } catch (error) {
    msg.fatal(`chdir("${queueDirectory}"): ${strerror(error)}`);
  }
  await spec.preJailInit?.(ctx);

  // Nothing may need the file system after the jail. Load the local time zone
  // while /etc/localtime is visible (V8 keeps it). The daemon makes no libuv
  // stream handle (whose first one opens /dev/null, "/" when that is missing,
  // for libuv's spare descriptor): connections, the status channel and
  // triggers are plain descriptors; only -S on a terminal uses Node's stdio.
  new Date().toString();
  const limits = {
    ipcTimeout: config.getTime('ipc_timeout'),
    daemonTimeout: config.getTime('daemon_timeout'),
  };
  const io: { client: ClientStream } | { status: MasterStatusChannel } = options.standalone
    ? { client: standaloneClient(limits.ipcTimeout) }
    : { status: openStatusChannel(generation) };
  if (owner !== undefined || options.chroot) {
    enterJail({ user: owner, rootDir: options.chroot ? queueDirectory : undefined });
  }
  await spec.postJailInit?.(ctx);

  if ('client' in io) return serveStandalone(spec, ctx, io.client, limits.daemonTimeout);
  return new ListenerLoop(spec, ctx, options, {
    ...limits,
    maxUse: config.getInt('max_use'),
    maxIdle: config.getTime('max_idle'),
    status: io.status,
    lockFd,
  }).run();
}

function openStatusChannel(generation: number): MasterStatusChannel {
  try {
    return new MasterStatusChannel(process.pid, generation);
  } catch (error) {
    return msg.fatal(`status channel: ${strerror(error)}`);
  }
}

function checkTransport(transport: string | undefined): string {
  if (transport === undefined) return msg.fatal('no transport type specified');
  const kind = transport.toLowerCase();
  if (kind === 'unix' || kind === 'inet') return transport;
  if (kind === 'pass') {
    return msg.fatal('unsupported transport type: pass (Node.js cannot receive passed file descriptors)');
  }
  return msg.fatal(`unsupported transport type: ${transport}`);
}

/** -D or MAIL_DEBUG: run debugger_command through the shell and wait, as Postfix's system() call does. */
function runDebugger(config: MailConfig, env: NodeJS.ProcessEnv): void {
  const command = config.get('debugger_command');
  if (command === '') {
    msg.warn('no debugger_command variable set up; continuing without a debugger');
    return;
  }
  msg.info(`running: ${command}`);
  // child_process is loaded only here: with the dgram module it brings, a millisecond or two of every start.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  spawnSync('/bin/sh', ['-c', command], { stdio: 'inherit', env });
}

/** Opened as root, relative to the queue directory master starts us in, like C. */
function openAcceptLock(transport: string, serviceName: string): number {
  const path = `pid/${transport}.${serviceName}`;
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_CREAT | fsConstants.O_RDWR | fsConstants.O_NOFOLLOW, 0o600);
  } catch (error) {
    return msg.fatal(`open lock file ${path}: ${strerror(error)}`);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    msg.fatal(`open lock file ${path}: not a regular file`);
  }
  return fd;
}

/** -S: one client on stdin/stdout, then exit 0. */
function serveStandalone(
  spec: SingleServerSpec, ctx: ServerContext, client: ClientStream, daemonTimeout: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const watchdog = new Watchdog(daemonTimeout, () => {
      try {
        msg.fatal('watchdog timeout');
      } catch (error) {
        reject(error);
      }
    });
    watchdog.start();
    serveClient(spec, client, ctx).then(() => {
      watchdog.stop();
      resolve(0);
    }, reject);
  });
}

/** Runs serve(); only a fatal error rejects, anything else is logged. */
async function serveClient(spec: SingleServerSpec, client: ClientStream, ctx: ServerContext): Promise<void> {
  try {
    await spec.serve(client, ctx);
  } catch (error) {
    const fatal = fatalFrom(error);
    if (fatal !== undefined) throw fatal;
    msg.warn(`${client.name}: ${strerror(error)}`);
  }
}

interface LoopSettings {
  ipcTimeout: number;
  daemonTimeout: number;
  maxUse: number;
  maxIdle: number;
  status: MasterStatusChannel;
  lockFd: number | undefined;
}

/** The semi-resident server: listen, serve, and decide when to exit. */
class ListenerLoop {
  private readonly active = new Set<FdStream>();
  private readonly listeners: ListenSocket[] = [];
  private readonly watchdog: Watchdog;
  private readonly availability: MasterAvailability;
  private readonly successor: SuccessorPolicy;
  private successorRequested = false;
  private pausedForSuccessor = false;
  /** Set while accepting is paused after an accept(2) failure of ours. */
  private acceptPause: NodeJS.Timeout | undefined;
  private lastStatus: Promise<boolean> = Promise.resolve(true);
  private idleTimer: NodeJS.Timeout | undefined;
  private accepted = 0;
  private retiring = false;
  private settled = false;
  private resolveRun: (code: number) => void = () => {};
  private rejectRun: (error: unknown) => void = () => {};

  constructor(
    private readonly spec: SingleServerSpec,
    private readonly ctx: ServerContext,
    private readonly options: ServerOptions,
    private readonly settings: LoopSettings,
  ) {
    this.watchdog = new Watchdog(settings.daemonTimeout, () => this.guard(() => msg.fatal('watchdog timeout')));
    this.availability = new MasterAvailability((records) => {
      this.lastStatus = settings.status.notify(records);
    });
    // monotonicMs() counts from the process's start: what a successor will need to get here.
    this.successor = new SuccessorPolicy(settings.maxUse, monotonicMs());
  }

  run(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.resolveRun = resolve;
      this.rejectRun = reject;
      this.guard(() => this.begin());
    });
  }

  private begin(): void {
    this.settings.status.onGone(() => this.guard(() => this.masterGone()));
    this.startIdleTimer();
    const lockFd = this.settings.lockFd;
    if (lockFd === undefined) {
      this.listen();
      return;
    }
    this.acquireListenToken(lockFd).then(() => this.guard(() => this.listen()), (error) => this.fail(error));
  }

  /** Runs fn, turning a thrown fatal error into the end of the run. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.retiring = true;
    this.stopIdleTimer();
    this.watchdog.stop();
    for (const listener of this.listeners) listener.close();
    if (this.settings.lockFd !== undefined) {
      try {
        flockSync(this.settings.lockFd, LOCK_UN);
      } catch {
        // The process is going down anyway, and its exit releases the lock.
      }
    }
    this.rejectRun(fatalFrom(error) ?? error);
  }

  private async acquireListenToken(fd: number): Promise<void> {
    try {
      flockSync(fd, LOCK_EX | LOCK_NB);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EWOULDBLOCK' && code !== 'EAGAIN') msg.fatal(`select lock: ${strerror(error)}`);
    }
    debug('another process is listening; waiting for the accept lock');
    try {
      await flockAsync(fd, LOCK_EX);
    } catch (error) {
      msg.fatal(`select lock: ${strerror(error)}`);
    }
  }

  private releaseListenToken(): void {
    if (this.settings.lockFd === undefined) return;
    try {
      flockSync(this.settings.lockFd, LOCK_UN);
    } catch (error) {
      msg.fatal(`select unlock: ${strerror(error)}`);
    }
  }

  private listen(): void {
    if (this.retiring) {
      // The lock arrived after we decided to exit: pass it on at once.
      this.releaseListenToken();
      return;
    }
    this.openListeners();
    this.startAccepting();
    debug('listening on %d socket(s)', this.options.socketCount);
  }

  /** master's listen sockets, fd 6 onwards; they stay open while accepting pauses. */
  private openListeners(): void {
    for (let index = 0; index < this.options.socketCount; index += 1) {
      const fd = MASTER_LISTEN_FD + index;
      try {
        this.listeners.push(new ListenSocket(
          fd,
          (client) => this.guard(() => this.accept(client)),
          (error) => this.guard(() => this.acceptFailed(error)),
        ));
      } catch (error) {
        msg.fatal(`listen on fd ${fd}: ${strerror(error)}`);
      }
    }
  }

  private startAccepting(): void {
    for (const listener of this.listeners) listener.start();
  }

  private stopAccepting(): void {
    for (const listener of this.listeners) listener.stop();
  }

  /**
   * accept(2) failed for a reason of ours (out of descriptors or memory):
   * log it as C does; then pause accepting, since the socket stays readable,
   * and leave the clients queued in the kernel until a connection of ours has
   * ended or a moment has passed.
   */
  private acceptFailed(error: NodeJS.ErrnoException): void {
    msg.error(`accept connection: ${strerror(error)}`);
    this.stopAccepting();
    this.acceptPause ??= setTimeout(() => this.guard(() => this.resumeAccepting()), ACCEPT_RETRY_MS);
  }

  private resumeAccepting(): void {
    if (this.acceptPause !== undefined) clearTimeout(this.acceptPause);
    this.acceptPause = undefined;
    if (!this.retiring && !this.pausedForSuccessor) this.startAccepting();
  }

  /**
   * Asks master for a successor: TAKEN, then a short pause in accepting, so
   * that the next client makes the socket readable for master rather than
   * being taken by us first (both wait on it; master spawns only on what it
   * sees). Clients queue in the backlog meanwhile, and are served after.
   */
  private requestSuccessor(): void {
    this.successorRequested = true;
    debug('asking master for a successor after %d connections', this.accepted);
    this.availability.unavailable();
    this.stopAccepting();
    this.pausedForSuccessor = true;
    setTimeout(() => this.guard(() => {
      this.pausedForSuccessor = false;
      this.resumeAccepting();
    }), SUCCESSOR_PAUSE_MS);
  }

  private accept(fd: number): void {
    this.accepted += 1;
    if (this.active.size === 0) {
      this.stopIdleTimer();
      this.watchdog.start();
    }
    const client = new FdStream(`${this.ctx.serviceName} socket`, fd, this.settings.ipcTimeout);
    this.active.add(client);
    if (msg.verbose) msg.info('connection established');
    const reason = this.retiring ? undefined : this.spec.retireReason?.(this.ctx);
    if (reason !== undefined) {
      msg.info(`${reason} -- restarting`);
      this.retire();
    } else if (this.settings.maxUse > 0 && this.accepted >= this.settings.maxUse) {
      this.retire();
    } else if (!this.successorRequested && this.successor.accepted(this.accepted, monotonicMs())) {
      this.requestSuccessor();
    }
    serveClient(this.spec, client, this.ctx)
      .then(() => this.guard(() => this.release(client)), (error) => this.fail(error));
  }

  private release(client: FdStream): void {
    if (this.settled) {
      client.close();
      return;
    }
    const wasOldest = this.active.values().next().value === client;
    this.active.delete(client);
    const last = this.retiring && this.active.size === 0;
    // The use is reported before the connection is closed (C closes first):
    // master counts uses only from these records, and takes the death of a
    // process with none for a failed start-up. Reported first, the record is
    // in master's channel before anyone can see this connection end, so a
    // process killed right after its first connection is not counted as one
    // that never served. A retiring process ends available, as a C child does
    // after its last use.
    this.availability.completed(!last && (this.retiring || this.successorRequested));
    client.close();
    if (msg.verbose) msg.info('connection closed');
    if (this.acceptPause !== undefined) this.resumeAccepting();
    if (this.active.size > 0) {
      if (wasOldest) this.watchdog.start();
      return;
    }
    this.watchdog.stop();
    if (this.retiring) this.exitWhenFlushed();
    else this.startIdleTimer();
  }

  /**
   * Stop accepting; exit once the running requests are done. With requests
   * still running, master must not count on us meanwhile (TAKEN), so that it
   * starts the next process when clients arrive.
   */
  private retire(): void {
    if (this.retiring) return;
    this.retiring = true;
    this.stopIdleTimer();
    this.stopAccepting();
    this.releaseListenToken();
    if (this.active.size === 0) this.exitWhenFlushed();
    else this.availability.unavailable();
  }

  private masterGone(): void {
    if (msg.verbose) msg.info('master disconnect -- exiting');
    this.retire();
  }

  /** The last records must reach master: it counts a child that never completed a connection as broken. */
  private exitWhenFlushed(): void {
    void this.lastStatus.then(() => {
      if (this.settled) return;
      this.settled = true;
      this.watchdog.stop();
      this.resolveRun(0);
    });
  }

  private startIdleTimer(): void {
    this.stopIdleTimer();
    if (this.settings.maxIdle <= 0) return;
    this.idleTimer = setTimeout(() => this.guard(() => {
      if (msg.verbose) msg.info('idle timeout -- exiting');
      this.retire();
    }), timerMs(this.settings.maxIdle));
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
