/*
 * privileges.ts - the identity checks and the jail of a daemon, as Postfix's
 * mail_params_init (check_mail_owner) and chroot_uid(3).
 *
 * checkMailOwner: mail_owner must be a known user whose user and group ids are
 * not 0, so that a daemon that drops privileges never keeps root's.
 * enterJail: with a user, switch the group to its primary group and load its
 * supplementary groups; with a root directory, chroot into it and change to
 * the new root; finally, with a user, switch the user id, which must come
 * last because it gives up the right to do the rest. It then makes sure that
 * no root identity is left.
 *
 * Node has no getpwnam(3). /etc/passwd answers for the usual local account;
 * for accounts served by NSS modules (LDAP, systemd-userdb) getent(1) is asked,
 * once, before any chroot.
 *
 * Exports: PasswdEntry, lookupUser, checkMailOwner, enterJail.
 */
import { readFileSync } from 'node:fs';
import { chroot } from '../native/posix.js';
import { strerror } from '../util/errors.js';
import { msg } from '../util/msg.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function parsePasswdLine(line: string): PasswdEntry | undefined {
  const fields = line.split(':');
  if (fields.length < 4) return undefined;
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || fields[2] === '' || fields[3] === '') return undefined;
  return { name: fields[0] as string, uid, gid };
}

export function lookupUser(name: string, passwdFile = '/etc/passwd'): PasswdEntry | undefined {
  try {
    for (const line of readFileSync(passwdFile, 'utf8').split('\n')) {
      if (line.startsWith(`${name}:`)) return parsePasswdLine(line);
    }
  } catch {
    // No readable passwd file: NSS below may still know the user.
  }
  // child_process is loaded only here: with the dgram module it brings, a millisecond or two of every start.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const result = spawnSync('/usr/bin/getent', ['passwd', name], { encoding: 'utf8' });
  if (result.status !== 0 || typeof result.stdout !== 'string') return undefined;
  return parsePasswdLine(result.stdout.trim());
}

/**
 * The process credential calls exist on every POSIX platform Node runs on;
 * @types/node marks them optional (Windows) and lacks initgroups.
 */
const credentials = process as NodeJS.Process & {
  setgid(id: number): void;
  setuid(id: number): void;
  initgroups(user: string, extraGroup: number): void;
};

/** The user mail_owner names, checked as mail_params_init does; fatal with Postfix's messages. */
export function checkMailOwner(name: string, configDir: string): PasswdEntry {
  const where = `file ${configDir}/main.cf: parameter mail_owner`;
  const user = lookupUser(name) ?? msg.fatal(`${where}: unknown user name value: ${name}`);
  if (user.uid === 0) msg.fatal(`${where}: user ${name} has privileged user ID`);
  if (user.gid === 0) msg.fatal(`${where}: user ${name} has privileged group ID`);
  return user;
}

/** Fatal on any failure, with chroot_uid's messages. */
export function enterJail(opts: { user?: PasswdEntry; rootDir?: string }): void {
  const { user } = opts;
  if (user !== undefined) {
    try {
      credentials.setgid(user.gid);
    } catch (error) {
      msg.fatal(`setgid(${user.gid}): ${strerror(error)}`);
    }
    try {
      credentials.initgroups(user.name, user.gid);
    } catch (error) {
      msg.fatal(`initgroups: ${strerror(error)}`);
    }
  }
  if (opts.rootDir !== undefined) {
    try {
      chroot(opts.rootDir);
    } catch (error) {
      msg.fatal(`chroot(${opts.rootDir}): ${strerror(error)}`);
    }
    try {
      process.chdir('/');
    } catch (error) {
      msg.fatal(`chdir(/): ${strerror(error)}`);
    }
  }
  if (user !== undefined) {
    try {
      credentials.setuid(user.uid);
    } catch (error) {
      msg.fatal(`setuid(${user.uid}): ${strerror(error)}`);
    }
    // setuid(2) as root changes every user id, but a daemon that kept any
    // root identity would serve untrusted clients with full privileges.
    const ids = [process.getuid?.(), process.geteuid?.(), process.getgid?.(), process.getegid?.()];
    if (ids.some((id) => id === 0)) msg.fatal(`still running with root privileges after switching to user ${user.name}`);
  }
  if (msg.verbose > 1) msg.info(`chroot ${opts.rootDir ?? '(none)'} user ${user?.name ?? '(none)'}`);
}
