import { defineConfig } from 'tsup';

/**
 * `dist/index.js` (ESM, Node 20+) and one bundled `dist/index.d.ts`. The private
 * `@personas/contracts` is used for types only and never published: `src/router.ts` has the
 * declaration emitter spell its router out in full, so the built package depends on
 * `@trpc/client` and `eventsource-parser` at run time and on `@trpc/server` for types, and on
 * nothing of ours. Both run-time dependencies stay imports (and in the published dependencies),
 * not bundled copies, so a consumer's updates and deduplication reach them.
 * `scripts/write-dist-manifest.mjs` then writes the published package.json and checks that.
 */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  treeshake: true,
  // Class names survive bundling, so errors print as PersonasError.
  keepNames: true,
  external: ['@trpc/client', 'eventsource-parser'],
  dts: true,
});
