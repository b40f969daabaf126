/*
 * options.ts - the command line and environment a Postfix single-threaded
 * server gets from master(8), parsed as single_server.c does.
 *
 * Options follow GNU getopt in POSIX mode with the string
 * "cdDi:lm:n:o:r:s:St:uvVz": flags may be combined (-zu), an option argument
 * may be attached (-ofoo=bar) or the next word (-o foo=bar), "--" ends the
 * options and so does the first word that is not an option. Parsing stops at
 * the first bad option with Postfix's wording of the error; the options seen
 * before it are returned too, so that an earlier -V can still show the error
 * on stderr, as in C where -V takes effect while parsing.
 *
 * Exports: ServerOptions, ParsedOptions, parseServerOptions, parseGeneration.
 */
import { splitNameValue } from '../config/main-cf.js';

export interface ServerOptions {
  /** -c: chroot into queue_directory. */
  chroot: boolean;
  /** False with -d: only disables the "stdin is a terminal" refusal. */
  daemonMode: boolean;
  /** -D: run debugger_command on this process. */
  debugMe: boolean;
  /** -l: process limit 1, so no accept lock is needed. */
  solitary: boolean;
  /** -z: process limit 0 (unlimited). */
  zeroLimit: boolean;
  /** -n: the service name, when master.cf's name differs from the program name. */
  serviceName: string | undefined;
  /** -o name=value, -i (max_idle) and -m (max_use), in command-line order; the last one wins. */
  overrides: Array<[string, string]>;
  /** -s: number of listen sockets, fd 6 onwards. */
  socketCount: number;
  /** -S: serve one client on stdin/stdout. */
  standalone: boolean;
  /** -t: unix, inet or pass (checked by the caller, which knows about -S). */
  transport: string | undefined;
  /** -u: drop privileges to mail_owner. */
  unprivileged: boolean;
  /** Number of -v options. */
  verbose: number;
  /** -V: also log to stderr. */
  logToStderr: boolean;
  /** Words after the options. */
  args: string[];
}

export interface ParsedOptions {
  options: ServerOptions;
  /** The fatal error text, when parsing stopped at a bad option. */
  error?: string;
}

const OPTION_STRING = 'cdDi:lm:n:o:r:s:St:uvVz';

/**
 * master(8) passes the service generation in GENERATION as octal text. Like
 * Postfix, any digits are accepted (alldig) and converted the way strtoul(…, 8)
 * does, stopping at the first 8 or 9; the value is 32-bit unsigned. An absent
 * variable means generation 0; undefined means a bad value.
 */
export function parseGeneration(value: string | undefined): number | undefined {
  if (value === undefined) return 0;
  if (!/^[0-9]+$/.test(value)) return undefined;
  let generation = 0;
  for (const ch of value) {
    if (ch > '7') break;
    generation = (generation * 8 + (ch.charCodeAt(0) - 48)) >>> 0;
  }
  return generation;
}

/** C atoi(): optional sign and leading digits, 0 when there are none. */
function atoi(text: string): number {
  const match = /^\s*([+-]?\d+)/.exec(text);
  return match === null ? 0 : Number.parseInt(match[1] as string, 10);
}

/** args are the words after argv[0]. */
export function parseServerOptions(args: readonly string[]): ParsedOptions {
  const options: ServerOptions = {
    chroot: false,
    daemonMode: true,
    debugMe: false,
    solitary: false,
    zeroLimit: false,
    serviceName: undefined,
    overrides: [],
    socketCount: 1,
    standalone: false,
    transport: undefined,
    unprivileged: false,
    verbose: 0,
    logToStderr: false,
    args: [],
  };
  let index = 0;
  while (index < args.length) {
    const word = args[index] as string;
    if (word === '--') {
      index += 1;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    index += 1;
    for (let pos = 1; pos < word.length; pos += 1) {
      const letter = word[pos] as string;
      const at = OPTION_STRING.indexOf(letter);
      if (letter === ':' || at < 0) return { options, error: `invalid option: ${letter}` };
      let value = '';
      if (OPTION_STRING[at + 1] === ':') {
        if (pos + 1 < word.length) {
          value = word.slice(pos + 1);
        } else if (index < args.length) {
          value = args[index] as string;
          index += 1;
        } else {
          return { options, error: `invalid option: ${letter}` };
        }
        pos = word.length;
      }
      const error = applyOption(options, letter, value);
      if (error !== undefined) return { options, error };
    }
  }
  options.args = args.slice(index);
  return { options };
}

/** Returns the error text for a bad option argument. */
function applyOption(opts: ServerOptions, letter: string, value: string): string | undefined {
  switch (letter) {
    case 'c': opts.chroot = true; break;
    case 'd': opts.daemonMode = false; break;
    case 'D': opts.debugMe = true; break;
    case 'i': opts.overrides.push(['max_idle', value]); break;
    case 'l': opts.solitary = true; break;
    case 'm': opts.overrides.push(['max_use', value]); break;
    case 'n': opts.serviceName = value; break;
    case 'o': {
      // The same name=value split as main.cf lines.
      const pair = splitNameValue(value);
      if ('error' in pair) return `invalid "-o ${value}" option value: ${pair.error}`;
      opts.overrides.push([pair.name, pair.value]);
      break;
    }
    // -r (retirement time) is meant for other kinds of servers; accepted and not used here.
    case 'r': break;
    case 's':
      opts.socketCount = atoi(value);
      if (opts.socketCount <= 0) return `invalid socket_count: ${value}`;
      break;
    case 'S': opts.standalone = true; break;
    case 't': opts.transport = value; break;
    case 'u': opts.unprivileged = true; break;
    case 'v': opts.verbose += 1; break;
    case 'V': opts.logToStderr = true; break;
    case 'z': opts.zeroLimit = true; break;
  }
  return undefined;
}
