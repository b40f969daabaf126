/*
 * harness.ts - drives serveFlushClient() without sockets or master: a scripted
 * client, a scratch queue directory (the process's cwd, as under master) and a
 * stand-in qmgr listening on public/qmgr that records trigger bytes.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { serveFlushClient } from '../../src/flush/service.js';
import type { FlushSettings } from '../../src/flush/settings.js';
import { DomainList } from '../../src/match/domain-list.js';
import { queueHashing } from '../../src/queue/queue-path.js';
import { msg } from '../../src/util/msg.js';

export interface Conversation {
  /** Every byte the service wrote, announcement included. */
  output: Buffer;
  /** Output after the 31-byte announcement: the status reply, if any. */
  reply: Buffer;
  warnings: string[];
}

/** Runs one connection; `chunks` are what successive reads return, then EOF. */
export async function converse(settings: FlushSettings, chunks: Buffer[]): Promise<Conversation> {
  const written: Buffer[] = [];
  const warnings: string[] = [];
  const drop = msg.addSink((severity, text) => {
    if (severity !== 'info') warnings.push(`${severity}: ${text}`);
  });
  const queue = [...chunks];
  try {
    await serveFlushClient(
      {
        name: 'flush socket',
        readChunk: async () => queue.shift() ?? null,
        write: async (data: Buffer) => {
          written.push(Buffer.from(data));
        },
      },
      settings,
    );
  } finally {
    drop();
  }
  const output = Buffer.concat(written);
  return { output, reply: output.subarray(31), warnings };
}

export function makeSettings(domains: string, overrides: Partial<FlushSettings> = {}): FlushSettings {
  return {
    domains: new DomainList(domains, {
      listName: 'fast_flush_domains',
      parentStyle: true,
      utf8CaseFolding: true,
    }),
    hashing: queueHashing(['deferred', 'defer'], 1),
    refreshTime: 12 * 3600,
    purgeTime: 7 * 86400,
    queueTriggerPath: 'public/qmgr',
    triggerTimeout: 10,
    transitionalIdna: false,
    compactOnRefresh: false,
    ...overrides,
  };
}

export interface FakeQmgr {
  /** Trigger bytes per connection, e.g. ['F\0', 'I\0']. */
  triggers: string[];
  /** Waits (up to 2 s) until `count` triggers arrived, then a little more for strays. */
  settle(count: number): Promise<string[]>;
  close(): Promise<void>;
}

/** A scratch queue_directory made the cwd, with a recording qmgr on public/qmgr. */
export async function enterScratchQueue(): Promise<FakeQmgr> {
  const dir = mkdtempSync(join(tmpdir(), 'ff-flush-'));
  for (const sub of ['flush', 'deferred', 'incoming', 'public']) mkdirSync(join(dir, sub), { mode: 0o700 });
  process.chdir(dir);
  const triggers: string[] = [];
  const server: Server = createServer((socket) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\0')) {
        triggers.push(received);
        socket.end();
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen('public/qmgr', resolve));
  const settle = async (count: number): Promise<string[]> => {
    const deadline = Date.now() + 2000;
    while (triggers.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    return [...triggers];
  };
  return {
    triggers,
    settle,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        }),
      ),
  };
}

export function request(...parts: string[]): Buffer {
  return Buffer.from(`${parts.join('\0')}\0\0`, 'latin1');
}

export const STATUS_OK = Buffer.from('status\x000\x00\x00', 'latin1');
export const STATUS_BAD = Buffer.from('status\x003\x00\x00', 'latin1');
export const STATUS_DENY = Buffer.from('status\x004\x00\x00', 'latin1');
export const STATUS_FAIL = Buffer.from('status\x004294967295\x00\x00', 'latin1');
