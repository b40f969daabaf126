/*
 * print-line.ts - how postconf prints a "name = value" line (pcf_print_line):
 * the text is rebuilt word by word, so every run of whitespace becomes one
 * space, and with -f a word that would reach column 80 starts a new line
 * indented by four spaces. Words are never split.
 *
 * Strings are byte strings (one char per byte), so lengths are byte counts
 * as in C.
 *
 * Exports: formatLine, LINE_LIMIT, INDENT.
 */

export const LINE_LIMIT = 80;
export const INDENT = '    ';

/** Word separators of pcf_print_line; \v and \f are not among them. */
const SEPARATORS = /[ \t\r\n]+/;

/** The printed form of `text`, ending in a newline. */
export function formatLine(text: string, fold: boolean): string {
  let out = '';
  let lineLen = 0;
  for (const word of text.split(SEPARATORS)) {
    if (word === '') continue;
    if (lineLen > 0) {
      if (!fold || lineLen + word.length < LINE_LIMIT) {
        out += ' ';
        lineLen += 1;
      } else {
        out += '\n' + INDENT;
        lineLen = INDENT.length;
      }
    }
    out += word;
    lineLen += word.length;
  }
  return out + '\n';
}
