/*
 * string-list.test.ts - parent_domain_matches_subdomains as match_parent_style() reads it: a
 * string list matched against the list's name (checked against the C daemon in
 * test/integration/eligibility.test.ts).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableSet } from '../../src/match/match-list.js';
import { StringList } from '../../src/match/string-list.js';
import { FatalError, msg } from '../../src/util/msg.js';

const dir = mkdtempSync(join(tmpdir(), 'ff-strlist-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const nameFile = join(dir, 'names');
writeFileSync(nameFile, 'debug_peer_list\nfast_flush_domains\n');
const texthash = join(dir, 'names.texthash');
writeFileSync(texthash, 'FAST_FLUSH_DOMAINS yes\n');

function parentStyle(value: string): boolean | Promise<boolean> {
  const tables = new TableSet({ openErrorIsFatal: false });
  return new StringList(value, { listName: 'parent_domain_matches_subdomains', utf8CaseFolding: false }, tables)
    .match('fast_flush_domains');
}

const CASES: Array<[string, boolean]> = [
  ['fast_flush_domains', true],
  ['FAST_FLUSH_DOMAINS', true],
  ['debug_peer_list, smtpd_access_maps', false],
  ['fast_flush_domains.example', false],
  ['!fast_flush_domains, fast_flush_domains', false],
  ['inline:{fast_flush_domains=1}', true],
  ['!inline:{fast_flush_domains=1}, fast_flush_domains', false],
  ['inline:{fast=1}, fast_flush_domains', true],
  ['static:x', true],
  ['!static:x', false],
  [nameFile, true],
  [`!${nameFile}, fast_flush_domains`, false],
  [`texthash:${texthash}`, false],
  ['', false],
];

for (const [value, expected] of CASES) {
  test(`parent_domain_matches_subdomains = "${value}" -> ${expected}`, (t) => {
    t.is(parentStyle(value), expected);
  });
}

test.serial('a table lookup failure is fatal, naming the list and the table', (t) => {
  const lines: string[] = [];
  const drop = msg.addSink((severity, text) => lines.push(`${severity}: ${text}`));
  t.teardown(drop);
  t.is(parentStyle('fast_flush_domains, fail:x'), true, 'an earlier match ends the scan');
  const error = t.throws(() => parentStyle('debug_peer_list, fail:x'), { instanceOf: FatalError });
  t.is(error?.message, 'parent_domain_matches_subdomains: fail:x: table lookup problem');
  const missing = join(dir, 'missing');
  t.throws(() => parentStyle(`texthash:${missing}`), { instanceOf: FatalError });
  t.true(lines.includes(`warning: texthash:${missing} is unavailable. open database ${missing}: No such file or directory`));
});
