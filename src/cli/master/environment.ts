/*
 * environment.ts - the environment master(8) hands its children
 * (spec-protocol-master.md §5.3).
 *
 * Postfix's master scrubs its own environment down to import_environment at
 * start (clean_env): an item `NAME` keeps that variable if it is set, an item
 * `NAME=value` (or `{ NAME = value }`) sets it. Children inherit the result
 * plus MAIL_LOGTAG (every Postfix program exports syslog_name under that name)
 * and GENERATION, the spawn counter in octal, which the child echoes in its
 * status messages. Nothing else, in particular no PATH.
 *
 * Exports: parseImportEnvironment, scrubEnvironment, childEnvironment.
 */
import { msg } from '../../util/msg.js';
import { splitBraced } from './split.js';

/** import_environment splits on commas and whitespace, with `{ ... }` grouping. */
const LIST_SEPARATORS = ', \t\r\n';
const NAME_END = ' \t\n\v\f\r=';

export function parseImportEnvironment(value: string): string[] {
  const split = splitBraced(value, LIST_SEPARATORS);
  if (split.error !== undefined) return msg.fatal(`import_environment: ${split.error}`);
  return split.words;
}

/** `NAME = value` as main.cf splits it (whitespace around `=` allowed); null when malformed. */
function splitAssignment(item: string): { name: string; value: string } | null {
  const text = item.trimStart();
  let end = 0;
  while (end < text.length && !NAME_END.includes(text[end] as string)) end++;
  const name = text.slice(0, end);
  const rest = text.slice(end).trimStart();
  if (name === '' || !rest.startsWith('=')) return null;
  return { name, value: rest.slice(1).trim() };
}

/** The variables of `env` that import_environment keeps or sets, in list order. */
export function scrubEnvironment(importList: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of importList) {
    if (item.includes('=')) {
      const assignment = splitAssignment(item);
      if (assignment === null) msg.warn(`clean_env: malformed name=value item: ${item}`);
      else out[assignment.name] = assignment.value;
    } else {
      const value = env[item];
      if (value !== undefined) out[item] = value;
    }
  }
  return out;
}

/** A spawned child's complete environment. */
export function childEnvironment(base: Readonly<Record<string, string>>, generation: number): Record<string, string> {
  return { ...base, GENERATION: generation.toString(8) };
}
