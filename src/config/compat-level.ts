/*
 * compat-level.ts - compatibility_level values ("major[.minor[.patch]]") as
 * Postfix compares them: as numbers per part, so 3.10 is above 3.9 and 3
 * equals 3.0.0. Used by the `<level`-style operators in $name expansion and
 * to validate compatibility_level itself.
 *
 * Exports: compatLevelFromString, malformedCompatLevel.
 */
import { LONG_MAX, strtol10 } from './c-text.js';

const MINOR_SHIFT = 10n;
const MAJOR_SHIFT = 20n;
const MAX_MINOR = 1023n;
const MAX_MAJOR = LONG_MAX >> MAJOR_SHIFT;

/**
 * Encodes a level as major<<20 | minor<<10 | patch, or returns undefined when
 * the text is malformed. Each part is read like strtol() (leading blanks and
 * a `+` pass); a part must have digits and be followed by `.` or the end.
 */
export function compatLevelFromString(text: string): bigint | undefined {
  const major = strtol10(text, 0);
  if (major.end === 0 || major.overflow || major.value < 0n || major.value > MAX_MAJOR) return undefined;
  let level = major.value << MAJOR_SHIFT;
  if (major.end === text.length) return level;
  if (text[major.end] !== '.') return undefined;

  const minorStart = major.end + 1;
  const minor = strtol10(text, minorStart);
  if (minor.end === minorStart || minor.overflow || minor.value < 0n || minor.value > MAX_MINOR) return undefined;
  level |= minor.value << MINOR_SHIFT;
  if (minor.end === text.length) return level;
  if (text[minor.end] !== '.') return undefined;

  const patchStart = minor.end + 1;
  const patch = strtol10(text, patchStart);
  if (patch.end === patchStart || patch.end !== text.length || patch.overflow) return undefined;
  if (patch.value < 0n || patch.value > MAX_MINOR) return undefined;
  return level | patch.value;
}

/** Postfix's complaint about a value compatLevelFromString() rejects. */
export function malformedCompatLevel(text: string): string {
  return `malformed compatibility level syntax: "${text}"`;
}
