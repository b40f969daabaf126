/*
 * main-edit.test.ts - postconf -e/-X/-# on main.cf (spec-config.md §5.5),
 * as pure functions and through the command with a real file.
 */
import test from 'ava';
import { editMainCf, parseMainEditArgs } from '../../../src/config/postconf/main-edit.js';
import { PostconfFatal } from '../../../src/config/postconf/diag.js';
import { collectWarnings, makeConfigDir, readConfigFile, runOurs } from './helpers.js';

const SPEC_INPUT = '# header comment\nfoo = one\n   two\n# interior comment\n   three\nbar=x\n \nbaz = 1\nfoo = dup\n';

test('§5.5 -e replaces every occurrence, drops continuations, appends the rest sorted', (t) => {
  const { warn, warnings } = collectWarnings();
  const requests = parseMainEditArgs('edit', ['foo = new value', 'zzz=last', 'aaa=', 'bar=y', 'bar=z'], warn);
  const out = editMainCf(SPEC_INPUT, 'edit', requests, './main.cf', warn);
  t.is(out, '# header comment\nfoo = new value\n# interior comment\nbar = z\n \nbaz = 1\nfoo = new value\naaa = \nzzz = last\n');
  t.deepEqual(warnings, ["ignoring earlier request: 'bar = y'", './main.cf: multiple entries for "foo"']);
});

test('§5.5 -X removes entries with their continuation lines, keeps comments and blanks', (t) => {
  const { warn } = collectWarnings();
  const requests = parseMainEditArgs('exclude', ['foo', 'baz', 'nothere'], warn);
  t.is(editMainCf(SPEC_INPUT, 'exclude', requests, './main.cf', warn), '# header comment\n# interior comment\nbar=x\n \n');
});

test('§5.5 -# comments out every physical line of an entry, comments stay as they are', (t) => {
  const { warn } = collectWarnings();
  const requests = parseMainEditArgs('comment', ['foo', 'bar'], warn);
  t.is(
    editMainCf(SPEC_INPUT, 'comment', requests, './main.cf', warn),
    '# header comment\n#foo = one\n#   two\n# interior comment\n#   three\n#bar=x\n \nbaz = 1\n#foo = dup\n',
  );
});

test('§5.5 a replaced last line without newline gets one', (t) => {
  const { warn } = collectWarnings();
  const requests = parseMainEditArgs('edit', ['b=3', 'c=4'], warn);
  t.is(editMainCf('a = 1\nb = 2', 'edit', requests, './main.cf', warn), 'a = 1\nb = 3\nc = 4\n');
});

test('3.7: an untouched last line without newline stays so, and an appended setting is glued to it', (t) => {
  // Postfix 3.12 adds the missing newline; 3.7 (the installed reference) does not.
  const { warn } = collectWarnings();
  t.is(editMainCf('a = 1\nb = 2', 'edit', parseMainEditArgs('edit', ['a=3'], warn), './main.cf', warn), 'a = 3\nb = 2');
  t.is(editMainCf('a = 1\nb = 2', 'edit', parseMainEditArgs('edit', ['bar=z'], warn), './main.cf', warn), 'a = 1\nb = 2bar = z\n');
});

test('an empty -e value is written with a trailing space', (t) => {
  const { warn } = collectWarnings();
  t.is(editMainCf('x = 1\n', 'edit', parseMainEditArgs('edit', ['x='], warn), './main.cf', warn), 'x = \n');
});

test('3.7 warns about a repeated -e name even when the value is the same', (t) => {
  const { warn, warnings } = collectWarnings();
  parseMainEditArgs('edit', ['a=1', 'a=1', 'a=2'], warn);
  t.deepEqual(warnings, ["ignoring earlier request: 'a = 1'", "ignoring earlier request: 'a = 1'"]);
});

test('argument checks happen before anything else', (t) => {
  const { warn } = collectWarnings();
  const fatal = (mode: 'edit' | 'exclude' | 'comment', args: string[]): string =>
    t.throws(() => parseMainEditArgs(mode, args, warn), { instanceOf: PostconfFatal })?.message ?? '';
  t.is(fatal('edit', ['a=1\nb=2']), '-e, -X, or -# accepts no multi-line input');
  t.is(fatal('edit', ['  # a=1']), '-e, -X, or -# accepts no comment input');
  t.is(fatal('edit', ['=x']), 'missing attribute name: "=x"');
  t.is(fatal('edit', ['a b=x']), `missing '=' after attribute name: "a b=x"`);
  t.is(fatal('exclude', ['  ']), '-X or -# requires non-blank parameter names');
  t.is(fatal('comment', ['a=1']), '-X or -# requires parameter names without value');
});

test('CRLF lines: a replaced line loses its CR, others keep theirs; keys stop at CR', (t) => {
  const { warn } = collectWarnings();
  t.is(editMainCf('a = 1\r\nb = 2\r\n', 'edit', parseMainEditArgs('edit', ['a=9'], warn), './main.cf', warn), 'a = 9\nb = 2\r\n');
});

test('a line is a C string: text after a NUL byte is lost, newline included', (t) => {
  const { warn } = collectWarnings();
  t.is(editMainCf('a=1\0b\nc=2\n', 'edit', parseMainEditArgs('edit', ['c=3'], warn), './main.cf', warn), 'a=1c = 3\n');
});

test('an indented first line is a continuation of nothing and is copied', (t) => {
  const { warn } = collectWarnings();
  t.is(editMainCf(' lead=1\na=2\n', 'exclude', parseMainEditArgs('exclude', ['lead'], warn), './main.cf', warn), ' lead=1\na=2\n');
});

test('a commented-out entry is never matched: -e after -# appends', (t) => {
  const { warn } = collectWarnings();
  t.is(editMainCf('#foo = 1\n', 'edit', parseMainEditArgs('edit', ['foo=2'], warn), './main.cf', warn), '#foo = 1\nfoo = 2\n');
});

test('the command edits the file in place; implicit -e from "="', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': SPEC_INPUT });
  const result = runOurs(dir, ['foo = new value', 'zzz=last']);
  t.is(result.status, 0);
  t.is(result.stdout, '');
  t.is(result.stderr, `postconf: warning: ${dir}/main.cf: multiple entries for "foo"\n`);
  t.is(readConfigFile(dir, 'main.cf'), '# header comment\nfoo = new value\n# interior comment\nbar=x\n \nbaz = 1\nfoo = new value\nzzz = last\n');
});

test('§5.1 a later argument without "=" is fatal and the file stays unchanged', (t) => {
  const dir = makeConfigDir(t, { 'main.cf': SPEC_INPUT });
  const result = runOurs(dir, ['a=b', 'b']);
  t.is(result.status, 1);
  t.is(result.stderr, `postconf: fatal: missing '=' after attribute name: "b"\n`);
  t.is(readConfigFile(dir, 'main.cf'), SPEC_INPUT);
});

test('a missing main.cf is fatal for editing', (t) => {
  const dir = makeConfigDir(t, {});
  const result = runOurs(dir, ['-e', 'a=b']);
  t.is(result.status, 1);
  t.is(result.stderr, `postconf: fatal: open ${dir}/main.cf for reading: No such file or directory\n`);
});
