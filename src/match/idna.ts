/*
 * idna.ts - Postfix's midna_domain_to_ascii(): a site name to its ASCII form.
 *
 * Postfix hands the name to ICU's UTS #46 ToASCII (non-transitional unless
 * enable_idna2003_compatibility = yes) and then insists that the result passes
 * valid_hostname(). Node's url.domainToASCII() is the same UTS #46 mapping
 * (non-transitional) but with the WHATWG URL options, which skip the hyphen and
 * length checks ICU applies by default; we add those checks so that the same
 * inputs succeed and fail. Transitional processing (IDNA2003 compatibility)
 * only differs for four characters, which we map before the conversion.
 *
 * As in Postfix, results (including failures, with their warning) are cached
 * per process, 256 entries, so a failing name is reported once.
 *
 * Exports: domainToAsciiPostfix(name, options) -> string | null.
 */
import { domainToASCII } from 'node:url';
import { msg } from '../util/msg.js';
import { isValidHostname } from './hostname.js';

const MAX_LABEL_LENGTH = 63;
const MAX_DOMAIN_LENGTH = 253;
const CACHE_SIZE = 256;
/** ICU's UIDNAInfo error bits, lowest first. */
const ICU_ERROR_ORDER = [
  'UIDNA_ERROR_EMPTY_LABEL',
  'UIDNA_ERROR_LABEL_TOO_LONG',
  'UIDNA_ERROR_DOMAIN_NAME_TOO_LONG',
  'UIDNA_ERROR_LEADING_HYPHEN',
  'UIDNA_ERROR_TRAILING_HYPHEN',
  'UIDNA_ERROR_HYPHEN_3_4',
];

export interface IdnaOptions {
  /** enable_idna2003_compatibility: transitional UTS #46 processing. */
  transitional: boolean;
}

const cache = new Map<string, string | null>();

/** UTS #46 deviation characters, mapped as transitional processing does. */
function mapTransitional(name: string): string {
  return name.replace(/ß/g, 'ss').replace(/ς/g, 'σ').replace(/[\u200c\u200d]/g, '');
}

/**
 * ICU's UIDNA_ERROR_* names for what its default checks find in an ASCII
 * name, in ICU's bit order and comma-joined as Postfix prints them; null when
 * ICU would accept the name.
 */
function icuErrors(ascii: string): string | null {
  const found = new Set<string>();
  const labels = ascii.split('.');
  labels.forEach((label, i) => {
    if (label.length === 0) {
      // ICU accepts one trailing empty label (the root); valid_hostname() refuses it later.
      if (!(i === labels.length - 1 && i > 0)) found.add('UIDNA_ERROR_EMPTY_LABEL');
      return;
    }
    if (label.length > MAX_LABEL_LENGTH) found.add('UIDNA_ERROR_LABEL_TOO_LONG');
    if (label.startsWith('-')) found.add('UIDNA_ERROR_LEADING_HYPHEN');
    if (label.endsWith('-')) found.add('UIDNA_ERROR_TRAILING_HYPHEN');
    if (label.length >= 4 && label.slice(2, 4) === '--' && !label.startsWith('xn--')) found.add('UIDNA_ERROR_HYPHEN_3_4');
  });
  if (ascii.length > MAX_DOMAIN_LENGTH + (ascii.endsWith('.') ? 1 : 0)) found.add('UIDNA_ERROR_DOMAIN_NAME_TOO_LONG');
  const ordered = ICU_ERROR_ORDER.filter((name) => found.has(name));
  return ordered.length > 0 ? ordered.join(',') : null;
}

function convert(name: string, options: IdnaOptions): string | null {
  const problem = (reason: string): null => {
    msg.warn(`midna_domain_to_ascii_create: Problem translating domain "${name.slice(0, 100)}" to ASCII form: ${reason}`);
    return null;
  };
  if (name.includes('\ufffd')) return problem('malformed UTF-8');
  const input = options.transitional ? mapTransitional(name) : name;
  const ascii = input.length === 0 ? '' : domainToASCII(input);
  if (ascii.length === 0) return problem(input.length === 0 ? 'UIDNA_ERROR_EMPTY_LABEL' : 'UIDNA_ERROR_DISALLOWED');
  const errors = icuErrors(ascii);
  if (errors) return problem(errors);
  if (!isValidHostname(ascii)) return problem('malformed ASCII label(s)');
  return ascii;
}

/** The ASCII form of `name`, or null (after a warning) when Postfix would refuse it. */
export function domainToAsciiPostfix(name: string, options: IdnaOptions): string | null {
  const key = (options.transitional ? 'T' : 'N') + name;
  if (cache.has(key)) return cache.get(key) as string | null;
  const result = convert(name, options);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, result);
  return result;
}
