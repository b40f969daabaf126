/*
 * flush-server-fake.ts - a scripted flush(8) server for the client tests (not
 * a test file). It records every byte each client sent and answers according
 * to its behaviour:
 *   status N    announce, read one request list, reply status N (as unsigned)
 *   silent      announce nothing and never answer
 *   close       close at once, before the announcement
 *   close-after-request   announce, read the request, close without a reply
 *   protocol X  announce protocol X, then behave like "status 0"
 *
 * Exports: FakeFlushServer, startFakeFlushServer.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { scratchDir } from './support.js';

export type Behaviour =
  | { kind: 'status'; status: number }
  | { kind: 'silent' }
  | { kind: 'close' }
  | { kind: 'close-after-request' }
  | { kind: 'protocol'; name: string };

export interface FakeFlushServer {
  path: string;
  server: Server;
  /** Bytes received per connection, and the number of reads they arrived in. */
  received: Array<{ bytes: Buffer; reads: number }>;
  behaviour: Behaviour;
}

const NUL = '\0';

function announcement(protocol: string): Buffer {
  return Buffer.from(`protocol${NUL}${protocol}${NUL}${NUL}`, 'latin1');
}

/** A request list ends with an empty name: two NULs in a row (the value's and the terminator). */
function requestComplete(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[bytes.length - 1] === 0 && bytes[bytes.length - 2] === 0;
}

export async function startFakeFlushServer(t: ExecutionContext, behaviour: Behaviour): Promise<FakeFlushServer> {
  const path = join(scratchDir(t), 'flush');
  const fake: FakeFlushServer = { path, server: createServer(), received: [], behaviour };
  const sockets = new Set<Socket>();
  fake.server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const entry = { bytes: Buffer.alloc(0), reads: 0 };
    fake.received.push(entry);
    const b = fake.behaviour;
    if (b.kind === 'close') {
      socket.destroy();
      return;
    }
    if (b.kind === 'silent') return;
    socket.write(announcement(b.kind === 'protocol' ? b.name : 'queue_flush_protocol'));
    socket.on('data', (chunk: Buffer) => {
      entry.bytes = Buffer.concat([entry.bytes, chunk]);
      entry.reads += 1;
      if (!requestComplete(entry.bytes)) return;
      if (b.kind === 'close-after-request') {
        socket.end();
        return;
      }
      const status = b.kind === 'status' ? b.status : 0;
      socket.end(Buffer.from(`status${NUL}${status >>> 0}${NUL}${NUL}`, 'latin1'));
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(path, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        fake.server.close(() => resolve());
      }),
  );
  return fake;
}
