/*
 * client.ts - the benchmark's flush client: raw attr0 bytes on the service's UNIX socket, the
 * way Postfix's flush_clnt talks (read the announcement, write one request, read the status
 * reply), timed with the monotonic clock. No dependency on the daemon's own code, so it measures
 * any flush implementation.
 *
 * Exports: AttrListSplitter, encodeRequest, Exchange, ExchangeOptions, exchange, exchangeOn,
 * QueueIdSource.
 */
import net from 'node:net';

/**
 * Splits an attr0 byte stream into attribute lists: name NUL value NUL ..., a list ends with an
 * empty name (a lone NUL where a name is due).
 */
export class AttrListSplitter {
  private pending = '';
  private current: [string, string][] = [];
  private name: string | null = null;

  /** Feed bytes; returns the lists completed by them. */
  push(chunk: Buffer): [string, string][][] {
    this.pending += chunk.toString('latin1');
    const done: [string, string][][] = [];
    for (let nul = this.pending.indexOf('\0'); nul >= 0; nul = this.pending.indexOf('\0')) {
      const token = this.pending.slice(0, nul);
      this.pending = this.pending.slice(nul + 1);
      if (this.name === null) {
        if (token === '') {
          done.push(this.current);
          this.current = [];
        } else {
          this.name = token;
        }
      } else {
        this.current.push([this.name, token]);
        this.name = null;
      }
    }
    return done;
  }
}

/** An attr0 request list, e.g. encodeRequest([['request', 'add'], ['site', s], ['queue_id', id]]). */
export function encodeRequest(attrs: readonly (readonly [string, string])[]): Buffer {
  return Buffer.from(`${attrs.map(([n, v]) => `${n}\0${v}\0`).join('')}\0`, 'latin1');
}

export interface Exchange {
  /** ms from the connect call to the complete status reply. */
  replyMs: number;
  /** ms from the connect call to the server's close (only with waitForClose). */
  closeMs: number | null;
  /** The reply's `status` value. */
  status: string;
}

export interface ExchangeOptions {
  /** Also wait until the server closes the connection (rfrsh and purge reply before they work). */
  waitForClose?: boolean;
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
}

/** One connection to the flush socket: announcement, `request`, status reply (and close). */
export async function exchange(socketPath: string, request: Buffer, opts: ExchangeOptions = {}): Promise<Exchange> {
  return await exchangeOn(() => net.connect(socketPath), request, opts);
}

/**
 * As exchange, on a duplex stream made by `open` (a socket connected to the service, or the
 * parent's end of a socket pair whose other end is a -S daemon's stdin and stdout).
 */
export async function exchangeOn(open: () => net.Socket, request: Buffer, opts: ExchangeOptions = {}): Promise<Exchange> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
  return await new Promise<Exchange>((resolve, reject) => {
    const sock = open();
    const splitter = new AttrListSplitter();
    let lists = 0;
    let reply: { ms: number; status: string } | null = null;
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (error !== null) reject(error);
      else if (reply === null) reject(new Error('closed before the reply'));
      else resolve({ replyMs: reply.ms, closeMs: opts.waitForClose ? elapsed() : null, status: reply.status });
    };
    const timer = setTimeout(() => settle(new Error(`no ${reply === null ? 'reply' : 'close'} within ${timeoutMs} ms`)),
      timeoutMs);
    sock.on('data', (chunk: Buffer) => {
      for (const list of splitter.push(chunk)) {
        lists++;
        if (lists === 1) {
          if (list[0]?.[0] !== 'protocol') {
            settle(new Error(`unexpected announcement ${JSON.stringify(list)}`));
            return;
          }
          sock.write(request);
        } else if (lists === 2) {
          const status = list.find(([name]) => name === 'status')?.[1];
          if (status === undefined) {
            settle(new Error(`reply without status: ${JSON.stringify(list)}`));
            return;
          }
          reply = { ms: elapsed(), status };
          if (!opts.waitForClose) settle(null);
        }
      }
    });
    sock.on('end', () => settle(null));
    sock.on('close', () => settle(null));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      /* A reset after the reply is still a close. */
      settle(reply !== null && err.code === 'ECONNRESET' ? null : err);
    });
  });
}

/**
 * Fresh, valid, distinct queue ids (12 upper-case hex digits). The first digit cycles through
 * 0-F, so queue files made from them spread over the hashed deferred/ subdirectories as real
 * Postfix ids do.
 */
export class QueueIdSource {
  private next: number;

  constructor(seed = Date.now() % 0x10000000) {
    this.next = seed;
  }

  id(): string {
    const n = this.next++;
    return `${(n % 16).toString(16)}${n.toString(16).padStart(11, '0')}`.toUpperCase();
  }

  ids(count: number): string[] {
    return Array.from({ length: count }, () => this.id());
  }
}
