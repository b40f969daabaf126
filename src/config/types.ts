/*
 * types.ts - the read-only view of Postfix parameters every layer uses.
 *
 * A MailConfig answers with values as a daemon sees them after main.cf,
 * master.cf -o overrides and built-in defaults were merged and `$name`
 * expansion ran. Typed getters apply the parameter table's types, units and
 * ranges (see params.ts); an unknown name is a programming error.
 */

export interface MailConfig {
  /** The directory main.cf was read from. */
  readonly configDir: string;
  /** Expanded string value (explicit setting, else the built-in default). */
  get(name: string): string;
  getBool(name: string): boolean;
  getInt(name: string): number;
  /** Time parameters in seconds (bare numbers use the default's unit). */
  getTime(name: string): number;
  /** The value split on commas and whitespace, empty items dropped. */
  getList(name: string): string[];
  /** True when main.cf or an override sets the name explicitly. */
  isSet(name: string): boolean;
}
