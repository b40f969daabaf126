/*
 * fake-qmgr.ts - a stand-in for qmgr's public socket in a scratch queue: it reads each
 * trigger up to its NUL and closes, as qmgr does, so a flush daemon's lingering trigger
 * connection ends at once; close() drops whatever is still connected.
 *
 * Exports: listenFakeQmgr(path) -> { close() }.
 */
import net from 'node:net';

export async function listenFakeQmgr(path: string): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      if (chunk.includes(0)) socket.end();
    });
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
