// build-addon.mjs - run by `npm install` (install): compiles native/posix.c into
// native/build/Release/posix.node with the system C compiler ($CC, default cc).
//
// The addon uses Node-API only, so it needs no Node source tree: the headers come
// from the node-api-headers package (a dependency, installed from the registry like
// any other), and the symbols are resolved against the running node binary at load
// time. Unlike node-gyp, nothing is downloaded and no npm `nodedir` setting is
// needed, so the same command works for root and for an ordinary user.
// NAPI_VERSION 8 is what every Node >= 20 provides (package.json's engines).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const { include_dir: includeDir } = createRequire(import.meta.url)('node-api-headers');
const outDir = `${root}native/build/Release`;
mkdirSync(outDir, { recursive: true });

const cc = process.env.CC || 'cc';
const args = [
  '-shared', '-fPIC', '-O2', '-Wall', '-Wextra',
  '-DNAPI_VERSION=8',
  `-I${includeDir}`,
  `${root}native/posix.c`,
  '-o', `${outDir}/posix.node`,
];
// macOS resolves the Node-API symbols at load time only when told to.
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');

console.log(`${cc} ${args.join(' ')}`);
const result = spawnSync(cc, args, { stdio: 'inherit' });
if (result.error) {
  console.error(`build-addon: cannot run ${cc}: ${result.error.message} (a C compiler is required)`);
  process.exit(1);
}
process.exit(result.status ?? 1);
