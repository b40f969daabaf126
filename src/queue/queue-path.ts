/*
 * queue-path.ts - where a queue file or fast flush logfile lives, relative to
 * queue_directory (Postfix's mail_queue_path + dir_forest). Pure: no I/O.
 *
 * Queues named in hash_queue_names get hash_queue_depth levels of
 * one-character subdirectories, taken from the start of the file name ('_'
 * where the name is too short). A long queue ID (its last 'z' at index >= 10)
 * is hashed on its microseconds field instead: the four base-52 characters
 * before that 'z', printed as upper-case hex with at least five digits, so
 * long and short IDs of the same instant share a directory. Logfile names go
 * through the same rule, which is why `verylongdomainz_example_com` lands in
 * flush/0/0/ when flush is hashed.
 *
 * Exports: QueueHashing, queueHashing(names, depth), queuePath(queue, id, hashing),
 *          queueDirectory(queue, id, hashing), groupByQueueDirectory(queue, ids, hashing)
 */
import { msg } from '../util/msg.js';
import { isValidQueueId } from './queue-id.js';

export interface QueueHashing {
  /** hash_queue_names, split; compared case-insensitively as Postfix does. */
  readonly hashQueueNames: readonly string[];
  /** hash_queue_depth (>= 1). */
  readonly depth: number;
}

/**
 * Builds the hashing rule from hash_queue_names (already split) and
 * hash_queue_depth. The depth is checked where it is used, as in Postfix, so a
 * plain object literal works just as well.
 */
export function queueHashing(hashQueueNames: readonly string[], depth: number): QueueHashing {
  return { hashQueueNames: [...hashQueueNames], depth };
}

/* The "safe" base-52 alphabet of long queue IDs: digits and letters without vowels. */
const SAFE_ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz';
const LONG_ID_SEPARATOR = 'z';
/* Seconds field (at least 6 characters) + microseconds field (exactly 4). */
const LONG_ID_TIME_LENGTH = 10;
const LONG_ID_USEC_LENGTH = 4;

/** Decodes the microseconds field; anything outside the alphabet counts as 0, as in Postfix. */
function decodeUsecField(field: string): number {
  let value = 0;
  for (const ch of field) {
    const digit = SAFE_ALPHABET.indexOf(ch);
    if (digit < 0) return 0;
    value = value * SAFE_ALPHABET.length + digit;
  }
  return value;
}

/** The string whose leading characters name the hash subdirectories. */
function hashSource(id: string): string {
  const separator = id.lastIndexOf(LONG_ID_SEPARATOR);
  if (separator < LONG_ID_TIME_LENGTH) return id;
  const usec = decodeUsecField(id.slice(separator - LONG_ID_USEC_LENGTH, separator));
  return usec.toString(16).toUpperCase().padStart(5, '0');
}

const QUEUE_NAME_CHARS = /^[A-Za-z0-9]{1,100}$/;

/**
 * Whether a queue name is hashed, decided (and the name and depth checked)
 * once per QueueHashing and name: a send asks for every queue id, twice.
 */
const hashedQueues = new WeakMap<QueueHashing, Map<string, boolean>>();

function isHashedQueue(queue: string, hashing: QueueHashing): boolean {
  let known = hashedQueues.get(hashing);
  if (known === undefined) {
    known = new Map();
    hashedQueues.set(hashing, known);
  }
  let hashed = known.get(queue);
  if (hashed === undefined) {
    if (!QUEUE_NAME_CHARS.test(queue)) msg.panic(`mail_queue_dir: bad queue name: ${queue}`);
    const lowerQueue = queue.toLowerCase();
    hashed = hashing.hashQueueNames.some((name) => name.toLowerCase() === lowerQueue);
    if (hashed && (!Number.isInteger(hashing.depth) || hashing.depth < 1)) {
      msg.panic(`dir_forest: depth ${hashing.depth}`);
    }
    known.set(queue, hashed);
  }
  return hashed;
}

/** The hash characters of an ID: `depth` of them, from its hash source, '_' past its end. */
function hashCharacters(id: string, depth: number): string {
  const source = hashSource(id);
  // depth 1 (Postfix's default): a one-character string, which V8 does not allocate.
  if (depth === 1) return source[0] ?? '_';
  let chars = '';
  for (let level = 0; level < depth; level++) chars += source[level] ?? '_';
  return chars;
}

/** `queue/h1/h2/…` for the hash characters `chars`. */
function hashedDirectory(queue: string, chars: string): string {
  let dir = queue;
  for (const char of chars) dir += `/${char}`;
  return dir;
}

function checkQueueId(id: string): void {
  if (!isValidQueueId(id)) msg.panic(`mail_queue_dir: bad queue id: ${id}`);
}

/**
 * `queue/[h1/h2/…]`: the directory that holds `id`'s file in `queue`. A bad
 * queue name or ID is a programming error (callers validate client input
 * first), so it panics like Postfix does.
 */
export function queueDirectory(queue: string, id: string, hashing: QueueHashing): string {
  const hashed = isHashedQueue(queue, hashing);
  checkQueueId(id);
  return hashed ? hashedDirectory(queue, hashCharacters(id, hashing.depth)) : queue;
}

/**
 * `ids` grouped by queueDirectory(queue, id, hashing), each group in the
 * order of `ids`, the groups in the order of their first ID; panics as
 * queueDirectory does. For the thousands of IDs of a send: each directory
 * name is made once per group, not once per ID (in a fresh process, where a
 * send's code is not yet optimised, that was a good part of its time).
 */
export function groupByQueueDirectory(
  queue: string,
  ids: readonly string[],
  hashing: QueueHashing,
): Map<string, readonly string[]> {
  const hashed = isHashedQueue(queue, hashing);
  for (const id of ids) checkQueueId(id);
  if (!hashed) return new Map(ids.length === 0 ? [] : [[queue, ids]]);
  const byChars = new Map<string, string[]>();
  for (const id of ids) {
    const chars = hashCharacters(id, hashing.depth);
    const group = byChars.get(chars);
    if (group === undefined) byChars.set(chars, [id]);
    else group.push(id);
  }
  const groups = new Map<string, readonly string[]>();
  for (const [chars, group] of byChars) groups.set(hashedDirectory(queue, chars), group);
  return groups;
}

/** `queue/[h1/h2/…/]id`; panics on a bad queue name or ID (see queueDirectory). */
export function queuePath(queue: string, id: string, hashing: QueueHashing): string {
  return `${queueDirectory(queue, id, hashing)}/${id}`;
}
