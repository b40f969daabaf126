/*
 * site-path.ts - a destination (site) to the name of its fast-flush logfile.
 *
 * As flush_site_to_path() in Postfix's EAI build: the site (the bytes
 * received, or text taken as UTF-8) is converted to
 * ASCII with IDNA (which folds case and refuses anything that is not a valid
 * hostname, address literals included), then every alphanumeric byte is
 * lowercased and every other byte becomes '_'. "Example.COM" and
 * "example.com" share flush/example_com; "bücher.example" and its A-label share
 * flush/xn__bcher_kva_example. The caller still checks the result with the
 * queue-id rules (1..255 of [A-Za-z0-9_]) before using it as a file name.
 *
 * Exports: siteToLogfileName(site, transitionalIdna) -> string | null.
 */
import { domainToAsciiPostfix } from '../match/idna.js';

export function siteToLogfileName(site: string | Buffer, transitionalIdna: boolean): string | null {
  const ascii = domainToAsciiPostfix(site, { transitional: transitionalIdna });
  if (ascii === null) return null;
  return ascii.toLowerCase().replace(/[^a-z0-9]/g, '_');
}
