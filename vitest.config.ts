import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages export their TypeScript sources under this condition (and their build
  // otherwise, for the published SDK): tests run the sources, no build first. Vitest hands these
  // conditions to its workers as `--conditions`.
  ssr: { resolve: { conditions: ['@personas/source', ...defaultServerConditions] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'apps/*/bench/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // PGlite takes seconds to start and argon2 hashes are deliberately slow: leave room.
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // Two cores: more workers only contend.
    maxWorkers: 2,
  },
});
