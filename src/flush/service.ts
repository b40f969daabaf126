/*
 * service.ts - the fast flush service: one request per connection.
 *
 * Requests (spec-protocol-master.md §3): add (site, queue_id), send_site
 * (site), send_file (queue_id), rfrsh and purge (no arguments), and master's
 * wakeup "W" (as rfrsh). Each request finishes its attribute list with a
 * strict scan and gets one status reply: 0 OK, 3 BAD, 4 DENY (not in
 * fast_flush_domains), -1 FAIL (a domain-list table failed, or an add's
 * write to the logfile failed and was undone; C answers 0 there). rfrsh, purge and
 * the wakeup are answered *before* the work, so the client is not kept
 * waiting. An unknown request gets no reply at all, exactly as in C.
 *
 * Exports: serveFlushClient(client, settings).
 */
import type { ClientStream } from '../lifecycle/client-stream.js';
import { AttrReader } from '../protocol/reader.js';
import { ATTR_FLAG } from '../protocol/types.js';
import { FLUSH_STATUS, flushStatusReply } from '../protocol/flush-messages.js';
import { isValidQueueId } from '../queue/queue-id.js';
import { queuePath } from '../queue/queue-path.js';
import { appendQueueId } from '../queue/logfile-store.js';
import { receiveRequest } from './request.js';
import { sendLogfile, sendQueueFile } from './send.js';
import { refreshLogfiles } from './refresh.js';
import { siteToLogfileName } from './site-path.js';
import type { FlushSettings } from './settings.js';

/** Longest string we keep from a client; longer ones are consumed and truncated. */
const MAX_ATTR_STRING = 65536;
const MASTER_WAKEUP = 'W';
const EMPTY_CONNECTION_REPLY = Buffer.from('3\0\0', 'latin1');

/**
 * Eligibility and the logfile name for a site, or the status that refuses it.
 * The site is judged as the bytes received, as C judges it.
 */
async function logfileForSite(site: Buffer, settings: FlushSettings): Promise<{ name: string } | { status: number }> {
  const eligible = await settings.domains.match(site);
  if (!eligible.matched) return { status: eligible.error ? FLUSH_STATUS.FAIL : FLUSH_STATUS.DENY };
  const name = siteToLogfileName(site, settings.transitionalIdna);
  if (name === null) return { status: FLUSH_STATUS.DENY };
  return { name };
}

async function addService(site: Buffer, queueId: string, settings: FlushSettings): Promise<number> {
  const target = await logfileForSite(site, settings);
  if ('status' in target) return target.status;
  if (!isValidQueueId(target.name)) return FLUSH_STATUS.BAD;
  // A failed write was undone and warned about; FAIL tells the client its id is not in the logfile.
  const written = await appendQueueId(queuePath('flush', target.name, settings.hashing), queueId);
  return written ? FLUSH_STATUS.OK : FLUSH_STATUS.FAIL;
}

async function sendSiteService(site: Buffer, settings: FlushSettings): Promise<number> {
  const target = await logfileForSite(site, settings);
  if ('status' in target) return target.status;
  return sendLogfile(target.name, 'unthrottle-before', settings);
}

async function reply(client: ClientStream, status: number): Promise<void> {
  // master closes its wakeup connection without reading: EPIPE here is normal.
  await client.write(flushStatusReply(status)).catch(() => undefined);
}

export async function serveFlushClient(client: ClientStream, settings: FlushSettings): Promise<void> {
  const reader = new AttrReader('attr0', { read: () => client.readChunk() }, {
    streamName: client.name,
    maxStringLength: MAX_ATTR_STRING,
  });
  const received = await receiveRequest(client, reader);
  if ('failure' in received) {
    if (received.failure === 'empty') {
      // Observed with Postfix 3.7.11: after a connection that ends before its
      // first byte, C's stream has hit end-of-file and its reply loses the
      // attribute name, so only "3\0\0" reaches the client. Same bytes here.
      await client.write(EMPTY_CONNECTION_REPLY).catch(() => undefined);
    } else {
      await reply(client, FLUSH_STATUS.BAD);
    }
    return;
  }

  switch (received.name) {
    case 'add': {
      const args = await reader.scan(ATTR_FLAG.STRICT, [
        { kind: 'str', name: 'site' },
        { kind: 'str', name: 'queue_id' },
      ]);
      const queueId = args.values.get('queue_id') as string;
      const status =
        args.count === 2 && isValidQueueId(queueId)
          ? await addService(args.bytes.get('site') as Buffer, queueId, settings)
          : FLUSH_STATUS.BAD;
      await reply(client, status);
      return;
    }
    case 'send_site': {
      const args = await reader.scan(ATTR_FLAG.STRICT, [{ kind: 'str', name: 'site' }]);
      const status =
        args.count === 1 ? await sendSiteService(args.bytes.get('site') as Buffer, settings) : FLUSH_STATUS.BAD;
      await reply(client, status);
      return;
    }
    case 'send_file': {
      const args = await reader.scan(ATTR_FLAG.STRICT, [{ kind: 'str', name: 'queue_id' }]);
      const status =
        args.count === 1 ? await sendQueueFile(args.values.get('queue_id') as string, settings) : FLUSH_STATUS.BAD;
      await reply(client, status);
      return;
    }
    case 'rfrsh':
    case MASTER_WAKEUP:
      await reply(client, FLUSH_STATUS.OK);
      await refreshLogfiles(settings.refreshTime, settings);
      return;
    case 'purge':
      await reply(client, FLUSH_STATUS.OK);
      await refreshLogfiles(0, settings);
      return;
    default:
      // Unknown request: C sends nothing and closes.
      return;
  }
}
