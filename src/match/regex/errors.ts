/*
 * errors.ts - the two ways a table pattern can fail to compile.
 *
 * RegexSyntaxError: the C library would refuse it too; the message is the C
 * library's (glibc regerror() text, or PCRE2's "error in regex at offset N:
 * ..." text), and the rule is skipped as Postfix skips it.
 *
 * RegexUnsupportedError: the C library accepts it but fastflush cannot run it
 * with exactly the same meaning (see the README's list); the whole table is
 * then refused, so a lookup fails instead of giving a different answer.
 *
 * Exports: RegexSyntaxError, RegexUnsupportedError.
 */

export class RegexSyntaxError extends Error {}

export class RegexUnsupportedError extends Error {}
