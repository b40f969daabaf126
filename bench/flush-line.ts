/*
 * flush-line.ts - the master.cf lines the benchmark runs the flush service on (pure).
 *
 * "Stock" is Postfix's own line, `flush unix n - n 1000? 0 flush`, with no extra arguments (so
 * main.cf's defaults apply, e.g. max_use 100). "Recommended" is whatever the repository's
 * master.cf.example says: the arguments after the command word of its one active (uncommented)
 * `flush` entry, so the benchmark follows the file as it changes.
 *
 * master.cf syntax as master(5) has it: '#' lines and blank lines are ignored, a line that starts
 * with whitespace continues the previous entry, fields are separated by whitespace, and a field
 * may be written `{ text with spaces }` (the braces and the whitespace inside them are dropped).
 *
 * Exports: masterCfEntries, recommendedFlushArgs, formatMasterCfArgs.
 */

/** The logical entries of a master.cf text, each split into its fields. */
export function masterCfEntries(text: string): string[][] {
  const logical: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (/^\s/.test(line)) {
      if (logical.length === 0) throw new Error(`master.cf: continuation line without an entry: "${trimmed}"`);
      logical[logical.length - 1] += ` ${trimmed}`;
    } else {
      logical.push(trimmed);
    }
  }
  return logical.map(splitFields);
}

function splitFields(entry: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i < entry.length) {
    if (/\s/.test(entry[i] as string)) {
      i++;
    } else if (entry[i] === '{') {
      const close = entry.indexOf('}', i);
      if (close < 0) throw new Error(`master.cf: missing "}" in "${entry}"`);
      fields.push(entry.slice(i + 1, close).trim());
      i = close + 1;
    } else {
      const m = /^\S+/.exec(entry.slice(i)) as RegExpExecArray;
      fields.push(m[0]);
      i += m[0].length;
    }
  }
  return fields;
}

/**
 * The arguments after the command word of the one active `flush` entry of a master.cf text
 * (service name "flush", type "unix"). Throws when there is none or more than one.
 */
export function recommendedFlushArgs(text: string): string[] {
  const entries = masterCfEntries(text).filter((f) => f[0] === 'flush' && f[1] === 'unix');
  if (entries.length !== 1) {
    throw new Error(`master.cf.example: expected one active "flush unix" line, found ${entries.length}`);
  }
  const fields = entries[0] as string[];
  if (fields.length < 8) throw new Error(`master.cf.example: flush line has ${fields.length} fields, expected at least 8`);
  return fields.slice(8);
}

/** Arguments as master.cf text: a field holding whitespace is written in braces. */
export function formatMasterCfArgs(args: readonly string[]): string {
  return args.map((a) => (/\s/.test(a) || a === '' ? `{ ${a} }` : a)).join(' ');
}
