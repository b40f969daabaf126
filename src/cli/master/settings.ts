/*
 * settings.ts - what the supervisor needs from main.cf and master.cf, read
 * through the shared config loader (so `$name` expansion, defaults and `-o`
 * semantics are Postfix's) and the master.cf parser.
 *
 * Exports: loadMasterSettings(configDir, env) -> { settings, config }.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MailConfig } from '../../config/types.js';
import { strerror } from '../../util/errors.js';
import { msg } from '../../util/msg.js';
import { loadCliConfig } from '../config.js';
import { parseMasterCf } from './master-cf.js';
import type { MasterSettings } from './supervisor.js';

export function loadMasterSettings(
  configDir: string,
  env: NodeJS.ProcessEnv,
): { settings: MasterSettings; config: MailConfig } {
  const config = loadCliConfig(configDir, env, 'master');
  const masterCf = join(configDir, 'master.cf');
  let text: string;
  try {
    text = readFileSync(masterCf, 'utf8');
  } catch (err) {
    return msg.fatal(`open ${masterCf}: ${strerror(err)}`);
  }
  const defaultProcessLimit = config.getInt('default_process_limit');
  const services = parseMasterCf(text, {
    path: masterCf,
    defaultProcessLimit,
    compatibilityLevel: config.get('compatibility_level'),
  });
  return {
    config,
    settings: {
      configDirectory: configDir,
      queueDirectory: config.get('queue_directory'),
      daemonDirectory: config.get('daemon_directory'),
      defaultProcessLimit,
      serviceThrottleTime: config.getTime('service_throttle_time'),
      importEnvironment: config.get('import_environment'),
      syslogName: config.get('syslog_name'),
      services,
    },
  };
}
