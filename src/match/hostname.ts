/*
 * hostname.ts - Postfix's valid_hostname() check, as a pure function.
 *
 * A hostname is 1..255 characters of labels made of [A-Za-z0-9_-], separated
 * by single dots, no leading or trailing dot, no label starting or ending with
 * '-', labels of at most 63 characters, and not all-numeric (so "1.2.3.4" and
 * "[1.2.3.4]" both fail). flush applies it to the ASCII form of a site before
 * the site may name a logfile.
 *
 * Exports: isValidHostname(name).
 */

const MAX_LABEL_LENGTH = 63;
const MAX_HOSTNAME_LENGTH = 255;

function isAsciiAlnum(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

export function isValidHostname(name: string): boolean {
  if (name.length === 0) return false;
  let labelLength = 0;
  let nonNumeric = false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const next = i + 1 < name.length ? name.charCodeAt(i + 1) : 0;
    if (isAsciiAlnum(code) || code === 0x5f /* _ */) {
      labelLength++;
      if (labelLength > MAX_LABEL_LENGTH) return false;
      if (code < 0x30 || code > 0x39) nonNumeric = true;
    } else if (code === 0x2e /* . */) {
      if (labelLength === 0 || next === 0) return false;
      labelLength = 0;
    } else if (code === 0x2d /* - */) {
      labelLength++;
      if (labelLength === 1 || next === 0 || next === 0x2e) return false;
    } else {
      return false;
    }
  }
  return nonNumeric && name.length <= MAX_HOSTNAME_LENGTH;
}
