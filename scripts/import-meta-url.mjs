// import-meta-url.mjs - injected into the daemon bundle by build-daemon.mjs:
// import.meta.url, which a CommonJS file lacks, becomes the bundle's own URL.
import { pathToFileURL } from 'node:url';

export const importMetaUrl = pathToFileURL(__filename).href;
