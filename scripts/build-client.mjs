#!/usr/bin/env node
// Builds the browser side: the SDK bundle (dist/client/meridian.js, ESM), the demo page
// (dist/client/demo/: index.html, demo.css, demo.js) and the operator console
// (dist/client/console/: index.html, login.html, console.js, console.css with uPlot's
// stylesheet, and world-atlas's countries-110m.json for the offline map). The demo script imports the SDK from
// /sdk/meridian.js at run time, as any page using the SDK would, instead of bundling a copy.
// Part of `npm run build` (and so of `npm ci` through `prepare`).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'client');
const pageSrc = join(root, 'src', 'apps', 'demo', 'page');
const consoleSrc = join(root, 'src', 'apps', 'console', 'page');
const require = createRequire(import.meta.url);

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'demo'), { recursive: true });
mkdirSync(join(out, 'console'), { recursive: true });

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Browsers with RTCPeerConnection.connectionState, private class fields and AbortSignal.throwIfAborted.
  target: ['chrome100', 'firefox100', 'safari15.4'],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
};

/** The demo imports the SDK by its served URL; keep that import as it is. */
const sdkIsExternal = {
  name: 'sdk-external',
  setup(b) {
    b.onResolve({ filter: /\/client\/index\.js$/ }, () => ({ path: '/sdk/meridian.js', external: true }));
  },
};

await Promise.all([
  build({ ...common, entryPoints: [join(root, 'src', 'client', 'index.ts')], outfile: join(out, 'meridian.js'), minify: true }),
  build({ ...common, entryPoints: [join(pageSrc, 'demo.ts')], outfile: join(out, 'demo', 'demo.js'), plugins: [sdkIsExternal] }),
  build({ ...common, entryPoints: [join(consoleSrc, 'console.ts')], outfile: join(out, 'console', 'console.js'), minify: true }),
]);
for (const file of ['index.html', 'demo.css']) copyFileSync(join(pageSrc, file), join(out, 'demo', file));
for (const file of ['index.html', 'login.html']) copyFileSync(join(consoleSrc, file), join(out, 'console', file));
writeFileSync(
  join(out, 'console', 'console.css'),
  `${readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')}\n${readFileSync(join(consoleSrc, 'console.css'), 'utf8')}`,
);
copyFileSync(require.resolve('world-atlas/countries-110m.json'), join(out, 'console', 'countries-110m.json'));
console.log(`browser bundles written to ${out}`);
