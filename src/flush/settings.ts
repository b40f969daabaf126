/*
 * settings.ts - everything the flush service needs from main.cf, resolved once
 * per process in pre-jail init (as root, before any chroot), so that serving a
 * request never reads configuration or opens tables lazily.
 *
 * File tables (hash:, cdb:, ...) are loaded here, with Postfix's postmap
 * where needed; network tables of fast_flush_domains go through Postfix's
 * proxymap service (private/<proxymap_service_name>,
 * relative to the working directory, so it also works in the chroot).
 *
 * Exports: FlushSettings, loadFlushSettings(config).
 */
import type { MailConfig } from '../config/types.js';
import { DomainList } from '../match/domain-list.js';
import { TableSet } from '../match/match-list.js';
import { ProxymapClient } from '../match/proxymap.js';
import { StringList } from '../match/string-list.js';
import { queueHashing, type QueueHashing } from '../queue/queue-path.js';

export interface FlushSettings {
  /** fast_flush_domains, built with parent style when its name matches parent_domain_matches_subdomains. */
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
  /** fastflush_compact_on_refresh: refresh compacts each logfile before deciding on it. */
  compactOnRefresh: boolean;
}

const FLUSH_DOMAINS = 'fast_flush_domains';

const PARENT_STYLE = 'parent_domain_matches_subdomains';

export function loadFlushSettings(config: MailConfig): FlushSettings {
  const utf8CaseFolding = config.getBool('smtputf8_enable');
  const tables = new TableSet({
    openErrorIsFatal: config.getBool('daemon_table_open_error_is_fatal'),
    binary: { postmap: `${config.get('command_directory')}/postmap`, configDir: config.configDir },
    proxymap: new ProxymapClient({
      service: config.get('proxymap_service_name'),
      ipcTimeout: config.getTime('ipc_timeout'),
      ipcIdle: config.getTime('ipc_idle'),
    }),
  });
  // As domain_list_init() does: the parent-style list is built and asked first.
  const parentStyle = new StringList(config.get(PARENT_STYLE), { listName: PARENT_STYLE, utf8CaseFolding }, tables)
    .match(FLUSH_DOMAINS);
  return {
    domains: new DomainList(config.get(FLUSH_DOMAINS), {
      listName: FLUSH_DOMAINS,
      parentStyle,
      utf8CaseFolding,
      tables,
    }),
    hashing: queueHashing(config.getList('hash_queue_names'), config.getInt('hash_queue_depth')),
    refreshTime: config.getTime('fast_flush_refresh_time'),
    purgeTime: config.getTime('fast_flush_purge_time'),
    queueTriggerPath: `public/${config.get('queue_service_name')}`,
    triggerTimeout: config.getTime('trigger_timeout'),
    transitionalIdna: config.getBool('enable_idna2003_compatibility'),
    compactOnRefresh: config.getBool('fastflush_compact_on_refresh'),
  };
}
