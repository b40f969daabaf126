/*
 * requirements.ts - registering tests that need something outside the repository (real
 * Postfix, postconf, strace).
 *
 * When the requirement is met the tests are registered as they are. When it is not, they fail
 * under REQUIRE_POSTFIX=1 (CI must never silently lose them); otherwise they are not registered
 * at all, and one test per file records what was not run and checks that the requirement really
 * is missing. No test is skipped and none passes without checking something.
 *
 * Exports: Requirement, gatedTests, ROOT.
 */
import test, { type ExecutionContext } from 'ava';

export interface Requirement {
  /** Names the requirement in test titles, e.g. "real Postfix". */
  what: string;
  /** Why it cannot be met here, or null when it can. Called again by the placeholder test. */
  missing(): string | null;
}

type Implementation = (t: ExecutionContext) => void | Promise<void>;
type Register = (title: string, impl: Implementation) => void;

export interface GatedTests {
  test: Register;
  serial: Register;
}

export function gatedTests(requirement: Requirement): GatedTests {
  const reason = requirement.missing();
  let noted = false;
  const gate = (register: typeof test | typeof test.serial): Register => (title, impl) => {
    if (reason === null) {
      register(title, impl);
    } else if (process.env.REQUIRE_POSTFIX === '1') {
      register(title, (t) => t.fail(`${requirement.what} is required (REQUIRE_POSTFIX=1) but unavailable: ${reason}`));
    } else if (!noted) {
      noted = true;
      test(`${requirement.what} is unavailable, so its tests were not registered`, (t) => {
        t.log(`not run: ${reason}`);
        t.not(requirement.missing(), null);
      });
    }
  };
  return { test: gate(test), serial: gate(test.serial) };
}

/** Tests that need root (chroot, setuid, mount namespaces, private Postfix instances). */
export const ROOT: Requirement = {
  what: 'root',
  missing: () => (process.getuid?.() === 0 ? null : `not running as root (uid ${process.getuid?.()})`),
};
