/*
 * postfix-variants.ts - the flush programs the integration tests run against, and the one
 * switch that enables the fastflush variants.
 */
import test from 'ava';
import type { FlushProgram } from './postfix-instance.js';

/**
 * Flip to true once bin/flush (the fastflush daemon) can serve a real Postfix instance.
 * Until then the fastflush variants are skipped, unless FASTFLUSH_READY=1 is in the environment.
 */
export const FASTFLUSH_READY = true;

export const PROGRAMS: readonly FlushProgram[] = ['c', 'fastflush'];

export function programEnabled(program: FlushProgram): boolean {
  return program === 'c' || FASTFLUSH_READY || process.env.FASTFLUSH_READY === '1';
}

/** test.serial, or test.serial.skip when one of the programs is not enabled yet. */
export function serialFor(...programs: FlushProgram[]): typeof test.serial | typeof test.serial.skip {
  return programs.every(programEnabled) ? test.serial : test.serial.skip;
}
