// The published package is this folder with `files` from package.json: `dist/` and the README and
// LICENSE. The private workspace packages are not published, so the build must not lean on them.
import { readFile } from 'node:fs/promises';

const dist = new URL('../dist/', import.meta.url);
for (const file of ['index.js', 'index.d.ts']) {
  const text = await readFile(new URL(file, dist), 'utf8');
  const leak = /(?:from\s+|import\(\s*)['"](@personas\/[^'"]+)['"]/.exec(text);
  if (leak) throw new Error(`dist/${file} imports ${leak[1]}, which is not published`);
}
