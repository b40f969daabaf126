/*
 * supervisor.ts - a master(8)-compatible process supervisor
 * (spec-protocol-master.md §5; master_spawn.c, master_avail.c,
 * master_status.c, master_wakeup.c).
 *
 * For each supported service (unix, and inet on a loopback address) it owns
 * the listen socket and runs children exactly as Postfix's master does:
 * exec path `$daemon_directory/<command>`, argv from argv.ts, environment from
 * environment.ts (GENERATION in octal), cwd queue_directory, umask 077
 * (set by the caller for the whole process), and descriptors
 *   0-2 /dev/null (2 may be master's stderr on request),
 *   3/4 the shared flow-control pipe,
 *   5   the child's end of a UNIX stream socketpair for 12-byte status messages,
 *   6.. the listen socket.
 * Children count as available when born; TAKEN/AVAIL messages move them
 * between available and busy, and each AVAIL after TAKEN is one use.
 *
 * Process creation policy (the one deliberate difference from Postfix):
 * Postfix's master watches the listen socket while no child is available and
 * spawns when a connection is pending. Node cannot watch a listening socket
 * for readability without accepting from it, and master must never accept.
 * So this supervisor keeps one child available at all times instead: whenever
 * a service has no available child, is not throttled and is below its
 * process limit, a child is spawned at once. A pending connection therefore
 * always finds an acceptor, as with Postfix, at the cost of one idle child
 * per service (respawned after max_idle). Because spawning no longer means
 * "the service was used", a conditional wakeup timer (`NNN?`) starts at the
 * service's first TAKEN message instead of its first spawn; as in Postfix the
 * first wakeup then goes out at once.
 *
 * Status channels are per child (Node makes one socketpair per spawn) rather
 * than one per service; closing them all on reload has the same effect: every
 * child sees fd 5 hang up and exits when it is next idle.
 *
 * Failures: a child that dies abnormally before completing a connection
 * throttles its service for service_throttle_time ("bad command startup --
 * throttling"); no spawns and no wakeups while throttled. Reload re-reads
 * the configuration, restarts existing services (new status channels, new
 * generations, wakeup timers re-armed), starts new ones and terminates the
 * children of removed ones. Stop sends SIGTERM to every child, by PID.
 *
 * Observable through snapshot() and the events 'spawn' {service, pid,
 * generation}, 'status' {service, pid, generation, status}, 'exit' {service,
 * pid, code, signal} and 'wakeup' {service} (tests and tools use them).
 *
 * Exports: Supervisor, SupervisorOptions, MasterSettings, ServiceSnapshot.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Socket } from 'node:net';
import { strerror } from '../../util/errors.js';
import { msg } from '../../util/msg.js';
import { buildServiceArgv, isLocalOnly, parseInetEndpoint, servicePath } from './argv.js';
import { childEnvironment, parseImportEnvironment, scrubEnvironment } from './environment.js';
import { closeListenSocket, openFlowPipe, openListenSockets, type FlowPipe, type ListenSocket, type ListenSpec } from './listen.js';
import { serviceEndpoint, type MasterCfEntry } from './master-cf.js';
import { MASTER_STAT_AVAIL, MASTER_STAT_TAKEN, StatusFramer, type StatusMessage } from './status.js';
import { sendWakeup, type WakeupTarget } from './wakeup.js';

/** Everything the supervisor takes from main.cf and master.cf. */
export interface MasterSettings {
  configDirectory: string;
  queueDirectory: string;
  daemonDirectory: string;
  defaultProcessLimit: number;
  /** service_throttle_time, seconds. */
  serviceThrottleTime: number;
  importEnvironment: string;
  syslogName: string;
  services: MasterCfEntry[];
}

export interface SupervisorOptions {
  /** The configuration to start with. */
  settings: MasterSettings;
  /** Reads the configuration again, for reload. */
  loadSettings: () => MasterSettings;
  /** The environment master itself started with (scrubbed per import_environment). */
  environment: NodeJS.ProcessEnv;
  /** master -d: passed on to children as -d. */
  debug: boolean;
  /** master -v: more logging, and -v for children. */
  verbose: boolean;
  /** Give children master's stderr as fd 2 instead of /dev/null (debugging aid). */
  childStderr: boolean;
}

export interface ServiceSnapshot {
  service: string;
  type: string;
  endpoint: string;
  throttled: boolean;
  available: number;
  children: Array<{ pid: number; generation: number; available: boolean; useCount: number }>;
}

interface Child {
  readonly pid: number;
  readonly generation: number;
  readonly service: Service;
  readonly process: ChildProcess;
  available: boolean;
  useCount: number;
  /** Master's end of the status socketpair; null once closed (reload) or gone. */
  status: Socket | null;
  readonly framer: StatusFramer;
  /** Set before master itself signals the child, so that death is not reported. */
  terminating: boolean;
}

class Service {
  entry: MasterCfEntry;
  readonly key: string;
  readonly listen: ListenSocket;
  readonly wakeupTarget: WakeupTarget;
  execPath = '';
  argv: string[] = [];
  readonly children = new Map<number, Child>();
  available = 0;
  throttled = false;
  throttleTimer: NodeJS.Timeout | null = null;
  wakeupTimer: NodeJS.Timeout | null = null;
  /** A conditional wakeup timer waits for the first TAKEN. */
  wakeupOnFirstUse = false;
  removed = false;
  /** Set while an exec failure is being reported, so no second spawn starts meanwhile. */
  spawnFailing = false;

  constructor(entry: MasterCfEntry, key: string, listen: ListenSocket, wakeupTarget: WakeupTarget) {
    this.entry = entry;
    this.key = key;
    this.listen = listen;
    this.wakeupTarget = wakeupTarget;
  }

  /** As master logs a service: `flush(public/flush)`. */
  get label(): string {
    return `${this.entry.service}(${serviceEndpoint(this.entry)})`;
  }
}

/** How long to wait, after a child exited, for its last status messages before reaping it. */
const STATUS_DRAIN_MS = 250;
/** How long stop() waits for children to go after SIGTERM. */
const STOP_GRACE_MS = 3000;
/** MASTER_STATUS_FD: where the child finds its end of the status socketpair. */
const MASTER_STATUS_FD = 5;

function serviceKey(entry: MasterCfEntry): string {
  return `${entry.type} ${serviceEndpoint(entry)}`;
}

function signalNumber(signal: NodeJS.Signals): number {
  return osConstants.signals[signal] ?? 0;
}

export class Supervisor extends EventEmitter {
  private settings: MasterSettings;
  private readonly services = new Map<string, Service>();
  private readonly children = new Map<number, Child>();
  private generation = 0;
  private baseEnv: Record<string, string> = {};
  private flowPipe: FlowPipe | null = null;
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.settings = options.settings;
  }

  /** Opens the flow pipe and the listen sockets, then starts every service. */
  start(): void {
    this.flowPipe = openFlowPipe(join(this.settings.queueDirectory, 'pid', `master.flow.${process.pid}`));
    this.applySettings();
  }

  /** SIGHUP: re-read the configuration and restart every service. */
  reload(): void {
    if (this.stopping) return;
    const settings = this.options.loadSettings();
    if (settings.queueDirectory !== this.settings.queueDirectory) {
      msg.warn(`ignoring queue_directory change to ${settings.queueDirectory}: stop and start to change it`);
      settings.queueDirectory = this.settings.queueDirectory;
    }
    this.settings = settings;
    this.applySettings();
  }

  /** SIGTERM: terminate every child and wait (briefly) until they are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const service of this.services.values()) this.cancelTimers(service);
    const gone = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.process.exitCode !== null || child.process.signalCode !== null) resolve();
          else child.process.once('exit', () => resolve());
        }),
    );
    for (const child of this.children.values()) this.terminate(child);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(gone), new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(timer);
  }

  snapshot(): ServiceSnapshot[] {
    return [...this.services.values()].map((service) => ({
      service: service.entry.service,
      type: service.entry.type,
      endpoint: serviceEndpoint(service.entry),
      throttled: service.throttled,
      available: service.available,
      children: [...service.children.values()].map((child) => ({
        pid: child.pid,
        generation: child.generation,
        available: child.available,
        useCount: child.useCount,
      })),
    }));
  }

  // ---- configuration ----

  private applySettings(): void {
    const settings = this.settings;
    this.baseEnv = {
      ...scrubEnvironment(parseImportEnvironment(settings.importEnvironment), this.options.environment),
      MAIL_LOGTAG: settings.syslogName,
    };
    const wanted = new Map<string, MasterCfEntry>();
    for (const entry of settings.services) {
      if (this.supported(entry)) wanted.set(serviceKey(entry), entry);
    }
    for (const service of [...this.services.values()]) {
      if (!wanted.has(service.key)) this.removeService(service);
    }
    const fresh: Array<{ entry: MasterCfEntry; spec: ListenSpec; key: string }> = [];
    for (const [key, entry] of wanted) {
      const existing = this.services.get(key);
      if (existing) {
        existing.entry = entry;
        this.configure(existing);
        this.restartService(existing);
      } else {
        fresh.push({ entry, key, spec: this.listenSpecFor(entry) });
      }
    }
    const sockets = openListenSockets(fresh.map((f) => f.spec));
    fresh.forEach(({ entry, key }, index) => {
      const listen = sockets[index] as ListenSocket;
      const target: WakeupTarget =
        listen.spec.kind === 'unix'
          ? { kind: 'unix', path: listen.spec.path }
          : { kind: 'inet', host: listen.spec.host, port: listen.spec.port };
      const service = new Service(entry, key, listen, target);
      this.services.set(key, service);
      this.configure(service);
      this.restartService(service);
    });
  }

  /** unix services, and inet services bound to a loopback address; anything else is skipped with a warning. */
  private supported(entry: MasterCfEntry): boolean {
    if (entry.type === 'unix') return true;
    if (entry.type === 'inet') {
      const { host, port } = parseInetEndpoint(entry.service);
      if (host !== '' && isLocalOnly(entry) && /^\d+$/.test(port)) return true;
      msg.warn(`service "${entry.service}" (inet): only a numeric port on a loopback address is supported -- skipping`);
      return false;
    }
    msg.warn(`service "${entry.service}": transport type ${entry.type} is not supported -- skipping`);
    return false;
  }

  private listenSpecFor(entry: MasterCfEntry): ListenSpec {
    // Postfix's backlog: the larger of the process limit and default_process_limit.
    const backlog = Math.max(entry.maxProc, this.settings.defaultProcessLimit);
    if (entry.type === 'unix') {
      return { kind: 'unix', path: join(this.settings.queueDirectory, serviceEndpoint(entry)), backlog };
    }
    const { host, port } = parseInetEndpoint(entry.service);
    return { kind: 'inet', host: host === 'localhost' ? '127.0.0.1' : host, port: Number(port), backlog };
  }

  private configure(service: Service): void {
    service.execPath = servicePath(this.settings.daemonDirectory, service.entry.command);
    service.argv = buildServiceArgv(service.entry, {
      debug: this.options.debug,
      verbose: this.options.verbose,
      listenCount: 1,
      localOnly: isLocalOnly(service.entry),
    });
  }

  /** master_restart_service: fresh status channels, wakeup timer re-armed, then the spawn policy. */
  private restartService(service: Service): void {
    this.cancelWakeup(service);
    for (const child of service.children.values()) this.closeStatus(child);
    service.wakeupOnFirstUse = service.entry.conditionalWakeup;
    if (service.entry.wakeupTime > 0 && !service.entry.conditionalWakeup) this.wakeupEvent(service);
    this.ensureAvailable(service);
  }

  private removeService(service: Service): void {
    service.removed = true;
    this.services.delete(service.key);
    this.cancelTimers(service);
    for (const child of service.children.values()) this.terminate(child);
    closeListenSocket(service.listen);
  }

  private cancelWakeup(service: Service): void {
    if (service.wakeupTimer) clearTimeout(service.wakeupTimer);
    service.wakeupTimer = null;
  }

  private cancelTimers(service: Service): void {
    this.cancelWakeup(service);
    if (service.throttleTimer) clearTimeout(service.throttleTimer);
    service.throttleTimer = null;
  }

  // ---- process creation ----

  /** The spawn policy (see the header): keep one child available. */
  private ensureAvailable(service: Service): void {
    if (this.stopping || service.removed || service.throttled || service.spawnFailing) return;
    if (service.available > 0) return;
    if (service.entry.maxProc !== 0 && service.children.size >= service.entry.maxProc) return;
    this.spawnChild(service);
  }

  private spawnChild(service: Service): void {
    const flow = this.flowPipe as FlowPipe;
    this.generation += 1;
    const generation = this.generation;
    const stdio: StdioOptions = [
      'ignore',
      'ignore',
      this.options.childStderr ? 'inherit' : 'ignore',
      flow.readFd,
      flow.writeFd,
      'pipe',
      service.listen.fd,
    ];
    let proc: ChildProcess;
    try {
      proc = spawn(service.execPath, service.argv.slice(1), {
        argv0: service.argv[0],
        cwd: this.settings.queueDirectory,
        env: childEnvironment(this.baseEnv, generation),
        stdio,
      });
    } catch (err) {
      this.execFailed(service, err);
      return;
    }
    if (proc.pid === undefined) {
      // The error event follows; until then no other spawn may start.
      service.spawnFailing = true;
      proc.once('error', (err) => {
        service.spawnFailing = false;
        this.execFailed(service, err);
      });
      return;
    }
    const child: Child = {
      pid: proc.pid,
      generation,
      service,
      process: proc,
      available: true,
      useCount: 0,
      status: (proc.stdio as unknown[])[MASTER_STATUS_FD] as Socket,
      framer: new StatusFramer(),
      terminating: false,
    };
    service.children.set(child.pid, child);
    this.children.set(child.pid, child);
    service.available += 1;
    const status = child.status as Socket;
    status.on('data', (chunk: Buffer) => this.onStatusData(child, chunk));
    status.on('error', () => undefined);
    status.on('end', () => this.onStatusEnd(child));
    proc.on('error', (err) => msg.warn(`process ${service.execPath} pid ${child.pid}: ${strerror(err)}`));
    proc.once('exit', (code, signal) => this.onExit(child, code, signal));
    if (this.options.verbose) msg.info(`spawn command ${service.execPath}; pid ${child.pid}`);
    this.emit('spawn', { service: service.entry.service, pid: child.pid, generation });
  }

  /** Postfix's child would log the exec failure and exit before its first connection: same outcome. */
  private execFailed(service: Service, err: unknown): void {
    msg.warn(`master_spawn: exec ${service.execPath}: ${strerror(err)}`);
    this.badStartup(service);
  }

  private terminate(child: Child): void {
    child.terminating = true;
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // Already gone; its exit event is on its way.
    }
  }

  private throttle(service: Service): void {
    if (service.throttled) return;
    service.throttled = true;
    if (this.options.verbose) msg.info(`throttling command ${service.execPath}`);
    service.throttleTimer = setTimeout(() => {
      service.throttleTimer = null;
      service.throttled = false;
      if (this.options.verbose) msg.info(`throttle released for command ${service.execPath}`);
      this.ensureAvailable(service);
    }, this.settings.serviceThrottleTime * 1000);
  }

  private badStartup(service: Service): void {
    if (service.throttled || service.removed || this.stopping) return;
    msg.warn(`${service.execPath}: bad command startup -- throttling`);
    this.throttle(service);
  }

  // ---- child status ----

  private onStatusData(channel: Child, chunk: Buffer): void {
    for (const message of channel.framer.push(chunk)) this.onStatusMessage(channel.service, message);
  }

  private onStatusEnd(channel: Child): void {
    const pending = channel.framer.pending();
    if (pending > 0) {
      const pid = channel.framer.pendingPid() ?? channel.pid;
      msg.warn(`service ${channel.service.label}: child (pid ${pid}) sent partial status update (${pending} bytes)`);
    }
  }

  private onStatusMessage(service: Service, message: StatusMessage): void {
    if (this.options.verbose) {
      msg.info(`master_status_event: pid ${message.pid} gen ${message.generation} avail ${message.status}`);
    }
    const child = this.children.get(message.pid);
    if (child === undefined || child.service !== service) {
      if (this.options.verbose) msg.info(`master_status_event: process id not found: ${message.pid}`);
      return;
    }
    if (child.generation !== message.generation) {
      msg.info(`ignoring status update from child pid ${message.pid} generation ${message.generation}`);
      return;
    }
    if (message.status === MASTER_STAT_AVAIL) {
      if (child.available) return;
      child.available = true;
      child.useCount += 1;
      service.available += 1;
    } else if (message.status === MASTER_STAT_TAKEN) {
      if (!child.available) return;
      child.available = false;
      service.available -= 1;
      if (service.wakeupOnFirstUse) {
        service.wakeupOnFirstUse = false;
        if (this.options.verbose) msg.info(`start conditional timer for ${serviceEndpoint(service.entry)}`);
        this.wakeupEvent(service);
      }
    } else {
      msg.warn(`master_status_event: ignoring unknown status: ${message.status} allegedly from pid: ${message.pid}`);
      return;
    }
    this.emit('status', { service: service.entry.service, ...message });
    this.ensureAvailable(service);
  }

  private closeStatus(child: Child): void {
    child.status?.destroy();
    child.status = null;
  }

  // ---- child death ----

  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    const status = child.status;
    // Messages the child wrote just before exiting may still be unread; they decide its use count.
    if (status === null || status.destroyed || status.readableEnded) {
      this.reap(child, code, signal);
      return;
    }
    let done = false;
    const reapOnce = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.reap(child, code, signal);
    };
    const timer = setTimeout(reapOnce, STATUS_DRAIN_MS);
    status.once('close', reapOnce);
  }

  private reap(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    const service = child.service;
    if (this.options.verbose) msg.info(`master_reap_child: pid ${child.pid}`);
    const quiet = this.stopping || service.removed;
    if (!quiet && (code !== 0 || signal !== null)) {
      if (code !== null) msg.warn(`process ${service.execPath} pid ${child.pid} exit status ${code}`);
      if (signal !== null && !(child.terminating && signal === 'SIGTERM')) {
        msg.warn(`process ${service.execPath} pid ${child.pid} killed by signal ${signalNumber(signal)}`);
      }
      if (child.useCount === 0) this.badStartup(service);
    }
    this.closeStatus(child);
    service.children.delete(child.pid);
    this.children.delete(child.pid);
    if (child.available) service.available -= 1;
    this.emit('exit', { service: service.entry.service, pid: child.pid, code, signal });
    this.ensureAvailable(service);
  }

  // ---- wakeup ----

  /** master_wakeup_timer_event: trigger now (unless throttled), then again after wakeupTime. */
  private wakeupEvent(service: Service): void {
    if (service.removed || this.stopping) return;
    if (!service.throttled) {
      if (this.options.verbose) msg.info(`master_wakeup_timer_event: service ${serviceEndpoint(service.entry)}`);
      sendWakeup(service.wakeupTarget).then(
        () => this.emit('wakeup', { service: service.entry.service }),
        (err: unknown) => msg.warn(`master_wakeup_timer_event: service ${service.label}: ${strerror(err)}`),
      );
    }
    service.wakeupTimer = setTimeout(() => this.wakeupEvent(service), service.entry.wakeupTime * 1000);
  }
}
