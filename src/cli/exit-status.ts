/*
 * exit-status.ts - how the fastflush command reports a flush server status,
 * following postqueue(1) -s / -i (spec-protocol-master.md §6): exit status from
 * <sysexits.h> and the same fatal message texts.
 *
 *   0 OK    -> exit 0, silent
 *   3 BAD   -> EX_USAGE (64)       Invalid request: "ARG"
 *   4 DENY  -> EX_UNAVAILABLE (69) Flush service is not configured for destination "SITE"
 *              (only requests that name a site; postqueue -i has no such case)
 *   -1 FAIL -> EX_UNAVAILABLE (69) Cannot flush mail queue - mail system is down
 *   other   -> EX_SOFTWARE (70)    Unknown flush server reply status N
 *
 * Exports: EX, FlushOutcome, describeFlushStatus.
 */
import { FLUSH_STATUS } from '../protocol/flush-messages.js';
import type { FlushClientRequest } from './flush-client.js';

/** The <sysexits.h> values this tool uses. */
export const EX = {
  OK: 0,
  USAGE: 64,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  IOERR: 74,
  NOPERM: 77,
} as const;

export interface FlushOutcome {
  exitCode: number;
  /** The fatal message for a failure; undefined on success. */
  message?: string;
}

export function describeFlushStatus(req: FlushClientRequest, status: number): FlushOutcome {
  const argument = [req.site, req.queueId].filter((v) => v !== undefined).join(' ') || req.request;
  switch (status) {
    case FLUSH_STATUS.OK:
      return { exitCode: EX.OK };
    case FLUSH_STATUS.BAD:
      return { exitCode: EX.USAGE, message: `Invalid request: "${argument}"` };
    case FLUSH_STATUS.FAIL:
      return { exitCode: EX.UNAVAILABLE, message: 'Cannot flush mail queue - mail system is down' };
    case FLUSH_STATUS.DENY:
      if (req.site !== undefined) {
        return { exitCode: EX.UNAVAILABLE, message: `Flush service is not configured for destination "${req.site}"` };
      }
      break;
  }
  return { exitCode: EX.SOFTWARE, message: `Unknown flush server reply status ${status}` };
}
