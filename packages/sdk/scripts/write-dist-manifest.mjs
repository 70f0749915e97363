// The package as published is `dist/`: this writes its package.json (from the workspace one, with
// `exports` pointing at the built files instead of the sources the monorepo uses) and README.
// Pack or publish it with `npm pack ./dist` / `npm publish ./dist`.
import { copyFile, readFile, writeFile } from 'node:fs/promises';

const root = new URL('../', import.meta.url);
const dist = new URL('dist/', root);
const workspace = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
// The private workspace packages are not published: the build must not lean on them.
for (const file of ['index.js', 'index.d.ts']) {
  const text = await readFile(new URL(file, dist), 'utf8');
  const leak = /(?:from\s+|import\(\s*)['"](@personas\/[^'"]+)['"]/.exec(text);
  if (leak) throw new Error(`dist/${file} imports ${leak[1]}, which is not published`);
}

const trpcVersion = workspace.dependencies['@trpc/client'];

const manifest = {
  name: workspace.name,
  version: workspace.version,
  description: workspace.description,
  license: workspace.license,
  type: 'module',
  engines: { node: '>=20.12' },
  sideEffects: false,
  types: './index.d.ts',
  exports: {
    '.': { types: './index.d.ts', import: './index.js', default: './index.js' },
    './package.json': './package.json',
  },
  dependencies: workspace.dependencies,
  // The declarations are written in @trpc/server's types; @trpc/client asks for the same version.
  peerDependencies: { '@trpc/server': trpcVersion },
};

await writeFile(new URL('package.json', dist), `${JSON.stringify(manifest, null, 2)}\n`);
await copyFile(new URL('README.md', root), new URL('README.md', dist));
