/*
 * send.ts - deliver what a logfile lists (flush_send_path) and deliver one
 * queue file (send_file).
 *
 * A send holds the logfile's exclusive lock for the whole run, as C does, so a
 * concurrent add (ours or a C flush process's) waits instead of appending to a
 * file that is about to be truncated: no queue id is lost between reading and
 * truncating. Each listed id gets the queue-file action (time stamps, deferred
 * -> incoming); a duplicate filter of 10,000 ids spares repeated work. The
 * logfile is truncated only when something was read, and always touched, so
 * that its atime says "last flushed" even on noatime mounts.
 *
 * Exports: SendMode, sendLogfile(name, mode, settings), sendQueueFile(id, settings).
 */
import { isValidQueueId } from '../queue/queue-id.js';
import { queuePath } from '../queue/queue-path.js';
import { openLogfileForSend } from '../queue/logfile-store.js';
import { flushOneFile } from '../queue/queue-file.js';
import { sendQueueTrigger } from '../queue/trigger.js';
import { msg } from '../util/msg.js';
import { FLUSH_STATUS } from '../protocol/flush-messages.js';
import type { FlushSettings } from './settings.js';

/**
 * 'unthrottle-before': ETRN / postqueue -s: qmgr first forgets dead
 * destinations ('F'). 'refresh-only': the periodic refresh, no 'F'.
 */
export type SendMode = 'unthrottle-before' | 'refresh-only';

const DUP_FILTER_SIZE = 10000;
const QMGR_FLUSH_DEAD = 'F';
const QMGR_SCAN_INCOMING = 'I';

/** Whole seconds, like Postfix's event_time(). */
export function eventTime(): number {
  return Math.floor(Date.now() / 1000);
}

export async function sendLogfile(name: string, mode: SendMode, settings: FlushSettings): Promise<number> {
  if (!isValidQueueId(name)) return FLUSH_STATUS.BAD;
  const logfile = await openLogfileForSend(queuePath('flush', name, settings.hashing));
  if (logfile === null) return FLUSH_STATUS.OK; // no logfile: nothing queued for this site

  let count = 0;
  try {
    if (mode === 'unthrottle-before') {
      await sendQueueTrigger(settings.queueTriggerPath, QMGR_FLUSH_DEAD, settings.triggerTimeout);
    }
    const now = eventTime();
    const seen = new Set<string>();
    for await (const queueId of logfile.lines()) {
      count++;
      if (!isValidQueueId(queueId)) {
        msg.warn(`bad queue id "${queueId.slice(0, 30)}..." in fast flush logfile ${name}`);
        continue;
      }
      if (seen.size < DUP_FILTER_SIZE && seen.has(queueId)) continue;
      if (seen.size <= DUP_FILTER_SIZE) seen.add(queueId);
      if (await flushOneFile(queueId, now, 'unthrottle-before', settings.hashing)) count++;
    }
    if (count > 0) await logfile.truncate();
    await logfile.touch();
  } finally {
    await logfile.close();
  }
  if (count > 0) await sendQueueTrigger(settings.queueTriggerPath, QMGR_SCAN_INCOMING, settings.triggerTimeout);
  return FLUSH_STATUS.OK;
}

export async function sendQueueFile(queueId: string, settings: FlushSettings): Promise<number> {
  if (!isValidQueueId(queueId)) return FLUSH_STATUS.BAD;
  if (await flushOneFile(queueId, eventTime(), 'unthrottle-after', settings.hashing)) {
    await sendQueueTrigger(settings.queueTriggerPath, QMGR_SCAN_INCOMING, settings.triggerTimeout);
  }
  return FLUSH_STATUS.OK;
}
