// record-node.mjs - run by `npm install` (postinstall): remembers which node
// binary installed the package, for bin/flush, which master(8) starts without
// a PATH. The file lives in node_modules/ so it is never committed and goes
// away with the installation it describes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../node_modules/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}.fastflush-node`, `${process.execPath}\n`);
