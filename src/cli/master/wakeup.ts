/*
 * wakeup.ts - the wakeup trigger master(8) sends to a service
 * (spec-protocol-master.md §5.8, real-postfix.md §4.5; unix_trigger/inet_trigger).
 *
 * Connect (giving up after one second), write "W", then a NUL in a second
 * write. The connection is then kept until the peer sends anything or closes
 * it, or the timeout plus 100 s pass: closing at once could make the kernel
 * drop the unread request. The promise settles once the writes are done (or
 * failed); the lingering socket never keeps the process alive.
 *
 * Exports: WakeupTarget, sendWakeup.
 */
import { createConnection, type Socket } from 'node:net';

export type WakeupTarget = { kind: 'unix'; path: string } | { kind: 'inet'; host: string; port: number };

const TRIGGER_REQ_WAKEUP = Buffer.from('W');
const NUL = Buffer.from([0]);
const LINGER_EXTRA_SEC = 100;

function timeoutError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('wakeup timeout');
  err.code = 'ETIMEDOUT';
  return err;
}

function writeChunk(socket: Socket, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

export async function sendWakeup(target: WakeupTarget, timeoutSec = 1): Promise<void> {
  const socket =
    target.kind === 'unix' ? createConnection({ path: target.path }) : createConnection({ host: target.host, port: target.port });
  socket.unref();
  let failure: Error | null = null;
  socket.on('error', (err) => {
    failure = err;
  });
  const deadline = setTimeout(() => socket.destroy(timeoutError()), timeoutSec * 1000);
  deadline.unref();
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('close', () => reject(failure ?? new Error('connection closed')));
    });
    await writeChunk(socket, TRIGGER_REQ_WAKEUP);
    await writeChunk(socket, NUL);
  } catch (err) {
    socket.destroy();
    throw failure ?? err;
  } finally {
    clearTimeout(deadline);
  }
  const linger = setTimeout(() => socket.destroy(), (timeoutSec + LINGER_EXTRA_SEC) * 1000);
  linger.unref();
  socket.once('data', () => socket.destroy());
  socket.once('close', () => clearTimeout(linger));
  socket.resume();
}
