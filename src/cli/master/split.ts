/*
 * split.ts - Postfix's brace-aware word splitting, as master(8) applies it to
 * the command arguments of a master.cf entry and as the import_environment
 * value is split.
 *
 * Words are separated by any of the given separator characters, except inside
 * `{ ... }` (nesting allowed), so `-o { name = value with spaces }` stays one
 * word. A word that starts with `{` must end with its matching `}`; it loses
 * the braces and the whitespace just inside them (Postfix's extpar()).
 *
 * Exports: splitBraced(text, separators) -> { words } | { error }.
 */

const BRACE_OPEN = '{';
const BRACE_CLOSE = '}';
/** What C's isspace() accepts; extpar() trims exactly these. */
const WHITESPACE = ' \t\n\v\f\r';

export type SplitResult = { words: string[]; error?: undefined } | { words?: undefined; error: string };

/** Strips the outer braces of a word that starts with `{`, or explains why it cannot. */
function stripBraces(word: string): { text: string } | { error: string } {
  let level = 0;
  for (let i = 0; i < word.length; i++) {
    const ch = word[i];
    if (ch === BRACE_OPEN) level++;
    else if (ch === BRACE_CLOSE && --level === 0) {
      if (i !== word.length - 1) return { error: `syntax error after '}' in "${word}"` };
      return { text: trimSpace(word.slice(1, i)) };
    }
  }
  return { error: `missing '}' in "${word}"` };
}

function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && WHITESPACE.includes(text[start] as string)) start++;
  while (end > start && WHITESPACE.includes(text[end - 1] as string)) end--;
  return text.slice(start, end);
}

export function splitBraced(text: string, separators: string): SplitResult {
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && separators.includes(text[i] as string)) i++;
    if (i >= text.length) break;
    const start = i;
    let level = 0;
    for (; i < text.length; i++) {
      const ch = text[i] as string;
      if (ch === BRACE_OPEN) level++;
      else if (ch === BRACE_CLOSE && level > 0) level--;
      else if (level === 0 && separators.includes(ch)) break;
    }
    const word = text.slice(start, i);
    if (word.startsWith(BRACE_OPEN)) {
      const stripped = stripBraces(word);
      if ('error' in stripped) return { error: stripped.error };
      words.push(stripped.text);
    } else {
      words.push(word);
    }
  }
  return { words };
}
