/*
 * postfix-variants.ts - what every integration test shares: the flush programs it runs against
 * (Postfix's own C daemon, the reference, and fastflush) and the gate for tests that need a
 * real Postfix instance.
 */
import type { FlushProgram } from './postfix-instance.js';
import { postfixUnavailableReason } from './postfix-instance.js';
import { gatedTests, type Requirement } from './requirements.js';

export const PROGRAMS: readonly FlushProgram[] = ['c', 'fastflush'];

export const REAL_POSTFIX: Requirement = { what: 'real Postfix', missing: postfixUnavailableReason };

/** withPostfix.serial(title, impl): registered only where a real instance can run (see requirements.ts). */
export const withPostfix = gatedTests(REAL_POSTFIX);
