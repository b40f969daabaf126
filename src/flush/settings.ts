/*
 * settings.ts - everything the flush service needs from main.cf, resolved once
 * per process in pre-jail init (as root, before any chroot), so that serving a
 * request never reads configuration or opens tables lazily.
 *
 * Exports: FlushSettings, loadFlushSettings(config, readLogicalLines).
 */
import type { MailConfig } from '../config/types.js';
import { DomainList } from '../match/domain-list.js';
import { queueHashing, type QueueHashing } from '../queue/queue-path.js';

export interface FlushSettings {
  /** fast_flush_domains, built with parent style when listed in parent_domain_matches_subdomains. */
  domains: DomainList;
  hashing: QueueHashing;
  /** fast_flush_refresh_time and fast_flush_purge_time, seconds. */
  refreshTime: number;
  purgeTime: number;
  /** public/<queue_service_name>, relative to queue_directory. */
  queueTriggerPath: string;
  triggerTimeout: number;
  /** enable_idna2003_compatibility. */
  transitionalIdna: boolean;
}

const FLUSH_DOMAINS = 'fast_flush_domains';

export function loadFlushSettings(config: MailConfig, readLogicalLines: (path: string) => string[]): FlushSettings {
  const parentStyle = config
    .getList('parent_domain_matches_subdomains')
    .some((name) => name.toLowerCase() === FLUSH_DOMAINS);
  return {
    domains: new DomainList(config.get(FLUSH_DOMAINS), {
      listName: FLUSH_DOMAINS,
      parentStyle,
      utf8CaseFolding: config.getBool('smtputf8_enable'),
      readLogicalLines,
    }),
    hashing: queueHashing(config.getList('hash_queue_names'), config.getInt('hash_queue_depth')),
    refreshTime: config.getTime('fast_flush_refresh_time'),
    purgeTime: config.getTime('fast_flush_purge_time'),
    queueTriggerPath: `public/${config.get('queue_service_name')}`,
    triggerTimeout: config.getTime('trigger_timeout'),
    transitionalIdna: config.getBool('enable_idna2003_compatibility'),
  };
}
