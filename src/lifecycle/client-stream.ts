/*
 * client-stream.ts - the client connection as a service sees it: pull one
 * chunk at a time, write and wait until the kernel has the bytes, each step
 * limited by ipc_timeout (Postfix's timed_ipc_setup on the client VSTREAM).
 * Connections from master's listen sockets are FdStreams (util/fd-stream.ts);
 * this file adds the client of -S, on stdin and stdout.
 *
 * standaloneClient(): when stdin and stdout are sockets or pipes (a socket
 * pair, as C requires, or two pipes) they are served like a connection, with
 * plain system calls and no net module (a few milliseconds of every start):
 * reads from stdin, writes to stdout, both made non-blocking as libuv would.
 * A terminal or a file goes through Node's process.stdin/stdout (StreamClient),
 * which handle those (libuv reopens a terminal rather than making the user's
 * shell non-blocking).
 *
 * StreamClient reads only when the service asks: the stream is paused until
 * the first readChunk(), and Node's readable buffer (its highWaterMark)
 * bounds what is read ahead, so a client that sends a flood costs bounded
 * memory. Writes resolve when the data has been handed over. After an error
 * or a timeout the stream stays failed: later calls reject with the same
 * error, as a Postfix VSTREAM keeps its error flag.
 *
 * Exports: ClientStream, standaloneClient.
 */
import { fstatSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { setNonBlocking } from '../native/posix.js';
import { FdStream, timeoutError, timerMs } from '../util/fd-stream.js';

export interface ClientStream {
  /** "<service> socket" (e.g. "flush socket"), or "stdin" with -S; for log messages. */
  readonly name: string;
  /**
   * The bytes that have arrived, at least one; null at end of file. Rejects
   * with an error whose code is 'ETIMEDOUT' after ipc_timeout without data.
   * Calls must not overlap.
   */
  readChunk(): Promise<Buffer | null>;
  /** Resolves once the kernel has taken the data; rejects on error (e.g. EPIPE) or ipc_timeout. */
  write(data: Buffer): Promise<void>;
}

/** -S on a terminal or a file: Node's stdio streams. */
class StreamClient implements ClientStream {
  private failure: Error | undefined;
  private ended = false;
  private reading = false;
  private wake: (() => void) | undefined;
  private readonly timeoutMs: number;

  constructor(
    readonly name: string,
    private readonly input: Readable,
    private readonly output: Writable,
    timeoutSeconds: number,
  ) {
    this.timeoutMs = timerMs(timeoutSeconds);
    const fail = (error: Error): void => {
      this.failure ??= error;
      this.wake?.();
    };
    const end = (): void => {
      this.ended = true;
      this.wake?.();
    };
    input.on('error', fail);
    input.on('end', end);
    input.on('close', end);
    if ((output as object) !== input) output.on('error', fail);
  }

  async readChunk(): Promise<Buffer | null> {
    if (!this.reading) {
      this.reading = true;
      this.input.on('readable', () => this.wake?.());
    }
    for (;;) {
      if (this.failure) throw this.failure;
      const chunk = this.input.read() as Buffer | null;
      if (chunk !== null) return chunk;
      if (this.ended) return null;
      await this.waitForProgress('read');
    }
  }

  write(data: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failure ??= timeoutError('write', this.name);
        reject(this.failure);
      }, this.timeoutMs);
      this.output.write(data, (error) => {
        clearTimeout(timer);
        if (error) {
          this.failure ??= error;
          reject(error);
        } else {
          resolve();
        }
      });
    });
  }

  private waitForProgress(operation: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        this.failure ??= timeoutError(operation, this.name);
        reject(this.failure);
      }, this.timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** -S on sockets or pipes: reads from stdin, writes to stdout, each an FdStream. */
class StdioClient implements ClientStream {
  readonly name = 'stdin';
  private readonly input: FdStream;
  private readonly output: FdStream;

  constructor(timeoutSeconds: number) {
    setNonBlocking(0);
    setNonBlocking(1);
    // One name for both directions, as C's -S stream is "stdin" (so are its messages).
    this.input = new FdStream('stdin', 0, timeoutSeconds);
    this.output = new FdStream('stdin', 1, timeoutSeconds);
  }

  readChunk(): Promise<Buffer | null> {
    return this.input.readChunk();
  }

  write(data: Buffer): Promise<void> {
    return this.output.write(data);
  }
}

function isSocketOrPipe(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isSocket() || stat.isFIFO();
  } catch {
    return false;
  }
}

/** The client of -S: stdin and stdout, with ipc_timeout on each wait. */
export function standaloneClient(timeoutSeconds: number): ClientStream {
  if (isSocketOrPipe(0) && isSocketOrPipe(1)) return new StdioClient(timeoutSeconds);
  return new StreamClient('stdin', process.stdin, process.stdout, timeoutSeconds);
}
