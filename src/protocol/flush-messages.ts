/*
 * flush-messages.ts - the fixed vocabulary of the flush(8) protocol
 * (Postfix src/global/flush_clnt.h, mail_proto.h) and the messages built from it.
 *
 * Server side: the announcement sent on every connection and the status reply.
 * Client side: the request names and a builder for a complete request list, in the
 * attribute order Postfix's flush_clnt.c uses. Everything is attr0, the only
 * format flush speaks.
 *
 * Exports: MAIL_ATTR, FLUSH_REQUEST, FlushRequestName, TRIGGER_REQ_WAKEUP,
 * FLUSH_STATUS, FLUSH_ANNOUNCEMENT, flushStatusReply, flushRequest.
 */

import { serializeAttrs } from './serialize.js';
import type { OutAttr } from './types.js';

/** Attribute names and the protocol name (mail_proto.h). */
export const MAIL_ATTR = {
  PROTO: 'protocol',
  PROTO_FLUSH: 'queue_flush_protocol',
  REQ: 'request',
  SITE: 'site',
  QUEUEID: 'queue_id',
  STATUS: 'status',
} as const;

/** Values of the `request` attribute (flush_clnt.h); refresh really is spelled "rfrsh". */
export const FLUSH_REQUEST = {
  ADD: 'add',
  SEND_SITE: 'send_site',
  SEND_FILE: 'send_file',
  REFRESH: 'rfrsh',
  PURGE: 'purge',
} as const;

export type FlushRequestName = (typeof FLUSH_REQUEST)[keyof typeof FLUSH_REQUEST];

/** The request string master(8) sends as a bare "W" NUL trigger; flush treats it as a refresh. */
export const TRIGGER_REQ_WAKEUP = 'W';

/** Reply status codes (flush_clnt.h); FAIL travels as "4294967295". */
export const FLUSH_STATUS = {
  OK: 0,
  BAD: 3,
  DENY: 4,
  FAIL: -1,
} as const;

/**
 * The 31 bytes the server sends first on every connection:
 * "protocol" NUL "queue_flush_protocol" NUL NUL. Shared; do not modify.
 */
export const FLUSH_ANNOUNCEMENT: Buffer = serializeAttrs('attr0', [
  { kind: 'str', name: MAIL_ATTR.PROTO, value: MAIL_ATTR.PROTO_FLUSH },
]);

/** The complete reply list: "status" NUL <code as unsigned decimal> NUL NUL. */
export function flushStatusReply(code: number): Buffer {
  return serializeAttrs('attr0', [{ kind: 'int', name: MAIL_ATTR.STATUS, value: code }]);
}

/**
 * A complete request list as Postfix's clients send it: `request` first, then
 * `site` and/or `queue_id` as the request needs (add: both; send_site: site;
 * send_file: queue_id; rfrsh, purge: none). Throws if a needed value is missing.
 */
export function flushRequest(kind: FlushRequestName, attrs: { site?: string; queueId?: string } = {}): Buffer {
  const list: OutAttr[] = [{ kind: 'str', name: MAIL_ATTR.REQ, value: kind }];
  const needSite = kind === FLUSH_REQUEST.ADD || kind === FLUSH_REQUEST.SEND_SITE;
  const needQueueId = kind === FLUSH_REQUEST.ADD || kind === FLUSH_REQUEST.SEND_FILE;
  if (needSite) {
    if (attrs.site === undefined) throw new TypeError(`flush request ${kind} needs a site`);
    list.push({ kind: 'str', name: MAIL_ATTR.SITE, value: attrs.site });
  }
  if (needQueueId) {
    if (attrs.queueId === undefined) throw new TypeError(`flush request ${kind} needs a queue_id`);
    list.push({ kind: 'str', name: MAIL_ATTR.QUEUEID, value: attrs.queueId });
  }
  return serializeAttrs('attr0', list);
}
