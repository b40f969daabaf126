/*
 * options.test.ts - the daemon command line as master(8) builds it (GNU getopt
 * in POSIX mode), GENERATION parsing, and the 12-byte status records.
 */
import test from 'ava';
import { parseGeneration, parseServerOptions, type ServerOptions } from '../../src/lifecycle/options.js';
import { encodeStatus, MASTER_STAT_AVAIL, MASTER_STAT_TAKEN } from '../../src/lifecycle/status.js';

const DEFAULTS: ServerOptions = {
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

const accepted: Array<[string[], Partial<ServerOptions>]> = [
  [['-z', '-t', 'unix', '-u'], { zeroLimit: true, transport: 'unix', unprivileged: true }],
  [['-zu', '-tunix'], { zeroLimit: true, transport: 'unix', unprivileged: true }],
  [['-zut', 'inet'], { zeroLimit: true, unprivileged: true, transport: 'inet' }],
  [['-o', 'max_use=5', '-omax_idle = 2s '], { overrides: [['max_use', '5'], ['max_idle', '2s']] }],
  [['-o', 'syslog_name=postfix/x', '-o', 'syslog_name=y'], { overrides: [['syslog_name', 'postfix/x'], ['syslog_name', 'y']] }],
  [['-i', '10', '-m3'], { overrides: [['max_idle', '10'], ['max_use', '3']] }],
  [['-o', 'empty='], { overrides: [['empty', '']] }],
  [['-vv', '-v', '-V'], { verbose: 3, logToStderr: true }],
  [['-n', 'myflush', '-s', '2', '-S', '-c', '-d', '-D', '-l', '-r', '60'], {
    serviceName: 'myflush', socketCount: 2, standalone: true, chroot: true, daemonMode: false, debugMe: true,
    solitary: true,
  }],
  [['-z', '--', '-u'], { zeroLimit: true, args: ['-u'] }],
  [['-z', 'extra', '-u'], { zeroLimit: true, args: ['extra', '-u'] }],
  [['-', '-z'], { args: ['-', '-z'] }],
  [['-s', '3x'], { socketCount: 3 }],
  [[], {}],
];

for (const [argv, expected] of accepted) {
  test(`options: ${JSON.stringify(argv)}`, (t) => {
    const parsed = parseServerOptions(argv);
    t.is(parsed.error, undefined);
    t.deepEqual(parsed.options, { ...DEFAULTS, ...expected });
  });
}

const rejected: Array<[string[], string]> = [
  [['-x'], 'invalid option: x'],
  [['-zx'], 'invalid option: x'],
  [['-z:'], 'invalid option: :'],
  [['-z', '-t'], 'invalid option: t'],
  [['-o', 'novalue'], 'invalid "-o novalue" option value: missing \'=\' after attribute name'],
  [['-o', '=x'], 'invalid "-o =x" option value: missing attribute name'],
  [['-o', 'my param=x'], 'invalid "-o my param=x" option value: missing \'=\' after attribute name'],
  // An option argument is the next word even when it looks like an option.
  [['-o', '-z'], 'invalid "-o -z" option value: missing \'=\' after attribute name'],
  [['-s', '0'], 'invalid socket_count: 0'],
  [['-s', 'many'], 'invalid socket_count: many'],
];

for (const [argv, error] of rejected) {
  test(`options rejected: ${JSON.stringify(argv)}`, (t) => {
    t.is(parseServerOptions(argv).error, error);
  });
}

test('options before a bad one are still reported (an earlier -V shows the error)', (t) => {
  const parsed = parseServerOptions(['-V', '-z', '-q', '-u']);
  t.is(parsed.error, 'invalid option: q');
  t.true(parsed.options.logToStderr);
  t.true(parsed.options.zeroLimit);
  t.false(parsed.options.unprivileged);
});

test('GENERATION is octal; absent means 0; anything but digits is bad', (t) => {
  t.is(parseGeneration(undefined), 0);
  t.is(parseGeneration('045'), 37);
  t.is(parseGeneration('55'), 45);
  t.is(parseGeneration('1'), 1);
  t.is(parseGeneration('0'), 0);
  // strtoul(…, 8) stops at the first non-octal digit.
  t.is(parseGeneration('178'), 15);
  t.is(parseGeneration('37777777777'), 0xffffffff);
  t.is(parseGeneration('40000000001'), 1);
  t.is(parseGeneration(''), undefined);
  t.is(parseGeneration('1a'), undefined);
  t.is(parseGeneration('-1'), undefined);
  t.is(parseGeneration(' 1'), undefined);
});

test('status records: int pid, unsigned generation, int status, little-endian', (t) => {
  // The observed record for pid 22784, generation 1.
  t.deepEqual([...encodeStatus(22784, 1, MASTER_STAT_TAKEN)], [0x00, 0x59, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual([...encodeStatus(22784, 1, MASTER_STAT_AVAIL)], [0x00, 0x59, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
  // pid 14762, GENERATION=045 (37).
  t.deepEqual([...encodeStatus(14762, 0o45, MASTER_STAT_TAKEN)], [0xaa, 0x39, 0, 0, 0x25, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual([...encodeStatus(1, 0xffffffff, MASTER_STAT_AVAIL)], [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]);
});
