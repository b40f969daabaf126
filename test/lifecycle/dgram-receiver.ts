/*
 * dgram-receiver.ts - receives UNIX datagrams for the logging tests. Node can
 * send them only through our addon and cannot receive them at all, so a small
 * python3 program binds the socket and prints each datagram as a JSON line.
 *
 * Exports: hasPython, DgramReceiver, startDgramReceiver.
 */
import { spawn, spawnSync } from 'node:child_process';

export const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

const RECEIVER = `
import json, os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
print("ready", flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode("latin-1")), flush=True)
`;

export interface DgramReceiver {
  /** Resolves with the first count datagrams; rejects after timeoutMs. */
  next(count: number, timeoutMs?: number): Promise<string[]>;
  stop(): void;
}

export async function startDgramReceiver(path: string): Promise<DgramReceiver> {
  const child = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: string[] = [];
  let buffered = '';
  let wake: (() => void) | undefined;
  let ready: () => void = () => {};
  const isReady = new Promise<void>((resolve) => { ready = resolve; });
  child.stdout.on('data', (data: Buffer) => {
    buffered += data.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line === 'ready') ready();
      else received.push(JSON.parse(line) as string);
    }
    wake?.();
  });
  await isReady;
  return {
    async next(count, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() >= deadline) throw new Error(`received ${received.length} datagrams, wanted ${count}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return received.slice(0, count);
    },
    stop: () => { child.kill(); },
  };
}
