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
 * The ids are handled in batches of up to BATCH_LINES lines: the lines are
 * read and filtered (bad ids, duplicates) in order, the batch's queue files
 * are located (queue-listing.ts: deferred directories listed or probed, then
 * incoming directories listed, where that is cheaper than probing each id;
 * it argues why the outcome is always one C could have had), then each id
 * gets the rest of flush_one_file, skipped when it has no queue file. All of
 * it is synchronous system calls under a TimeSlice, so a send of 100,000 ids
 * keeps yielding to the other clients of this process. Log lines come in C's
 * order.
 *
 * A refresh walk passes its TriggerBatch (queue/trigger.ts): the send's 'I'
 * trigger then joins the walk's batch instead of being sent at once.
 *
 * Exports: SendMode, sendLogfile(name, mode, settings, slice?, scanTriggers?), sendQueueFile(id, settings).
 */
import { isValidQueueId } from '../queue/queue-id.js';
import { queuePath } from '../queue/queue-path.js';
import { openLogfileForSend, type LogfileHandle } from '../queue/logfile-store.js';
import { flushOneFile } from '../queue/queue-file.js';
import { locateQueueFiles } from '../queue/queue-listing.js';
import { TimeSlice } from '../queue/time-slice.js';
import { sendQueueTrigger, type TriggerBatch } from '../queue/trigger.js';
import { msg } from '../util/msg.js';
import { FLUSH_STATUS } from '../protocol/flush-messages.js';
import type { FlushSettings } from './settings.js';

/**
 * 'unthrottle-before': ETRN / postqueue -s: qmgr first forgets dead
 * destinations ('F'). 'refresh-only': the periodic refresh, no 'F'.
 */
export type SendMode = 'unthrottle-before' | 'refresh-only';

const DUP_FILTER_SIZE = 10000;
/** Lines per batch: bounds the memory of a batch (ids of at most MAX_KEPT_LINE bytes). */
const BATCH_LINES = 8192;
const BAD_ID_SHOWN = 30;
const QMGR_FLUSH_DEAD = 'F';
const QMGR_SCAN_INCOMING = 'I';

/** Whole seconds, like Postfix's event_time(). */
export function eventTime(): number {
  return Math.floor(Date.now() / 1000);
}

/** A logfile line that is not a queue id: warned about at its turn, with this much of it. */
interface BadLine {
  readonly badPrefix: string;
}

/**
 * The lines of one batch past the duplicate filter, in order: queue ids (as
 * strings) and bad lines. `ids` holds the same queue ids without the bad
 * lines, for locateQueueFiles. No object per id: a send of 10,000 ids
 * otherwise made 20,000 short-lived ones (an entry and a filtered copy).
 */
interface SendBatch {
  readonly entries: (string | BadLine)[];
  readonly ids: string[];
}

/** The lines of a send, with C's duplicate filter, BATCH_LINES at a time. */
class SendBatches {
  /** Lines read so far: each counts once towards C's count. */
  linesRead = 0;
  private readonly lines: Iterator<string>;
  private readonly seen = new Set<string>();
  private exhausted = false;

  constructor(logfile: LogfileHandle) {
    this.lines = logfile.lines()[Symbol.iterator]();
  }

  /** The next batch (may be empty when all its lines were duplicates), or null at the end. */
  async next(slice: TimeSlice): Promise<SendBatch | null> {
    if (this.exhausted) return null;
    const batch: SendBatch = { entries: [], ids: [] };
    for (let taken = 0; taken < BATCH_LINES; taken++) {
      if (slice.expired()) await slice.pause();
      const line = this.lines.next();
      if (line.done === true) {
        this.exhausted = true;
        break;
      }
      this.linesRead++;
      const queueId = line.value;
      if (!isValidQueueId(queueId)) {
        batch.entries.push({ badPrefix: queueId.slice(0, BAD_ID_SHOWN) });
        continue;
      }
      // C's filter: remembers up to 10,000 (and one) ids, then lets everything through.
      if (this.seen.size < DUP_FILTER_SIZE && this.seen.has(queueId)) continue;
      if (this.seen.size <= DUP_FILTER_SIZE) this.seen.add(queueId);
      batch.entries.push(queueId);
      batch.ids.push(queueId);
    }
    return batch;
  }
}

export async function sendLogfile(
  name: string,
  mode: SendMode,
  settings: FlushSettings,
  slice: TimeSlice = new TimeSlice(),
  scanTriggers?: TriggerBatch,
): Promise<number> {
  if (!isValidQueueId(name)) return FLUSH_STATUS.BAD;
  const logfile = await openLogfileForSend(queuePath('flush', name, settings.hashing));
  if (logfile === null) return FLUSH_STATUS.OK; // no logfile: nothing queued for this site

  let count = 0;
  try {
    if (mode === 'unthrottle-before') {
      await sendQueueTrigger(settings.queueTriggerPath, QMGR_FLUSH_DEAD, settings.triggerTimeout);
    }
    const now = eventTime();
    const batches = new SendBatches(logfile);
    for (let batch = await batches.next(slice); batch !== null; batch = await batches.next(slice)) {
      const sightings = await locateQueueFiles(batch.ids, settings.hashing, now, slice);
      for (const entry of batch.entries) {
        if (slice.expired()) await slice.pause();
        if (typeof entry !== 'string') {
          msg.warn(`bad queue id "${entry.badPrefix}..." in fast flush logfile ${name}`);
          continue;
        }
        const start = sightings.startFor(entry);
        if (start !== null && flushOneFile(entry, now, 'unthrottle-before', settings.hashing, start)) {
          count++;
        }
      }
    }
    count += batches.linesRead;
    if (count > 0) logfile.truncate();
    logfile.touch();
  } finally {
    logfile.close();
  }
  if (count > 0) {
    if (scanTriggers !== undefined) scanTriggers.request(QMGR_SCAN_INCOMING);
    else await sendQueueTrigger(settings.queueTriggerPath, QMGR_SCAN_INCOMING, settings.triggerTimeout);
  }
  return FLUSH_STATUS.OK;
}

export async function sendQueueFile(queueId: string, settings: FlushSettings): Promise<number> {
  if (!isValidQueueId(queueId)) return FLUSH_STATUS.BAD;
  if (flushOneFile(queueId, eventTime(), 'unthrottle-after', settings.hashing)) {
    await sendQueueTrigger(settings.queueTriggerPath, QMGR_SCAN_INCOMING, settings.triggerTimeout);
  }
  return FLUSH_STATUS.OK;
}
