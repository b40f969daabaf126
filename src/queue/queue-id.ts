/*
 * queue-id.ts - the queue-ID / file-name check Postfix applies to queue IDs and
 * to fast flush logfile names (mail_queue_id_ok).
 *
 * Both end up as file names under queue_directory, so the check is what keeps
 * client-supplied strings from escaping it: 1..255 bytes of ASCII letters,
 * digits and '_' only.
 *
 * Exports: isValidQueueId(id), MAX_QUEUE_ID_LENGTH
 */

/** VALID_HOSTNAME_LEN: queue IDs and logfile names share the host name limit. */
export const MAX_QUEUE_ID_LENGTH = 255;

const QUEUE_ID_CHARS = /^[A-Za-z0-9_]+$/;

export function isValidQueueId(id: string): boolean {
  // Every accepted character is one ASCII byte, so string length = byte length.
  return id.length <= MAX_QUEUE_ID_LENGTH && QUEUE_ID_CHARS.test(id);
}
