/*
 * config.ts - main.cf access for the fastflush command and its supervisor.
 *
 * The shared loader throws ConfigError for what Postfix treats as fatal; the
 * command-line tools report it the way Postfix programs do ("fatal: ..."),
 * through msg.fatal, so that the caller's single FatalError handler applies.
 *
 * Exports: loadCliConfig(configDir, env, processName).
 */
import { loadMailConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { MailConfig } from '../config/types.js';
import { msg } from '../util/msg.js';

export function loadCliConfig(configDir: string, env: NodeJS.ProcessEnv, processName: string): MailConfig {
  try {
    return loadMailConfig({ configDir, env, processName });
  } catch (err) {
    if (err instanceof ConfigError) return msg.fatal(err.message);
    throw err;
  }
}
