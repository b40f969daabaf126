/*
 * binary-table.ts - hash:, btree:, lmdb:, cdb: (and dbm:, sdbm: where
 * Postfix has them) tables of a domain list, read directly when the list is
 * built (pre-jail, as root), as the C daemon opens them itself: no
 * proxy_read_maps entry is needed.
 *
 * The keys are loaded whole, once: cdb files are parsed here (the format is
 * a 2048-byte header, then key/value records up to the first hash table);
 * every other type is listed by Postfix's own `postmap -s`, which knows each
 * format and its key conventions. Keys are compared exactly, as C's lookup
 * does without DICT_FLAG_FOLD_FIX: postmap folded them when it built the
 * table, unless it was run with -f. A trailing NUL some builds store with a
 * key is dropped. Memory grows with the table, like proxymap's or C's page
 * cache would; the table is held as one Set of byte strings.
 *
 * The table's file stays open (read-only) so that, as Postfix's
 * dict_changed_name() does with fstat(), a replaced or rewritten file is
 * noticed after chroot: changed() is true once its mtime (whole seconds)
 * differs or its last link is gone (lmdb: only the latter, as lmdb tables
 * may be updated in place).
 *
 * Exports: BINARY_TYPES, BinaryTableContext, binaryTable.
 */
import { fstatSync, openSync, readFileSync } from 'node:fs';
import { describeOpenError, openFailure, type LookupTable } from './table.js';

/** Types read here, with the file suffix C opens (and stats) for each. */
export const BINARY_TYPES: ReadonlyMap<string, string> = new Map([
  ['hash', '.db'], ['btree', '.db'], ['lmdb', '.lmdb'], ['cdb', '.cdb'], ['dbm', '.pag'], ['sdbm', '.pag'],
]);

export interface BinaryTableContext {
  /** Path of Postfix's postmap command (command_directory/postmap). */
  postmap: string;
  /** config_directory, for postmap -c. */
  configDir: string;
}

const CDB_HEADER = 2048;

/** Every key of a cdb file (byte strings). */
function cdbKeys(bytes: Buffer, file: string): Set<string> {
  if (bytes.length < CDB_HEADER) throw new Error(`${file}: not a cdb file`);
  let end = bytes.length;
  for (let i = 0; i < 256; i++) end = Math.min(end, bytes.readUInt32LE(i * 8));
  const keys = new Set<string>();
  for (let at = CDB_HEADER; at + 8 <= end;) {
    const keyLength = bytes.readUInt32LE(at);
    const valueLength = bytes.readUInt32LE(at + 4);
    const key = bytes.subarray(at + 8, at + 8 + keyLength).toString('latin1');
    keys.add(key.endsWith('\0') ? key.slice(0, -1) : key);
    at += 8 + keyLength + valueLength;
  }
  return keys;
}

/** Every key postmap -s lists ("key<TAB>value" lines), or postmap's own complaint. */
function postmapKeys(ctx: BinaryTableContext, spec: string): Set<string> {
  // child_process is loaded only here: with the dgram module it brings, a millisecond or two of every start.
  const { execFileSync } = process.getBuiltinModule('node:child_process');
  const out = execFileSync(ctx.postmap, ['-c', ctx.configDir, '-s', spec], {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
  });
  const keys = new Set<string>();
  for (const line of out.toString('latin1').split('\n')) {
    if (line.length === 0) continue;
    const tab = line.indexOf('\t');
    keys.add(tab < 0 ? line : line.slice(0, tab));
  }
  return keys;
}

/** Why postmap failed, in its own words without its "postmap: fatal: " prefix. */
function postmapReason(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString('utf8') ?? '';
  const fatal = stderr.split('\n').find((line) => line.includes(': fatal: '));
  return fatal ? fatal.slice(fatal.indexOf(': fatal: ') + ': fatal: '.length) : (error as Error).message;
}

/** Opens `type:name` (type one of BINARY_TYPES); failures become surrogates as in C. */
export function binaryTable(type: string, name: string, spec: string, ctx: BinaryTableContext, fatal: boolean): LookupTable {
  const file = `${name}${BINARY_TYPES.get(type) as string}`;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    return openFailure(spec, `open database ${file}: ${describeOpenError(error)}`, fatal);
  }
  let keys: Set<string>;
  try {
    keys = type === 'cdb' ? cdbKeys(readFileSync(fd), file) : postmapKeys(ctx, spec);
  } catch (error) {
    return openFailure(spec, type === 'cdb' ? (error as Error).message : postmapReason(error), fatal);
  }
  const seconds = (mtimeMs: number): number => Math.trunc(mtimeMs / 1000);
  const openedAt = seconds(fstatSync(fd).mtimeMs);
  return {
    name: spec,
    fixedKeys: () => true,
    lookup: (key) => keys.has(key),
    changed(): boolean {
      const now = fstatSync(fd);
      return now.nlink === 0 || (type !== 'lmdb' && seconds(now.mtimeMs) !== openedAt);
    },
  };
}
