/*
 * client-stream.ts - the client connection as a service sees it: pull one
 * chunk at a time, write and wait until the kernel has the bytes, each step
 * limited by ipc_timeout (Postfix's timed_ipc_setup on the client VSTREAM).
 *
 * Reads happen only when the service asks: the stream is paused until the
 * first readChunk(), and Node's readable buffer (its highWaterMark) bounds
 * what is read ahead, so a client that sends a flood costs bounded memory.
 * Writes resolve when the data has been handed to the kernel, so a service
 * that awaits each write cannot pile up output for a client that does not read.
 *
 * After an error or a timeout the stream stays failed: later calls reject with
 * the same error, as a Postfix VSTREAM keeps its error flag.
 *
 * Exports: ClientStream, StreamClient (util/fd-stream.ts's FdStream is the
 * other ClientStream).
 */
import type net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { timeoutError, timerMs } from '../util/fd-stream.js';

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

export class StreamClient implements ClientStream {
  private failure: Error | undefined;
  private ended = false;
  private reading = false;
  private wake: (() => void) | undefined;
  private readonly timeoutMs: number;

  private constructor(
    readonly name: string,
    private readonly input: Readable,
    private readonly output: Writable,
    timeoutSeconds: number,
    /** Whether close() ends and destroys the streams (not for the process's stdio). */
    private readonly owned: boolean,
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

  /** An accepted connection; it must have been accepted paused (pauseOnConnect). */
  static fromSocket(socket: net.Socket, name: string, timeoutSeconds: number): StreamClient {
    return new StreamClient(name, socket, socket, timeoutSeconds, true);
  }

  /** -S mode: requests on stdin, replies on stdout, whatever kind of file each one is. */
  static fromStdio(timeoutSeconds: number): StreamClient {
    return new StreamClient('stdin', process.stdin, process.stdout, timeoutSeconds, false);
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

  /**
   * Flushes and closes an accepted connection, waiting at most ipc_timeout
   * for the output to drain (Postfix's vstream_fclose). Output that the
   * kernel already has needs no shutdown first: close(2) alone, as in C, is
   * one system call and one event-loop turn less per connection.
   */
  async close(): Promise<void> {
    if (!this.owned) return;
    const socket = this.output;
    if (!socket.destroyed && socket.writableLength > 0 && !socket.writableEnded && !this.failure) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.timeoutMs);
        socket.end(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    socket.destroy();
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
