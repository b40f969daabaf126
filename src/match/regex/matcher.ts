/*
 * matcher.ts - runs a translated regular expression on a byte-string key, in
 * bounded time.
 *
 * Every pattern is first compiled for V8's experimental linear-time engine
 * (the 'l' flag), which cannot backtrack catastrophically: nested quantifiers
 * such as ^(a+)+$ then cost time linear in the key. The few constructs that
 * engine refuses (look-arounds, atomic groups, back-references, very large
 * counted repeats) are compiled for the ordinary engine and run in the budget
 * worker, which gives up after REGEX_TIME_BUDGET_MS. A pattern with caseless
 * back-references is matched against the key with ASCII letters folded to
 * lower case, one with guarded back-references against the key followed by a
 * sentinel character (see ast.ts).
 *
 * Nothing happens at import: the V8 option and the budget worker are set up
 * by the first pattern compiled, so a daemon without regexp: or pcre: tables
 * (most of them, started anew every max_use connections) pays nothing for
 * them. Tables are compiled before any chroot, and node:v8 is built into
 * Node, so nothing is read from disk later.
 *
 * Exports: CompiledRegex, compileRegex, BudgetExceededError (re-exported).
 */
import { SENTINEL, type EmittedRegex } from './ast.js';
import { BudgetRunner } from './budget-worker.js';

export { BudgetExceededError } from './budget-worker.js';

/** How long one backtracking match may run before it counts as failed. */
const REGEX_TIME_BUDGET_MS = 1000;

let linearEngineEnabled = false;

/** The 'l' flag exists only behind this V8 option; it changes nothing else. */
function enableLinearEngine(): void {
  if (linearEngineEnabled) return;
  process.getBuiltinModule('node:v8').setFlagsFromString('--enable-experimental-regexp-engine');
  linearEngineEnabled = true;
}

let runner: BudgetRunner | undefined;

function budgetRunner(): BudgetRunner {
  runner ??= new BudgetRunner(REGEX_TIME_BUDGET_MS);
  return runner;
}

interface Variant {
  source: string;
  /** Compiled for the linear engine; undefined when that engine refuses the pattern. */
  linear?: RegExp;
}

function prepare(source: string): Variant {
  enableLinearEngine();
  try {
    return { source, linear: new RegExp(source, 'l') };
  } catch {
    // Validate now, so that a translation bug surfaces at table open, not in the worker.
    new RegExp(source);
    return { source };
  }
}

/** C-locale tolower() on a byte string. */
function asciiLower(key: string): string {
  return key.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

export class CompiledRegex {
  private readonly anyKey: Variant;
  private readonly singleLine: Variant;
  private readonly foldKey: boolean;
  private readonly sentinel: boolean;

  constructor(emitted: EmittedRegex) {
    this.foldKey = emitted.foldKey;
    this.sentinel = emitted.sentinel;
    this.anyKey = prepare(emitted.anyKey);
    this.singleLine = emitted.singleLine === emitted.anyKey ? this.anyKey : prepare(emitted.singleLine);
  }

  /** True when both variants run on the linear engine. */
  get linear(): boolean {
    return this.anyKey.linear !== undefined && this.singleLine.linear !== undefined;
  }

  /**
   * Whether the pattern matches somewhere in `key` (one character per byte).
   * Synchronous on the linear engine; rejects with BudgetExceededError when a
   * backtracking match runs out of time.
   */
  test(rawKey: string): boolean | Promise<boolean> {
    const folded = this.foldKey ? asciiLower(rawKey) : rawKey;
    const variant = folded.includes('\n') ? this.anyKey : this.singleLine;
    const key = this.sentinel ? folded + SENTINEL : folded;
    if (variant.linear) {
      return variant.linear.test(key);
    }
    return budgetRunner().test(variant.source, key);
  }
}

export function compileRegex(emitted: EmittedRegex): CompiledRegex {
  return new CompiledRegex(emitted);
}
