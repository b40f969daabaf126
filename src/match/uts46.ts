/*
 * uts46.ts - UTS #46 ToASCII as ICU's uidna_nameToASCII_UTF8() does it with
 * the options Postfix uses (UIDNA_NONTRANSITIONAL_TO_ASCII, or transitional
 * processing with enable_idna2003_compatibility): case mapping, the UTS #46
 * mapping, NFC, then per label Punycode, with ICU's checks (empty labels,
 * hyphens, leading combining marks, disallowed code points, Punycode and
 * A-label validity, label and name lengths) and without the optional ones
 * (STD3 rules, BiDi, CONTEXTJ), so that e.g. "[192.0.2.1]" converts and only
 * valid_hostname() refuses it afterwards.
 *
 * Node's url.domainToASCII() is not used: it applies the WHATWG URL rules
 * (IPv4 parsing of a numeric last label, forbidden characters, BiDi and
 * joiner checks) and a newer Unicode version.
 *
 * Exports: toAsciiIcu(text, transitional) -> { ascii } | { errors },
 * ICU_ERROR (UIDNA_ERROR_* bits and names).
 */
import { IGNORED, MAPPED, MAPPED_RUNS, VALID } from './uts46-data.js';
import { punycodeDecode, punycodeEncode } from './punycode.js';

/** ICU's UIDNA_ERROR_* bits, lowest first. */
export const ICU_ERROR = [
  [0x0001, 'UIDNA_ERROR_EMPTY_LABEL'],
  [0x0002, 'UIDNA_ERROR_LABEL_TOO_LONG'],
  [0x0004, 'UIDNA_ERROR_DOMAIN_NAME_TOO_LONG'],
  [0x0008, 'UIDNA_ERROR_LEADING_HYPHEN'],
  [0x0010, 'UIDNA_ERROR_TRAILING_HYPHEN'],
  [0x0020, 'UIDNA_ERROR_HYPHEN_3_4'],
  [0x0040, 'UIDNA_ERROR_LEADING_COMBINING_MARK'],
  [0x0080, 'UIDNA_ERROR_DISALLOWED'],
  [0x0100, 'UIDNA_ERROR_PUNYCODE'],
  [0x0200, 'UIDNA_ERROR_LABEL_HAS_DOT'],
  [0x0400, 'UIDNA_ERROR_INVALID_ACE_LABEL'],
] as const;

const E = {
  EMPTY_LABEL: 0x0001,
  LABEL_TOO_LONG: 0x0002,
  DOMAIN_NAME_TOO_LONG: 0x0004,
  LEADING_HYPHEN: 0x0008,
  TRAILING_HYPHEN: 0x0010,
  HYPHEN_3_4: 0x0020,
  LEADING_COMBINING_MARK: 0x0040,
  DISALLOWED: 0x0080,
  PUNYCODE: 0x0100,
  LABEL_HAS_DOT: 0x0200,
  INVALID_ACE_LABEL: 0x0400,
} as const;

const MAX_LABEL_LENGTH = 63;
const MAX_DOMAIN_LENGTH = 253;
const REPLACEMENT = 0xfffd;

interface Tables {
  valid: number[];
  ignored: Set<number>;
  mapped: Map<number, string>;
}

let tables: Tables | undefined;

function decodeRanges(encoded: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let prev = 0;
  for (const item of encoded.split(',')) {
    const [gap, length] = item.split(':').map((n) => parseInt(n, 36)) as [number, number];
    const start = prev + gap;
    out.push([start, start + length]);
    prev = start + length;
  }
  return out;
}

function loadTables(): Tables {
  if (tables) return tables;
  const valid = decodeRanges(VALID).flat();
  const ignored = new Set<number>();
  for (const [a, b] of decodeRanges(IGNORED)) for (let c = a; c <= b; c++) ignored.add(c);
  const mapped = new Map<number, string>();
  for (const run of MAPPED_RUNS.split(',')) {
    const [start, count, step, delta] = run.split(':').map((n) => parseInt(n, 36)) as [number, number, number, number];
    for (let i = 0; i < count; i++) mapped.set(start + i * step, String.fromCodePoint(start + i * step + delta));
  }
  for (const entry of MAPPED.split(',')) {
    const [cp, target] = entry.split('=') as [string, string];
    mapped.set(parseInt(cp, 36), String.fromCodePoint(...target.split('.').map((n) => parseInt(n, 36))));
  }
  tables = { valid, ignored, mapped };
  return tables;
}

/** Whether cp lies in one of the valid ranges (a flat, sorted [start, end, start, end, ...] list). */
function isValid(cp: number, valid: number[]): boolean {
  let lo = 0;
  let hi = valid.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (valid[2 * mid] as number)) hi = mid - 1;
    else if (cp > (valid[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Deviation characters: kept by non-transitional processing, mapped by transitional. */
const DEVIATIONS: Record<number, string> = { 0xdf: 'ss', 0x3c2: 'σ', 0x200c: '', 0x200d: '' };

/** The UTS #46 mapping of one code point; null when it is disallowed. */
function mapCodePoint(cp: number, transitional: boolean): string | null {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? String.fromCharCode(cp + 0x20) : String.fromCharCode(cp);
  if (transitional && cp in DEVIATIONS) return DEVIATIONS[cp] as string;
  const t = loadTables();
  if (isValid(cp, t.valid)) return String.fromCodePoint(cp);
  if (t.ignored.has(cp)) return '';
  return t.mapped.get(cp) ?? null;
}

/** A decoded A-label must be exactly what mapping and NFC would leave unchanged. */
function isValidULabel(label: string): boolean {
  if (label.normalize('NFC') !== label) return false;
  for (const ch of label) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80 ? cp >= 0x41 && cp <= 0x5a : mapCodePoint(cp, false) !== ch) return false;
  }
  return true;
}

const COMBINING_MARK = /^\p{M}/u;

function checkHyphens(label: string): number {
  let errors = 0;
  if (label.startsWith('-')) errors |= E.LEADING_HYPHEN;
  if (label.endsWith('-')) errors |= E.TRAILING_HYPHEN;
  if (label[2] === '-' && label[3] === '-') errors |= E.HYPHEN_3_4;
  return errors;
}

/** Errors after which ICU gives up on an A-label ("xn--...") and marks it invalid. */
const SEVERE = E.LEADING_COMBINING_MARK | E.DISALLOWED | E.PUNYCODE | E.LABEL_HAS_DOT | E.INVALID_ACE_LABEL;

/** Checks of a label's Unicode form: hyphens, dots, disallowed code points, a leading mark. */
function checkULabel(unicode: string): number {
  let errors = checkHyphens(unicode);
  if (unicode.includes('.')) errors |= E.LABEL_HAS_DOT;
  if (unicode.includes(String.fromCodePoint(REPLACEMENT))) errors |= E.DISALLOWED;
  if (COMBINING_MARK.test(unicode)) errors |= E.LEADING_COMBINING_MARK;
  return errors;
}

/** An A-label: ICU decodes it, validates the result and keeps the label as it was. */
function processAceLabel(label: string): number {
  // "xn--" alone, or ending in '-', is another spelling of an ASCII label.
  if (label.length === 4 || (label.length > 5 && label.endsWith('-'))) return E.INVALID_ACE_LABEL;
  const decoded = punycodeDecode(label.slice(4));
  if (decoded === null) return E.PUNYCODE;
  const unicode = String.fromCodePoint(...decoded);
  if (!isValidULabel(unicode)) return E.INVALID_ACE_LABEL;
  let errors = checkULabel(unicode);
  if (errors & SEVERE) errors |= E.INVALID_ACE_LABEL;
  else if (label.length > MAX_LABEL_LENGTH) errors |= E.LABEL_TOO_LONG;
  return errors;
}

/** One label of the mapped, normalized name: its ASCII form and the errors found. */
function processLabel(label: string, isLast: boolean): { ascii: string; errors: number } {
  if (label.length === 0) return { ascii: '', errors: isLast ? 0 : E.EMPTY_LABEL };
  if (label.startsWith('xn--')) return { ascii: label, errors: processAceLabel(label) };
  const cps = [...label].map((c) => c.codePointAt(0) as number);
  const ascii = cps.every((c) => c < 0x80) ? label : `xn--${punycodeEncode(cps)}`;
  let errors = checkULabel(label);
  if (ascii.length > MAX_LABEL_LENGTH) errors |= E.LABEL_TOO_LONG;
  return { ascii, errors };
}

/** ICU ToASCII of a (valid UTF-8) name: the ASCII name, or the error bits. */
export function toAsciiIcu(text: string, transitional: boolean): { ascii: string } | { errors: number } {
  let mapped = '';
  for (const ch of text) {
    const m = mapCodePoint(ch.codePointAt(0) as number, transitional);
    mapped += m ?? String.fromCodePoint(REPLACEMENT);
  }
  mapped = mapped.normalize('NFC');
  const labels = mapped.split('.');
  let errors = 0;
  const out: string[] = [];
  labels.forEach((label, i) => {
    const r = processLabel(label, i === labels.length - 1 && i > 0);
    errors |= r.errors;
    out.push(r.ascii);
  });
  const ascii = out.join('.');
  if (ascii.length > MAX_DOMAIN_LENGTH + (ascii.endsWith('.') ? 1 : 0)) errors |= E.DOMAIN_NAME_TOO_LONG;
  if (text.length === 0) errors |= E.EMPTY_LABEL;
  return errors ? { errors } : { ascii };
}
