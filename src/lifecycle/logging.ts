/*
 * logging.ts - where a daemon's msg.* records go, chosen as Postfix's
 * maillog_client does, and re-chosen once main.cf has been read.
 *
 * Exactly one of postlogd or syslog is in use at a time (both at once could
 * make postlogd log its own records in a loop):
 *   before main.cf  postlogd when POSTLOG_SERVICE is in the environment
 *                   (master exports it), otherwise syslog;
 *   after main.cf   postlogd when maillog_file is set (it must start with one
 *                   of maillog_file_prefixes), otherwise syslog with
 *                   syslog_facility.
 * -V adds stderr on top. The tag is "<MAIL_LOGTAG or syslog_name>/<process
 * name>". After main.cf the environment is updated (MAIL_LOGTAG, POSTLOG_*)
 * so that commands this process runs log the same way.
 *
 * Exports: DaemonLogging.
 */
import type { MailConfig } from '../config/types.js';
import {
  createPostlogSink, createStderrSink, createSyslogSink, syslogFacility, type DatagramSink,
} from '../util/log-sinks.js';
import { msg } from '../util/msg.js';

const DEFAULT_TAG = 'postfix';
const LOG_MAIL = 2;

export class DaemonLogging {
  private current: { sink: DatagramSink; remove: () => void } | undefined;
  private stderrRemover: (() => void) | undefined;
  private tag: string;

  constructor(
    private readonly processName: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly pid = process.pid,
  ) {
    this.tag = `${env.MAIL_LOGTAG || DEFAULT_TAG}/${processName}`;
    const postlogPath = env.POSTLOG_SERVICE;
    if (postlogPath) {
      this.use(createPostlogSink({
        path: postlogPath, host: env.POSTLOG_HOSTNAME || 'amnesiac', tag: this.tag, pid,
      }));
    } else {
      this.use(createSyslogSink({ tag: this.tag, pid, facility: LOG_MAIL }));
    }
  }

  /** -V: also log to stderr, without the pid, as msg_vstream does. */
  enableStderr(): void {
    this.stderrRemover?.();
    this.stderrRemover = msg.addSink(createStderrSink(this.tag));
  }

  /**
   * The "do not run this command by hand" refusal goes to the person at the
   * terminal, tagged with the bare process name as Postfix does (replacing
   * the -V stderr output, so the line appears once).
   */
  refuseTerminal(): never {
    this.stderrRemover?.();
    this.stderrRemover = msg.addSink(createStderrSink(this.processName));
    return msg.fatal('do not run this command by hand');
  }

  /** Switches to the destinations main.cf asks for; fatal on a bad setting. */
  configure(config: MailConfig): void {
    const syslogName = config.get('syslog_name');
    this.tag = `${syslogName}/${this.processName}`;
    this.env.MAIL_LOGTAG = syslogName;
    msg.allowUtf8 = config.getBool('smtputf8_enable');
    if (this.stderrRemover) this.enableStderr();

    const maillogFile = config.get('maillog_file');
    if (maillogFile !== '') {
      const prefixes = config.getList('maillog_file_prefixes');
      if (!prefixes.some((prefix) => maillogFile.startsWith(prefix))) {
        msg.fatal(`maillog_file value '${maillogFile}' does not match any prefix in maillog_file_prefixes`);
      }
      const path = `${config.get('queue_directory')}/public/${config.get('postlog_service_name')}`;
      const host = config.get('myhostname') || this.env.POSTLOG_HOSTNAME || 'amnesiac';
      this.use(createPostlogSink({ path, host, tag: this.tag, pid: this.pid }));
      this.env.POSTLOG_SERVICE = path;
      this.env.POSTLOG_HOSTNAME = host;
      return;
    }
    const facilityName = config.get('syslog_facility');
    const facility = syslogFacility(facilityName)
      ?? msg.fatal(`file ${config.configDir}/main.cf: parameter syslog_facility: unrecognized value: ${facilityName}`);
    this.use(createSyslogSink({ tag: this.tag, pid: this.pid, facility }));
    delete this.env.POSTLOG_SERVICE;
    delete this.env.POSTLOG_HOSTNAME;
  }

  /** Replaces the postlog/syslog destination (closing the old socket), keeping stderr. */
  private use(sink: DatagramSink): void {
    if (this.current !== undefined) {
      this.current.remove();
      this.current.sink.close();
    }
    this.current = { sink, remove: msg.addSink(sink) };
  }
}
