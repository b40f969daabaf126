/*
 * idna.ts - Postfix's midna_domain_to_ascii(): a site name to its ASCII form.
 *
 * Postfix refuses a name that is neither ASCII nor valid UTF-8 ("malformed
 * UTF-8"), hands the rest to ICU's UTS #46 ToASCII (non-transitional unless
 * enable_idna2003_compatibility = yes; see uts46.ts for the ICU behaviour we
 * reproduce) and then insists that the result passes valid_hostname()
 * ("malformed ASCII label(s)"). The name is judged as bytes, so it may be
 * given as the bytes received.
 *
 * As in Postfix, results (including failures, with their warning) are cached
 * per process, 256 entries, least recently used out first, so a failing name
 * is reported once.
 *
 * Exports: domainToAsciiPostfix(name, options) -> string | null, IdnaOptions.
 */
import { isUtf8 } from 'node:buffer';
import { msg } from '../util/msg.js';
import { validHostname } from '../config/params.js';
import { loggableBytes } from './table.js';
import { ICU_ERROR, toAsciiIcu } from './uts46.js';

const CACHE_SIZE = 256;
/** Postfix quotes at most this many bytes of the name ("%.100s"). */
const SHOWN_BYTES = 100;

export interface IdnaOptions {
  /** enable_idna2003_compatibility: transitional UTS #46 processing. */
  transitional: boolean;
}

const cache = new Map<string, string | null>();

function errorNames(errors: number): string {
  return ICU_ERROR.filter(([bit]) => (errors & bit) !== 0).map(([, name]) => name).join(',');
}

function convert(bytes: Buffer, options: IdnaOptions): string | null {
  const problem = (reason: string): null => {
    msg.warn(`midna_domain_to_ascii_create: Problem translating domain "${loggableBytes(bytes.subarray(0, SHOWN_BYTES))}" to ASCII form: ${reason}`);
    return null;
  };
  const ascii = bytes.every((b) => b < 0x80);
  if (!ascii && !isUtf8(bytes)) return problem('malformed UTF-8');
  const result = toAsciiIcu(bytes.toString(ascii ? 'latin1' : 'utf8'), options.transitional);
  if ('errors' in result) return problem(errorNames(result.errors));
  if (validHostname(result.ascii) !== undefined) return problem('malformed ASCII label(s)');
  return result.ascii;
}

/** The ASCII form of `name` (bytes, or text taken as UTF-8), or null (after a warning) when Postfix would refuse it. */
export function domainToAsciiPostfix(name: string | Buffer, options: IdnaOptions): string | null {
  const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  const key = (options.transitional ? 'T' : 'N') + bytes.toString('latin1');
  if (cache.has(key)) {
    // Least recently used goes first, as in Postfix's ctable.
    const hit = cache.get(key) as string | null;
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const result = convert(bytes, options);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, result);
  return result;
}
