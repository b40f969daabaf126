/*
 * split-braced.ts - Postfix's mystrtokq() for lists: items separated by
 * commas and white space, except inside {brace groups} (so that
 * `inline:{a=1, b=2}` stays one item). Shared by domain lists and inline:
 * tables.
 *
 * Exports: BracedItem, splitBraced(value).
 */

const SEPARATORS = ', \t\r\n';

export interface BracedItem {
  text: string;
  /** Index just past the item in `value` (where its ending separator, if any, is). */
  end: number;
}

export function splitBraced(value: string): BracedItem[] {
  const items: BracedItem[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && SEPARATORS.includes(value[i] as string)) i++;
    if (i >= value.length) break;
    const start = i;
    let depth = 0;
    while (i < value.length) {
      const ch = value[i] as string;
      if (ch === '{') depth++;
      else if (ch === '}' && depth > 0) depth--;
      else if (depth === 0 && SEPARATORS.includes(ch)) break;
      i++;
    }
    items.push({ text: value.slice(start, i), end: i });
  }
  return items;
}
