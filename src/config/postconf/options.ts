/*
 * options.ts - postconf's command line: getopt() in POSIX mode (options stop
 * at the first non-option argument), the mode flags, the implicit -e when
 * the first argument contains `=`, and the option compatibility checks with
 * Postfix 3.7's messages ("specify one of -d -n", "with option -M, do not
 * specify -n").
 *
 * Options that real postconf has but fastflush does not implement (-a -A -b
 * -l -m -t -T -v) are refused with a clear fatal error instead of being
 * ignored.
 *
 * Exports: Flag, PostconfOptions, parseOptions.
 */
import { PostconfFatal } from './diag.js';

/** The mode letters, in the order Postfix lists them in messages. */
const FLAG_ORDER = ['a', 'A', 'b', 'C', 'd', 'e', 'f', 'F', 'h', 'H', 'l', 'm', 'M', 'n', 'o', 'p', 'P', 't', 'T', 'x', 'X', '#'] as const;
export type Flag = (typeof FLAG_ORDER)[number];

const MAJOR_MODES: readonly Flag[] = ['a', 'A', 'b', 'l', 'm', 't', 'p', 'M', 'F', 'P', 'T'];
/* Sets of which at most one may be given; the first set is the major modes. */
const EXCLUSIVE_SETS: ReadonlyArray<readonly Flag[]> = [
  MAJOR_MODES,
  ['d', 'e', 'n', '#', 'X'],
  ['f', 'e', '#', 'X'],
  ['x', 'e', '#', 'X'],
  ['o', 'd', 'e', '#', 'X'],
  ['h', 'e', '#', 'X', 'H'],
];
/* What each implemented major mode may be combined with. */
const COMPATIBLE: ReadonlyArray<readonly [Flag, readonly Flag[]]> = [
  ['p', ['e', 'X', '#', 'f', 'h', 'x', 'd', 'n', 'o', 'H']],
  ['M', ['e', 'X', '#', 'f', 'o', 'x']],
  ['F', ['e', 'f', 'h', 'o', 'x', 'H']],
  ['P', ['e', 'X', 'f', 'h', 'o', 'x', 'H']],
];
const UNSUPPORTED: readonly Flag[] = ['a', 'A', 'b', 'l', 'm', 't', 'T'];

/** getopt() option string of Postfix 3.7 (E is accepted but has no meaning). */
const WITH_ARGUMENT = new Set(['c', 'C', 'o', 'T']);
const KNOWN = new Set('aAbc:C:deEfFhHlmMno:pPqtT:vxX#'.replace(/:/g, '').split(''));
const NOT_IN_37 = new Set(['q']);

const USAGE =
  'usage: postconf [-a (server SASL types)] [-A (client SASL types)] [-b (bounce templates)] [-c config_dir]' +
  ' [-c param_class] [-d (parameter defaults)] [-e (edit configuration)] [-f (fold lines)] [-F (master.cf fields)]' +
  ' [-h (no names)] [-H (no values)] [-l (lock types)] [-m (map types)] [-M (master.cf)]' +
  ' [-n (non-default parameters)] [-o name=value (override parameter value)] [-p (main.cf, default)]' +
  ' [-P (master.cf parameters)] [-t (bounce templates)] [-T compile-version|run-version|public-key-algorithms]' +
  ' [-v (verbose)] [-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]';

export interface PostconfOptions {
  readonly flags: ReadonlySet<Flag>;
  /** The last -c value, if any. */
  readonly configDir: string | undefined;
  /** -C classes; all of them by default. */
  readonly classes: ReadonlySet<'builtin' | 'service' | 'user'>;
  /** -o name=value overrides, in order. */
  readonly overrides: readonly string[];
  /** The arguments after the options. */
  readonly args: readonly string[];
}

/** name_mask_opt("-C option", ..., ANY_CASE | FATAL). */
function parseClasses(value: string): Set<'builtin' | 'service' | 'user'> {
  const classes = new Set<'builtin' | 'service' | 'user'>();
  for (const word of value.split(/[, \t\r\n]+/)) {
    if (word === '') continue;
    const lower = word.toLowerCase();
    if (lower === 'all') ['builtin', 'service', 'user'].forEach((c) => classes.add(c as 'builtin'));
    else if (lower === 'builtin' || lower === 'service' || lower === 'user') classes.add(lower);
    else throw new PostconfFatal(`unknown -C option value "${word}" in "${value}"`);
  }
  return classes;
}

function listFlags(flags: Iterable<Flag>): string {
  const set = new Set(flags);
  return FLAG_ORDER.filter((f) => set.has(f))
    .map((f) => `-${f}`)
    .join(' ');
}

/**
 * Parses argv (without the program name). getopt's own complaints are
 * returned in `getoptError` (they are printed without "fatal:" before the
 * usage message); everything else is thrown as PostconfFatal.
 */
export function parseOptions(argv: readonly string[], getoptError: (text: string) => void): PostconfOptions {
  const flags = new Set<Flag>();
  const overrides: string[] = [];
  let configDir: string | undefined;
  let classes = new Set<'builtin' | 'service' | 'user'>(['builtin', 'service', 'user']);
  let verbose = false;
  let index = 0;
  for (; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--') {
      index++;
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') break;
    for (let pos = 1; pos < arg.length; pos++) {
      const letter = arg[pos];
      if (!KNOWN.has(letter) || NOT_IN_37.has(letter)) {
        getoptError(`invalid option -- '${letter}'`);
        throw new PostconfFatal(USAGE);
      }
      if (WITH_ARGUMENT.has(letter)) {
        let value = arg.slice(pos + 1);
        if (value === '') {
          if (index + 1 >= argv.length) {
            getoptError(`option requires an argument -- '${letter}'`);
            throw new PostconfFatal(USAGE);
          }
          value = argv[++index];
        }
        if (letter === 'c') configDir = value;
        else if (letter === 'C') classes = parseClasses(value);
        else if (letter === 'o') {
          flags.add('o');
          overrides.push(value);
        } else flags.add('T');
        break;
      }
      if (letter === 'E') throw new PostconfFatal(USAGE);
      if (letter === 'v') verbose = true;
      else flags.add(letter as Flag);
    }
  }
  const args = argv.slice(index);

  const unsupported = UNSUPPORTED.filter((f) => flags.has(f));
  if (unsupported.length > 0) {
    throw new PostconfFatal(`option ${listFlags(unsupported)} is not supported by fastflush postconf`);
  }
  if (verbose) throw new PostconfFatal('option -v (verbose logging) is not supported by fastflush postconf');
  if (!MAJOR_MODES.some((f) => flags.has(f))) flags.add('p');
  if (['p', 'M', 'F', 'P'].some((f) => flags.has(f as Flag)) && args.length > 0 && args[0].includes('=')) flags.add('e');

  for (const set of EXCLUSIVE_SETS) {
    const given = set.filter((f) => flags.has(f));
    if (given.length > 1) throw new PostconfFatal(`specify one of ${listFlags(given)}`);
  }
  for (const [mode, allowed] of COMPATIBLE) {
    if (!flags.has(mode)) continue;
    const excess = [...flags].filter((f) => f !== mode && !allowed.includes(f));
    if (excess.length > 0) throw new PostconfFatal(`with option -${mode}, do not specify ${listFlags(excess)}`);
  }
  if (flags.has('e') && args.length === 0) throw new PostconfFatal('-e requires name=value argument');
  return { flags, configDir, classes, overrides, args };
}
