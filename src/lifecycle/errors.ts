/*
 * errors.ts - error text the way Postfix prints %m: strerror(3)'s sentence
 * ("No such file or directory"), not Node's "ENOENT: no such file or
 * directory, open 'x'", so that log lines read like the C daemon's.
 *
 * Exports: describeError.
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();
const errnoByName = osConstants.errno as Record<string, number>;

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { errno, code } = error as NodeJS.ErrnoException;
  // Node reports errno negated (libuv style); the posix addon reports it positive.
  let number = typeof errno === 'number' ? -Math.abs(errno) : undefined;
  if (number === undefined && typeof code === 'string' && code in errnoByName) {
    number = -(errnoByName[code] as number);
  }
  const text = number === undefined ? undefined : systemErrors.get(number)?.[1];
  if (text === undefined) return error.message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
