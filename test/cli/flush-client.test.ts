/*
 * flush-client.test.ts - the mail_command_client()-style flush client
 * (src/cli/flush-client.ts) against a scripted server: request bytes, every
 * status, and each failure stage with Postfix's warning texts.
 *
 * Serial: the log capture is process-wide.
 */
import test from 'ava';
import { join } from 'node:path';
import { callFlush, type FlushClientRequest } from '../../src/cli/flush-client.js';
import { captureLog, scratchDir } from './support.js';
import { startFakeFlushServer } from './flush-server-fake.js';

const NAME = 'public/flush';

function options(path: string, timeoutSec = 5) {
  return { socketPath: path, name: NAME, timeoutSec };
}

test.serial('request lists are sent whole, in one write, as flush_clnt.c builds them', async (t) => {
  const fake = await startFakeFlushServer(t, { kind: 'status', status: 0 });
  const requests: Array<[FlushClientRequest, string]> = [
    [{ request: 'add', site: 'example.com', queueId: '3F2A1B4C5D' }, 'request\0add\0site\0example.com\0queue_id\x003F2A1B4C5D\0\0'],
    [{ request: 'send_site', site: 'example.com' }, 'request\0send_site\0site\0example.com\0\0'],
    [{ request: 'send_file', queueId: '3F2A1B4C5D' }, 'request\0send_file\0queue_id\x003F2A1B4C5D\0\0'],
    [{ request: 'rfrsh' }, 'request\0rfrsh\0\0'],
    [{ request: 'purge' }, 'request\0purge\0\0'],
  ];
  for (const [req] of requests) t.is(await callFlush(req, options(fake.path)), 0);
  t.deepEqual(
    fake.received.map((r) => r.bytes.toString('latin1')),
    requests.map(([, bytes]) => bytes),
  );
  t.true(fake.received.every((r) => r.reads === 1));
  t.is(fake.received[0]!.bytes.length, 50);
});

test.serial('every status comes back as sent; FAIL travels as 4294967295', async (t) => {
  const log = captureLog(t);
  for (const status of [0, 3, 4, -1, 7]) {
    const fake = await startFakeFlushServer(t, { kind: 'status', status });
    t.is(await callFlush({ request: 'send_site', site: 'example.com' }, options(fake.path)), status);
  }
  t.deepEqual(log, []);
});

test.serial('connect failure', async (t) => {
  const log = captureLog(t);
  const missing = join(scratchDir(t), 'nothing');
  t.is(await callFlush({ request: 'rfrsh' }, options(missing)), -1);
  t.deepEqual(log, [{ severity: 'warning', text: 'connect to public/flush: No such file or directory' }]);
});

test.serial('a server that closes before announcing fails at the status read', async (t) => {
  const log = captureLog(t);
  const fake = await startFakeFlushServer(t, { kind: 'close' });
  t.is(await callFlush({ request: 'send_site', site: 'example.com' }, options(fake.path)), -1);
  const warnings = log.map((l) => l.text);
  t.true(warnings.some((w) => w.startsWith('write/read public/flush socket: ')), warnings.join(' | '));
  t.false(warnings.some((w) => w.startsWith('read public/flush socket')));
});

test.serial('wrong protocol name', async (t) => {
  const log = captureLog(t);
  const fake = await startFakeFlushServer(t, { kind: 'protocol', name: 'queue_manager_protocol' });
  t.is(await callFlush({ request: 'purge' }, options(fake.path)), -1);
  t.is(fake.received[0]!.bytes.length, 0, 'no request after a bad announcement');
  t.true(log.some((l) => l.text.startsWith('read public/flush socket: ')));
});

test.serial('no reply (unknown request, or the server died)', async (t) => {
  const log = captureLog(t);
  const fake = await startFakeFlushServer(t, { kind: 'close-after-request' });
  t.is(await callFlush({ request: 'rfrsh' }, options(fake.path)), -1);
  t.true(log.some((l) => l.text === 'write/read public/flush socket: Success'));
});

test.serial('a silent server times out (once: the failure sticks, as in a VSTREAM)', async (t) => {
  const log = captureLog(t);
  const fake = await startFakeFlushServer(t, { kind: 'silent' });
  const started = Date.now();
  t.is(await callFlush({ request: 'rfrsh' }, options(fake.path, 1)), -1);
  const elapsed = Date.now() - started;
  t.true(elapsed >= 900 && elapsed < 1900, `${elapsed} ms`);
  // End-of-input before the first byte of a list is not an error to attr_scan, so, as in Postfix,
  // the announcement step passes and the status read reports the timeout.
  t.true(log.some((l) => l.text === 'write/read public/flush socket: Connection timed out'));
});
