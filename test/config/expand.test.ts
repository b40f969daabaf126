/*
 * `$name` expansion: every vector of spec-config.md §2.9 (with the Postfix
 * 3.7 result where 3.7 differs), the mac_expand.ref and postconf test57
 * vectors, relational and `level` operators (§2.5), and nesting (§2.7).
 */
import test from 'ava';
import { MacroError, expandValue, type MacroLookup } from '../../src/config/expand.js';
import { ConfigError } from '../../src/config/errors.js';

function table(entries: Record<string, string>): MacroLookup {
  return (name) => (Object.hasOwn(entries, name) ? entries[name] : undefined);
}

// §2.9: a=alpha, b=$a-beta, c=${b}/$(a), e= (empty); u, ab undefined; compatibility_level at its default.
const spec = table({ a: 'alpha', b: '$a-beta', c: '${b}/$(a)', e: '', compatibility_level: '0' });

const vectors: Array<[string, string]> = [
  ['$a', 'alpha'],
  ['$a-beta', 'alpha-beta'],
  ['${b}/$(a)', 'alpha-beta/alpha'],
  ['$c', 'alpha-beta/alpha'],
  ['${a?yes}', 'yes'],
  ['${e?yes}', ''],
  ['${a:no}', ''],
  ['${e:no}', 'no'],
  ['${u:undefined}', 'undefined'],
  ['${a?{X}:{Y}}', 'X'],
  ['${e?{X}:{Y}}', 'Y'],
  ['${a?X:Y}', 'X:Y'],
  ['${e?X:Y}', ''],
  ['${e ? {X} : {Y}}', 'Y'],
  ['${a?$b:$c}', 'alpha-beta:alpha-beta/alpha'],
  ['${a?{$b}:{$c}}', 'alpha-beta'],
  ['${a?{ X }}', ' X '],
  ['${a ? X }', ' X '],
  ['${e:{ Y }}z', ' Y z'],
  ['${e ? {X} : Y }', ' Y '],
  ['$$a', '$a'],
  ['$${a}', '${a}'],
  ['$ab$a.x', 'alpha.x'],
  ['${a}b', 'alphab'],
  ['$u|', '|'],
  ['${ a }', 'alpha'],
  ['$(a?(x))', '(x)'],
  ['${a?{${e:{nested}}}}', 'nested'],
  ['${{$a} == {alpha}}', 'true'],
  ['${{$a} == {beta}}', ''],
  ['${{$a}=={alpha}?{T}:{F}}', 'T'],
  ['${{$a} != {beta} ? {ne} : {eq}}', 'ne'],
  ['${{10} < {9}}', ''],
  ['${{10} < {9x}}', 'true'],
  ['${{007} == {7}}', 'true'],
  ['${{ 2} == {2}}', ''],
  ['${{3.10} <level {3.9}}', ''],
  ['${{3.10} < {3.9}}', 'true'],
  ['${{a}<{b}}${{b}<{a}}', 'true'],
  ['${{$e} == {}}', 'true'],
  ['${{$compatibility_level} <level {2} ? {old} : {new}}', 'old'],
  ['${{10} <= {10}}${{10} >= {9}}${{9} > {10}}', 'truetrue'],
  ['${{3.10} <=level {3.10}}', 'true'],
  ['${{3.1} ==level {3.1.0}}', 'true'],
  ['${{3} !=level {3.0.0}}', ''],
  ['${{ +3} <level {4}}', 'true'],
  ['${{3.10} >level {3.9}}', 'true'],
  ['${{3.10} >=level {3.9}}', 'true'],
  ['$bogus{AB}', '{AB}'],
  ['${a?}${e:}', ''],
  ['${?x}${ }y', 'y'],
];

for (const [value, expected] of vectors) {
  test(`expand ${JSON.stringify(value)} -> ${JSON.stringify(expected)}`, (t) => {
    t.is(expandValue(value, spec), expected);
  });
}

const errorVectors: Array<[string, string[]]> = [
  // Postfix 3.7 has no named functions; 3.12 would give xn--exmple-cua.com.
  ['${domain_to_ascii{ exämple.com }}', ['attribute name syntax error at: "...domain_to_ascii>>>{ exämple.com }"']],
  ['${domain_to_utf8{xn--exmple-cua.com}}', ['attribute name syntax error at: "...domain_to_utf8>>>{xn--exmple-cua.com}"']],
  ['${{}==""}', ['"{expression}" expected at: "...{} ==>>>"""']],
  ['$', ['empty macro name: "$"']],
  ['a$-b', ['empty macro name: "a$-b"']],
  ['${a', ['truncated macro reference: "${a"']],
  ['${}', ['empty macro name: "${}"']],
  ['${a-b}', ['attribute name syntax error at: "...a>>>-b"']],
  ['${a?{X} junk}', ['":" expected at: "...X}>>>junk"']],
  ['${u:{X} junk}', ['unexpected input at: "...X}>>>junk"']],
  ['$(a?{x)', ['unbalanced {} in attribute expression: "{x"']],
  ['${{a}=={b}x}', ['"?" or ":" expected at: "...}>>>x"']],
  ['${{a}==b{b}}', ['bad operator suffix at: "...==>>>b"']],
  ['${{3.} <level {3}}', ['malformed compatibility level syntax: "3."']],
  ['${{3} <level {3.1024}}', ['malformed compatibility level syntax: "3.1024"']],
];

for (const [value, warnings] of errorVectors) {
  test(`expand error ${JSON.stringify(value)}`, (t) => {
    const seen: string[] = [];
    const err = t.throws(() => expandValue(value, spec, (w) => seen.push(w)), { instanceOf: MacroError });
    t.deepEqual(err?.warnings, warnings);
    t.deepEqual(seen, warnings);
    t.is(err?.message, 'macro processing error');
  });
}

test('expand: a numeric comparison that overflows a C long is fatal at once', (t) => {
  const err = t.throws(() => expandValue('${{99999999999999999999} == {1}}', spec), { instanceOf: ConfigError });
  t.is(err?.message, 'mac_exp_eval: bad conversion: 99999999999999999999');
  t.false(err instanceof MacroError);
  t.is(expandValue('${{9223372036854775807} > {9223372036854775806}}', spec), 'true');
});

test('expand: strcmp() compares UTF-8 bytes', (t) => {
  // U+FF5E sorts before U+1F600 as UTF-8 bytes, after it as UTF-16 code units.
  t.is(expandValue('${{\uff5e} < {\u{1f600}}}', spec), 'true');
});

// util/mac_expand.ref vectors (name1=name1-value, name2 undefined).
const ref = table({ name1: 'name1-value' });
const OPS = '"==" or "!="" or "<"" or "<="" or ">="" or ">"';

const refVectors: Array<[string, string]> = [
  ['${{${name1?bug:test}} != {bug:test}?{Error: NOT}:{Good:}} Postfix 2.11 compatible', 'Good: Postfix 2.11 compatible'],
  ['${{${name1??bug}} != {?bug}?{Error: NOT}:{Good:}} Postfix 2.11 compatible', 'Good: Postfix 2.11 compatible'],
  ['${{${name2::bug}} != {:bug}?{Error: NOT}:{Good:}} Postfix 2.11 compatible', 'Good: Postfix 2.11 compatible'],
  ['${{$name2} != {} ? {x} : name 2 undefined, |$name1|}', ' name 2 undefined, |name1-value|'],
  ['${{$name1} != {}?x{x}}', 'x{x}'],
  ['${name1?{x}}${name2?{x}:{y}}${name1:{z}}', 'xy'],
];

for (const [value, expected] of refVectors) {
  test(`mac_expand.ref ${JSON.stringify(value)}`, (t) => {
    t.is(expandValue(value, ref), expected);
  });
}

const refErrors: Array<[string, string]> = [
  ['$(name1', 'truncated macro reference: "$(name1"'],
  ['$(na me1)', 'attribute name syntax error at: "...na>>> me1"'],
  ['${{$name1} ? {x} : {y} }', `${OPS} expected at: "...$name1}>>>? {x} : {y} "`],
  ['${{text}}', `${OPS} expected at: "...text}>>>"`],
  ['${{text} = {}}', `${OPS} expected at: "...text}>>>= {}"`],
  ['${{xx}==(yy)?{oops}:{phew}}', '"{expression}" expected at: "...{xx} ==>>>(yy)?{oops}:{phew}"'],
  ['${name2:{${name1}}:{${name2}}}', 'unexpected input at: "...${name1}}>>>:{${name2}}"'],
  ['${name2?{${name1}}?{${name2}}}', '":" expected at: "...${name1}}>>>?{${name2}}"'],
  ['${{$name1} >=blah {bar}}', 'bad operator suffix at: "...>=>>>blah"'],
];

for (const [value, warning] of refErrors) {
  test(`mac_expand.ref error ${JSON.stringify(value)}`, (t) => {
    const err = t.throws(() => expandValue(value, ref), { instanceOf: MacroError });
    t.deepEqual(err?.warnings, [warning]);
  });
}

test('expand: the "{...}" operands after ? are truncated at 20 bytes in messages', (t) => {
  const err = t.throws(() => expandValue('${a?{X} 123456789012345678901234567890}', spec), { instanceOf: MacroError });
  t.deepEqual(err?.warnings, ['":" expected at: "...X}>>>12345678901234567890"']);
});

test('postconf test57: legacy ?: forms next to braced ones', (t) => {
  const lookup = table({
    x: '${{1} == {2}?{error}:x-value}',
    y: 'y-value',
    bar: '${x?{$y}:$z}',
    baz: '${x?{$z}:$y}',
    t1: 'Postfix 2.11 ${{${x?bug:x}} == {bug}?in}compatible',
  });
  t.is(expandValue('$bar', lookup), 'y-value');
  t.is(expandValue('$baz', lookup), '');
  t.is(expandValue('$t1', lookup), 'Postfix 2.11 compatible');
  t.is(expandValue('$x', lookup), 'x-value');
});

/** A chain v1 -> v2 -> ... -> vN = "end", expanded from "$v1". */
function chain(n: number): MacroLookup {
  const entries: Record<string, string> = {};
  for (let i = 1; i < n; i++) entries[`v${i}`] = `$v${i + 1}`;
  entries[`v${n}`] = 'end';
  return table(entries);
}

test('nesting: a chain of 100 references works', (t) => {
  t.is(expandValue('$v1', chain(100)), 'end');
});

test('nesting: a chain of 101 references fails on the literal at the end', (t) => {
  const err = t.throws(() => expandValue('$v1', chain(101)), { instanceOf: MacroError });
  t.deepEqual(err?.warnings, ['unreasonable macro call nesting: "end"']);
});

test('nesting: self-reference x = $x', (t) => {
  const err = t.throws(() => expandValue('$x', table({ x: '$x' })), { instanceOf: MacroError });
  t.deepEqual(err?.warnings, ['unreasonable macro call nesting: "x"']);
});

test('nesting: self-reference after text warns for the literal and for the reference', (t) => {
  const err = t.throws(() => expandValue('x$x', table({ x: 'x$x' })), { instanceOf: MacroError });
  t.deepEqual(err?.warnings, ['unreasonable macro call nesting: "x"', 'unreasonable macro call nesting: "x"']);
});

test('nesting: after an error every later segment repeats the warning, as in Postfix', (t) => {
  // postconf 3.7 -x logs "x" once, then "." and "y" 101 times each while unwinding.
  const err = t.throws(() => expandValue('$x', table({ x: '$x.$y', y: 'Y' })), { instanceOf: MacroError });
  const count = (text: string): number => (err?.warnings ?? []).filter((w) => w === `unreasonable macro call nesting: "${text}"`).length;
  t.is(err?.warnings[0], 'unreasonable macro call nesting: "x"');
  t.deepEqual([count('x'), count('.'), count('y'), err?.warnings.length], [1, 101, 101, 203]);
});

test('nesting: self-reference inside a relational operand is an error, not a crash', (t) => {
  // postconf 3.7 recurses without limit here and dies with SIGSEGV.
  const lookup = table({ x: '${{$x} == {}}' });
  const err = t.throws(() => expandValue('$x', lookup), { instanceOf: MacroError });
  t.regex(err?.warnings[0] ?? '', /^unreasonable macro call nesting: /);
});

test('undefined names are not errors and a lookup returning undefined yields nothing', (t) => {
  t.is(expandValue('[$nothing][${nothing}][$(nothing)]', table({})), '[][][]');
});
