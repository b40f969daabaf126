/*
 * postfix-variants.ts - the flush programs every integration test runs against: Postfix's own
 * C daemon (the reference) and fastflush.
 */
import type { FlushProgram } from './postfix-instance.js';

export const PROGRAMS: readonly FlushProgram[] = ['c', 'fastflush'];
