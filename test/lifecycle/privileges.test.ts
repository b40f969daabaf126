/*
 * privileges.test.ts - finding mail_owner without getpwnam(3).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupUser } from '../../src/lifecycle/privileges.js';

test('lookupUser reads passwd lines and falls back to getent', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'passwd-'));
  const file = join(dir, 'passwd');
  writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\nmailownerx:x:102:105::/var/spool/postfix:/usr/sbin/nologin\nbroken:x::\n');
  try {
    t.deepEqual(lookupUser('mailownerx', file), { name: 'mailownerx', uid: 102, gid: 105 });
    // A prefix of a name is not the name.
    t.is(lookupUser('mailowner', file), undefined);
    t.is(lookupUser('broken', file), undefined);
    // Not in the file: NSS (getent) answers for the system's own accounts.
    t.deepEqual(lookupUser('nobody', file), { name: 'nobody', uid: 65534, gid: 65534 });
    t.is(lookupUser('no-such-user-here', file), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
