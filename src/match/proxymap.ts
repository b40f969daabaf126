/*
 * proxymap.ts - lookup tables served by Postfix's own proxymap(8) service,
 * over its attribute protocol, as Postfix's dict_proxy client speaks it.
 *
 * fastflush does not read Berkeley DB, LMDB, CDB or database-backed tables
 * itself: every table type it does not implement natively (hash:, btree:,
 * lmdb:, cdb:, cidr:, ldap:, mysql:, pgsql:, ... and every proxy: table) is
 * asked of proxymap. The conversation is the C client's: connect to
 * private/<proxymap_service_name> (relative to the working directory, which
 * is queue_directory, or "/" in the chroot), read the "proxymap_protocol"
 * announcement, then
 *   request=open   table=type:name flags=0            -> status, flags
 *   request=lookup table=type:name flags=... key=...  -> status, value
 * on one connection shared by all tables of the process. open tells whether
 * the table has fixed keys (then parent domains are looked up too) or
 * patterns. proxymap only serves tables listed as proxy:type:name in
 * proxy_read_maps; a refusal is logged with the exact text to add.
 *
 * Unlike C, which retries forever, nothing here waits longer than
 * ipc_timeout: the connect (non-blocking, UNIX-domain) completes or fails at
 * once, each write and each read have that limit, and a failure makes the
 * lookup fail (FLUSH_STAT_FAIL). The connection is an FdStream, not a
 * net.Socket. A connection that proxymap closed while idle is re-opened
 * once; an idle connection is closed after ipc_idle, as C's clnt_stream does.
 *
 * Exports: ProxymapClient, ProxymapOptions, proxymapTable.
 */
import { AttrReader } from '../protocol/reader.js';
import { serializeAttrs } from '../protocol/serialize.js';
import { ATTR_FLAG, type OutAttr, type ScanResult, type Wanted } from '../protocol/types.js';
import { connectSocket, errnoError } from '../native/posix.js';
import { strerror } from '../util/errors.js';
import { FdStream } from '../util/fd-stream.js';
import { msg } from '../util/msg.js';
import { TableError, type LookupTable } from './table.js';

/** dict_proxy.h PROXY_STAT_*. */
const PROXY_STATUS = { OK: 0, NOKEY: 1, RETRY: 2, BAD: 3, DENY: 4, CONFIG: 5 } as const;

/** dict.h: DICT_FLAG_FIXED in the flags an open reply carries. */
const DICT_FLAG_FIXED = 1 << 4;
/**
 * The flags Postfix 3.7's match_list sends with each lookup (DICT_FLAG_LOCK |
 * DICT_FLAG_UTF8_REQUEST, observed on the wire); open sends only the
 * instance flags, which are none.
 */
const LOOKUP_FLAGS = (1 << 6) | (1 << 19);
const OPEN_FLAGS = 0;
const PROTOCOL = 'proxymap_protocol';
const MAX_REPLY_STRING = 65536;

export interface ProxymapOptions {
  /** proxymap_service_name. */
  service: string;
  /** ipc_timeout, seconds: the limit for connect and for each write and read. */
  ipcTimeout: number;
  /** ipc_idle, seconds: close the shared connection after this much idle time. */
  ipcIdle: number;
}

class Connection {
  readonly reader: AttrReader;

  constructor(readonly stream: FdStream) {
    this.reader = new AttrReader('attr0', { read: () => stream.readChunk() }, {
      streamName: stream.name,
      maxStringLength: MAX_REPLY_STRING,
    });
  }

  get name(): string {
    return this.stream.name;
  }

  close(): void {
    this.stream.close();
  }
}

/**
 * Failure to talk to proxymap at all (as opposed to a reply that says no).
 * `closed`: the connection was found closed, which a fresh one may cure; a
 * timeout is not retried, so no lookup waits longer than ipc_timeout per step.
 */
class TransportError extends Error {
  constructor(message: string, readonly closed = false) {
    super(message);
  }
}

const CLOSED_CODES = new Set(['EPIPE', 'ECONNRESET']);

/** The process's one connection to proxymap, shared by every proxied table. */
export class ProxymapClient {
  private connection: Connection | undefined;
  /** Requests go out one at a time: the protocol has no request ids. */
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly path: string;

  constructor(private readonly options: ProxymapOptions) {
    this.path = `private/${options.service}`;
  }

  get service(): string {
    return this.options.service;
  }

  /** Sends one request and reads its reply; throws TableError when proxymap cannot be reached. */
  request(attrs: OutAttr[], wanted: Wanted[]): Promise<ScanResult> {
    const run = this.queue.then(() => this.exchange(attrs, wanted));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(attrs: OutAttr[], wanted: Wanted[]): Promise<ScanResult> {
    clearTimeout(this.idleTimer);
    const reused = this.connection !== undefined;
    try {
      return await this.once(attrs, wanted);
    } catch (error) {
      this.drop();
      if (!(error instanceof TransportError)) throw error;
      // proxymap may have closed a connection that sat idle: one fresh try.
      if (reused && error.closed) {
        try {
          return await this.once(attrs, wanted);
        } catch (retryError) {
          this.drop();
          if (!(retryError instanceof TransportError)) throw retryError;
          throw this.report(retryError);
        }
      }
      throw this.report(error);
    } finally {
      if (this.connection) {
        this.idleTimer = setTimeout(() => this.drop(), this.options.ipcIdle * 1000);
        this.idleTimer.unref();
      }
    }
  }

  private report(error: TransportError): TableError {
    msg.warn(error.message);
    return new TableError(error.message);
  }

  private drop(): void {
    this.connection?.close();
    this.connection = undefined;
  }

  private async once(attrs: OutAttr[], wanted: Wanted[]): Promise<ScanResult> {
    const conn = this.connection ?? (await this.connect());
    try {
      await conn.stream.write(serializeAttrs('attr0', attrs));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      throw new TransportError(`write ${conn.name}: ${strerror(error)}`, CLOSED_CODES.has(code));
    }
    const reply = await conn.reader.scan(ATTR_FLAG.STRICT, wanted);
    if (reply.count !== wanted.length) throw this.readFailure(conn);
    return reply;
  }

  /** Why a reply could not be read: end of input (closed), an I/O error, or a malformed reply. */
  private readFailure(conn: Connection): TransportError {
    const failure = conn.reader.lastError();
    if (failure) {
      const code = (failure as NodeJS.ErrnoException).code ?? '';
      return new TransportError(`read ${conn.name}: ${strerror(failure)}`, CLOSED_CODES.has(code));
    }
    return new TransportError(`read ${conn.name}: unexpected end of input or malformed reply`, true);
  }

  private async connect(): Promise<Connection> {
    // A UNIX-domain connect completes or fails at once (a full backlog: EAGAIN, as in C).
    const fd = connectSocket(this.path);
    if (fd < 0) throw new TransportError(`connect to subsystem ${this.path}: ${strerror(errnoError('connect', -fd))}`);
    const conn = new Connection(new FdStream(`${this.path} socket`, fd, this.options.ipcTimeout));
    const hello = await conn.reader.scan(ATTR_FLAG.STRICT, [{ kind: 'streq', name: 'protocol', expected: PROTOCOL }]);
    if (hello.count !== 0 || conn.reader.lastError()) {
      conn.close();
      throw this.readFailure(conn);
    }
    this.connection = conn;
    return conn;
  }
}

type OpenState = { fixed: boolean } | { denied: string };

/**
 * A table proxymap serves: `table` is the type:name proxymap opens (without
 * any proxy: prefix), `listed` how the table was written in the list (for
 * messages).
 */
export function proxymapTable(client: ProxymapClient, table: string, listed: string): LookupTable {
  let state: OpenState | undefined;
  const denial = (): string => {
    const hint = `to let fastflush read it, list proxy:${table} in main.cf:proxy_read_maps`;
    return `${client.service} service is not configured for table "${table}": ${hint}`;
  };
  const open = async (): Promise<OpenState> => {
    if (state) return state;
    const reply = await client.request(
      [
        { kind: 'str', name: 'request', value: 'open' },
        { kind: 'str', name: 'table', value: table },
        { kind: 'int', name: 'flags', value: OPEN_FLAGS },
      ],
      [{ kind: 'int', name: 'status' }, { kind: 'int', name: 'flags' }],
    );
    const status = reply.values.get('status') as number;
    if (status === PROXY_STATUS.OK) {
      state = { fixed: ((reply.values.get('flags') as number) & DICT_FLAG_FIXED) !== 0 };
    } else if (status === PROXY_STATUS.DENY) {
      // Final for this process, as in C (where it is fatal); proxymap's own log names the same fix.
      state = { denied: denial() };
      msg.error(state.denied);
    } else {
      const reason = `${client.service} open failed for table "${table}": ${status === PROXY_STATUS.BAD ? 'invalid request' : `unexpected status ${status}`}`;
      msg.warn(reason);
      throw new TableError(reason);
    }
    return state;
  };
  const usable = async (): Promise<{ fixed: boolean }> => {
    const opened = await open();
    if ('denied' in opened) {
      msg.warn(`${listed} is unavailable. ${opened.denied}`);
      throw new TableError(opened.denied);
    }
    return opened;
  };
  return {
    name: listed,
    async fixedKeys(): Promise<boolean> {
      return (await usable()).fixed;
    },
    async lookup(key: string): Promise<boolean> {
      await usable();
      const reply = await client.request(
        [
          { kind: 'str', name: 'request', value: 'lookup' },
          { kind: 'str', name: 'table', value: table },
          { kind: 'int', name: 'flags', value: LOOKUP_FLAGS },
          { kind: 'str', name: 'key', value: Buffer.from(key, 'latin1') },
        ],
        [{ kind: 'int', name: 'status' }, { kind: 'str', name: 'value' }],
      );
      const status = reply.values.get('status') as number;
      switch (status) {
        case PROXY_STATUS.OK:
          return true;
        case PROXY_STATUS.NOKEY:
          return false;
        case PROXY_STATUS.DENY:
          msg.warn(denial());
          throw new TableError(denial());
        case PROXY_STATUS.RETRY:
        case PROXY_STATUS.CONFIG:
          throw new TableError(`${table}: lookup error`);
        default: {
          const reason = `${client.service} lookup failed for table "${table}": ${status === PROXY_STATUS.BAD ? 'invalid request' : `unexpected reply status ${status}`}`;
          msg.warn(reason);
          throw new TableError(reason);
        }
      }
    },
  };
}
