/*
 * proxymap.test.ts - the proxymap client against a scripted stand-in for Postfix's proxymap
 * server on private/proxymap (relative to the working directory, as in the daemon): the exact
 * requests (names, flags, keys) the C client sends, fixed-key versus pattern tables, refusals,
 * errors, a server that closed an idle connection, and a server that never answers.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainList } from '../../src/match/domain-list.js';
import { ProxymapClient } from '../../src/match/proxymap.js';
import { msg } from '../../src/util/msg.js';

const ANNOUNCEMENT = Buffer.from('protocol\0proxymap_protocol\0\0', 'latin1');

type Request = Record<string, string>;
type Reply = Array<[string, string]>;

/** A fake proxymap: announces itself, then answers each attribute list with `answer(request)`. */
class FakeProxymap {
  readonly requests: Request[] = [];
  connections = 0;
  private readonly server: net.Server;

  constructor(answer: (r: Request, socket: net.Socket) => Reply | null) {
    this.server = net.createServer((socket) => {
      this.connections++;
      socket.write(ANNOUNCEMENT);
      let pending = Buffer.alloc(0);
      socket.on('data', (data: Buffer) => {
        pending = Buffer.concat([pending, data]);
        for (;;) {
          const end = pending.indexOf('\0\0');
          if (end < 0) return;
          const fields = pending.subarray(0, end).toString('latin1').split('\0');
          pending = pending.subarray(end + 2);
          const request: Request = {};
          for (let i = 0; i + 1 < fields.length; i += 2) request[fields[i] as string] = fields[i + 1] as string;
          this.requests.push(request);
          const reply = answer(request, socket);
          if (reply) socket.write(Buffer.from(`${reply.map(([k, v]) => `${k}\0${v}\0`).join('')}\0`, 'latin1'));
        }
      });
      socket.on('error', () => undefined);
    });
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve) => this.server.listen(path, resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/* The client connects to private/<service> relative to the working directory. */
const work = mkdtempSync(join(tmpdir(), 'ff-proxymap-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
mkdirSync(join(work, 'private'));
process.chdir(work);
let serviceCount = 0;

async function withServer(
  t: ExecutionContext,
  answer: (r: Request, socket: net.Socket) => Reply | null,
  ipcTimeout = 5,
): Promise<{ fake: FakeProxymap; client: ProxymapClient }> {
  const service = `proxymap${serviceCount++}`;
  const fake = new FakeProxymap(answer);
  await fake.listen(join('private', service));
  t.teardown(() => fake.close());
  return { fake, client: new ProxymapClient({ service, ipcTimeout, ipcIdle: 5 }) };
}

function capture(t: ExecutionContext): string[] {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  return lines;
}

function list(value: string, client: ProxymapClient, parentStyle = true): DomainList {
  return new DomainList(value, { listName: 'fast_flush_domains', parentStyle, utf8CaseFolding: false, proxymap: client });
}

/** A hash-like table holding `keys`; open answers with the given dict flags. */
function table(keys: string[], openFlags = 28): (r: Request) => Reply {
  return (r) => r.request === 'open'
    ? [['status', '0'], ['flags', String(openFlags)]]
    : keys.includes(r.key as string) ? [['status', '0'], ['value', 'OK']] : [['status', '1'], ['value', '']];
}

test.serial('open, then lookups of the name and its parents, as the C client sends them', async (t) => {
  const { fake, client } = await withServer(t, table(['example.com']));
  const domains = list('proxy:hash:/etc/postfix/x', client);
  t.deepEqual(await domains.match('A.Example.COM'), { matched: true, error: false });
  t.deepEqual(fake.requests, [
    { request: 'open', table: 'hash:/etc/postfix/x', flags: '0' },
    { request: 'lookup', table: 'hash:/etc/postfix/x', flags: '524352', key: 'a.example.com' },
    { request: 'lookup', table: 'hash:/etc/postfix/x', flags: '524352', key: 'example.com' },
  ]);
  t.deepEqual(await domains.match('other.org'), { matched: false, error: false });
  t.is(fake.connections, 1, 'one shared connection');
});

test.serial('a pattern table (no DICT_FLAG_FIXED) is asked for the whole name only', async (t) => {
  const { fake, client } = await withServer(t, table([], 32));
  t.deepEqual(await list('proxy:pcre:/etc/postfix/p', client).match('a.example.com'), { matched: false, error: false });
  t.deepEqual(fake.requests.map((r) => r.key).filter(Boolean), ['a.example.com']);
});

test.serial('a table proxymap refuses: an error that names the fix, and lookups fail', async (t) => {
  const lines = capture(t);
  const { fake, client } = await withServer(t, () => [['status', '4'], ['flags', '0']]);
  const domains = list('hash:/etc/postfix/x', client);
  t.deepEqual(await domains.match('a.test'), { matched: false, error: true });
  t.deepEqual(await domains.match('b.test'), { matched: false, error: true });
  const refusal = 'proxymap service is not configured for table "hash:/etc/postfix/x": to let fastflush read it, list proxy:hash:/etc/postfix/x in main.cf:proxy_read_maps';
  t.is(lines[0], `error: ${refusal.replace('proxymap service', `${client.service} service`)}`);
  t.true(lines.includes('warning: fast_flush_domains: hash:/etc/postfix/x: table lookup problem'));
  t.is(fake.requests.length, 1, 'a refusal is final: no second open');
});

test.serial('RETRY and CONFIG replies are lookup errors', async (t) => {
  capture(t);
  for (const status of ['2', '5']) {
    const { client } = await withServer(t, (r) => r.request === 'open' ? [['status', '0'], ['flags', '28']] : [['status', status], ['value', '']]);
    t.deepEqual(await list('hash:/x', client).match('a.test'), { matched: false, error: true });
  }
});

test.serial('a connection proxymap closed while idle is opened again once', async (t) => {
  let served = 0;
  const { fake, client } = await withServer(t, (r, socket) => {
    served++;
    const reply = table(['a.test'])(r);
    // The second lookup finds the connection gone: proxymap exited after the first.
    if (served === 2) {
      socket.end();
      return null;
    }
    return reply;
  });
  const domains = list('hash:/x', client);
  t.deepEqual(await domains.match('a.test'), { matched: true, error: false });
  t.deepEqual(await domains.match('a.test'), { matched: true, error: false });
  t.is(fake.connections, 2);
});

test.serial('no proxymap socket: the lookup fails at once', async (t) => {
  const lines = capture(t);
  const client = new ProxymapClient({ service: 'nosuchproxymap', ipcTimeout: 5, ipcIdle: 5 });
  t.deepEqual(await list('hash:/x', client).match('a.test'), { matched: false, error: true });
  t.is(lines[0], 'warning: connect to subsystem private/nosuchproxymap: No such file or directory');
});

test.serial('a proxymap that never answers: the lookup fails after ipc_timeout', async (t) => {
  const lines = capture(t);
  const { client } = await withServer(t, () => null, 1);
  const started = Date.now();
  t.deepEqual(await list('hash:/x', client).match('a.test'), { matched: false, error: true });
  const waited = Date.now() - started;
  t.true(waited >= 900 && waited < 3000, `${waited} ms`);
  t.true(lines.some((l) => l.endsWith('socket: Connection timed out')), JSON.stringify(lines));
});
