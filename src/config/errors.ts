/*
 * errors.ts - the error type every config module throws for a condition that
 * Postfix treats as fatal (bad main.cf syntax, bad parameter value, macro
 * processing failure).
 *
 * The message is the text Postfix logs after "fatal: ", so the lifecycle layer
 * can hand it to msg.fatal() unchanged. `file` and `line` repeat what the
 * message already names, for callers that want to point at the setting.
 *
 * Exports: ConfigError.
 */

export class ConfigError extends Error {
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, where?: { file?: string; line?: number }) {
    super(message);
    this.name = 'ConfigError';
    this.file = where?.file;
    this.line = where?.line;
  }
}
