/*
 * unicode-properties.ts - PCRE2's \p{..} and \P{..} on bytes.
 *
 * Without UTF mode PCRE2 10.42 gives a byte the Unicode properties of the
 * code point with the same value (0..255), and caseless matching does not
 * change what \p{..} matches. The sets are computed from JavaScript's own
 * Unicode tables, which agree with PCRE2 10.42's (Unicode 14) on U+0000..U+00FF.
 * Names are compared as PCRE2 does: case, spaces, hyphens and underscores
 * ignored. A name fastflush does not know is reported as null, never guessed.
 *
 * Exports: unicodePropertySet.
 */
import { ByteSet } from './ast.js';

const GENERAL_CATEGORIES = new Set([
  'c', 'cc', 'cf', 'cn', 'co', 'cs', 'l', 'll', 'lm', 'lo', 'lt', 'lu', 'm', 'mc', 'me', 'mn', 'n', 'nd', 'nl', 'no',
  'p', 'pc', 'pd', 'pe', 'pf', 'pi', 'po', 'ps', 's', 'sc', 'sk', 'sm', 'so', 'z', 'zl', 'zp', 'zs',
]);

/** Binary properties by PCRE2's loose name, as JavaScript spells them. */
const BINARY: Record<string, string> = {
  alphabetic: 'Alphabetic', alpha: 'Alphabetic', lowercase: 'Lowercase', lower: 'Lowercase', uppercase: 'Uppercase',
  upper: 'Uppercase', whitespace: 'White_Space', wspace: 'White_Space', ascii: 'ASCII', asciihexdigit: 'ASCII_Hex_Digit',
  ahex: 'ASCII_Hex_Digit', hexdigit: 'Hex_Digit', hex: 'Hex_Digit', dash: 'Dash', diacritic: 'Diacritic', dia: 'Diacritic',
  extender: 'Extender', ext: 'Extender', math: 'Math', quotationmark: 'Quotation_Mark', qmark: 'Quotation_Mark',
  cased: 'Cased', caseignorable: 'Case_Ignorable', ci: 'Case_Ignorable', patternsyntax: 'Pattern_Syntax',
  patsyn: 'Pattern_Syntax', patternwhitespace: 'Pattern_White_Space', patws: 'Pattern_White_Space',
  terminalpunctuation: 'Terminal_Punctuation', term: 'Terminal_Punctuation', sentenceterminal: 'Sentence_Terminal',
  sterm: 'Sentence_Terminal', softdotted: 'Soft_Dotted', sd: 'Soft_Dotted', idstart: 'ID_Start', ids: 'ID_Start',
  idcontinue: 'ID_Continue', idc: 'ID_Continue', xidstart: 'XID_Start', xids: 'XID_Start', xidcontinue: 'XID_Continue',
  xidc: 'XID_Continue', graphemebase: 'Grapheme_Base', grbase: 'Grapheme_Base', graphemeextend: 'Grapheme_Extend',
  grext: 'Grapheme_Extend', defaultignorablecodepoint: 'Default_Ignorable_Code_Point', di: 'Default_Ignorable_Code_Point',
};

/** Scripts with code points below U+0100, by loose name and short name. */
const SCRIPTS: Record<string, string> = { latin: 'Latin', latn: 'Latin', common: 'Common', zyyy: 'Common' };

function fromJs(property: string): ByteSet {
  const re = new RegExp(`^\\p{${property}}$`, 'u');
  const set = new ByteSet();
  for (let c = 0; c < 256; c++) if (re.test(String.fromCodePoint(c))) set.add(c);
  return set;
}

function generalCategory(loose: string): ByteSet {
  const name = loose.length === 1 ? loose.toUpperCase() : `${(loose[0] as string).toUpperCase()}${loose[1]}`;
  return fromJs(`General_Category=${name}`);
}

/** The bytes \p{name} matches, or null for a name fastflush does not know. */
export function unicodePropertySet(name: string): ByteSet | null {
  const loose = name.replace(/[ _-]/g, '').toLowerCase();
  const [prefix, value] = loose.includes(':') || loose.includes('=') ? loose.split(/[:=]/, 2) as [string, string] : ['', loose];
  if (prefix === '') {
    if (value === 'any') return ByteSet.all();
    if (value === 'l&' || value === 'lc') return generalCategory('lu').addSet(generalCategory('ll')).addSet(generalCategory('lt'));
    if (GENERAL_CATEGORIES.has(value)) return generalCategory(value);
    const letterOrDigit = (): ByteSet => generalCategory('l').addSet(generalCategory('n'));
    if (value === 'xan') return letterOrDigit();
    if (value === 'xwd') return letterOrDigit().add(0x5f);
    if (value === 'xps' || value === 'xsp') return generalCategory('z').addRange(0x09, 0x0d).add(0x85);
    if (value === 'xuc') return ByteSet.of(0x24, 0x40, 0x60).addRange(0xa0, 0xff);
    const binary = BINARY[value];
    if (binary) return fromJs(binary);
  }
  // PCRE2 10.42 puts U+00B7 in Common only, whichever way a script is named.
  const script = SCRIPTS[value];
  const scriptPrefixes = ['', 'sc', 'script', 'scx', 'scriptextensions'];
  return script && scriptPrefixes.includes(prefix) ? fromJs(`Script=${script}`) : null;
}
