/*
 * paths.ts - locations tests need, independent of where ava runs the compiled file.
 */
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** dist/test/helpers/paths.js -> repository root */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
