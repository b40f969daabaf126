/*
 * request.ts - the first half of every flush conversation: announce the
 * protocol, then read the request name.
 *
 * flush serves two kinds of client on one socket. Real clients send an
 * attribute list ("request" first) in one write; master's wakeup is the bare
 * string "W\0", written as two one-byte writes. C tells them apart by asking
 * the kernel how many bytes are queued (FIONREAD): at most 2 means "trigger".
 * Node has no FIONREAD, but the first chunk a read returns is exactly what the
 * kernel had queued, so its length makes the same decision.
 *
 * Exports: ReceivedRequest, receiveRequest(client, reader) -> the request
 * name, or why it could not be read (the caller answers FLUSH_STAT_BAD).
 */
import type { ClientStream } from '../lifecycle/client-stream.js';
import type { AttrReader } from '../protocol/reader.js';
import { ATTR_FLAG } from '../protocol/types.js';
import { FLUSH_ANNOUNCEMENT } from '../protocol/flush-messages.js';
import { strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';

const TRIGGER_MAX_BYTES = 2;

/**
 * The request name, or why none could be read: 'empty' when the client sent
 * nothing at all before end-of-file (C's reply then differs, see service.ts).
 */
export type ReceivedRequest = { name: string } | { failure: 'unreadable' | 'empty' };

export async function receiveRequest(client: ClientStream, reader: AttrReader): Promise<ReceivedRequest> {
  // A client that cannot take the announcement fails below, when we read.
  await client.write(FLUSH_ANNOUNCEMENT).catch(() => undefined);

  let first: Buffer | null;
  try {
    first = await client.readChunk();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
      msg.warn(`timeout while waiting for data from ${client.name}`);
    } else {
      msg.warn(`cannot examine read buffer of ${client.name}: ${strerror(error)}`);
    }
    return { failure: 'unreadable' };
  }

  if (first === null || first.length <= TRIGGER_MAX_BYTES) {
    if (first !== null) reader.unshift(first);
    const request = await reader.readNullTerminated();
    if (request === null) {
      // C prints errno here; after a clean end-of-file it is 0, "Application error".
      const failure = reader.lastError();
      const reason = failure && (failure as NodeJS.ErrnoException).code ? strerror(failure) : 'Application error';
      msg.warn(`end-of-input while reading request from ${client.name}: ${reason}`);
      return { failure: 'empty' };
    }
    return { name: request };
  }

  reader.unshift(first);
  const result = await reader.scan(ATTR_FLAG.STRICT | ATTR_FLAG.MORE, [{ kind: 'str', name: 'request' }]);
  if (result.count !== 1) return { failure: 'unreadable' };
  return { name: result.values.get('request') as string };
}
