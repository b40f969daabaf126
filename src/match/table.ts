/*
 * table.ts - what every lookup table of a domain list provides, and the
 * pieces the table implementations share.
 *
 * Keys are byte strings (one character per byte, as latin1 decoding gives),
 * so that tables compare bytes exactly as C does, UTF-8 or not.
 *
 * Exports: LookupTable, TableError, openFailure,
 * readTableLines, describeOpenError, toByteString, loggableBytes.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { readLogicalLines } from '../config/main-cf.js';
import { msg } from '../util/msg.js';

/** A lookup failed: the answer is unknown (flush status -1). */
export class TableError extends Error {}

export interface LookupTable {
  /** The table as written in the list ("type:name"), for messages. */
  readonly name: string;
  /**
   * Fixed-key tables (DICT_FLAG_FIXED) are also asked for parent domains;
   * pattern tables only for the whole name. May throw TableError.
   */
  fixedKeys(): boolean | Promise<boolean>;
  /** Whether `key` (a byte string) has a value; throws TableError when the lookup fails. */
  lookup(key: string): boolean | Promise<boolean>;
  /** File-based tables: the file changed since it was read (Postfix's dict_changed_name()). */
  changed?(): boolean;
}

/** A JS string (UTF-8 text from main.cf) as the byte string C sees. */
export function toByteString(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * Bytes as Postfix's logger shows them: one '?' per byte that is not
 * printable ASCII, except that valid UTF-8 is kept when smtputf8_enable is on.
 * Done here, on bytes, because the text a log line gets can no longer tell a
 * UTF-8 character from the bytes it was made of.
 */
export function loggableBytes(bytes: Buffer): string {
  if (msg.allowUtf8 && isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?';
  return out;
}

/** strerror() text for the errors opening a table file can give. */
export function describeOpenError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  if (code === 'ENOTDIR') return 'Not a directory';
  return (error as Error).message;
}

/**
 * A file's logical lines (Postfix's readllines rules) as byte strings, with
 * the line number each starts on; throws the file system error.
 */
export function readTableLines(path: string): Array<{ text: string; line: number }> {
  const { lines, warnings } = readLogicalLines(readFileSync(path).toString('latin1'), path);
  for (const warning of warnings) msg.warn(warning);
  return lines;
}

/** A table that could not be opened: every lookup fails (Postfix's dict_surrogate). */
function surrogateTable(name: string, reason: string): LookupTable {
  return {
    name,
    fixedKeys: () => false,
    lookup(): never {
      msg.warn(`${name} is unavailable. ${reason}`);
      throw new TableError(reason);
    },
  };
}

/**
 * Logs why a table cannot be opened (when the list is built) and returns its
 * surrogate; with daemon_table_open_error_is_fatal the process dies instead,
 * as Postfix's dict_surrogate() does then.
 */
export function openFailure(name: string, reason: string, fatal: boolean): LookupTable {
  if (fatal) msg.fatal(reason);
  msg.error(reason);
  return surrogateTable(name, reason);
}
