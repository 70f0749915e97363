// The SDK as a third party gets it: packed by a plain `npm pack` in packages/sdk (which builds it
// first), installed from the tarball in a project outside the workspace, imported under Node,
// type-checked with `tsc` and run against a live server.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, adminEnv, QUESTION, TEA_GUIDE } from './support/fixtures';
import { type ServerProcess, startServerProcess } from './support/server-process';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SDK_DIR = path.join(REPO, 'packages/sdk');

/**
 * The environment without npm's own variables: run under `npm test`, they name this workspace
 * as the prefix, and an `npm install` in the consumer project would install here instead.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
  );
  return { ...env, ...extra };
}

async function sh(command: string, args: string[], cwd: string, env = cleanEnv()) {
  try {
    return await run(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** A consumer's script: every line of it has to type-check against the published declarations. */
const CONSUMER_SCRIPT = `
import {
  createPersonasClient,
  PersonasError,
  type ChatStreamEvent,
  type PersonasClient,
  type RouterInputs,
  type RouterOutputs,
} from '@personas/sdk';

const url = process.env.PERSONAS_URL ?? '';
const anonymous = createPersonasClient({ url });
const info: RouterOutputs['system']['info'] = await anonymous.system.info.query();
const session = await anonymous.auth.login.mutate({
  email: process.env.ADMIN_EMAIL ?? '',
  password: process.env.ADMIN_PASSWORD ?? '',
});
const client: PersonasClient = createPersonasClient({ url, token: session.token });

await client.collections.create.mutate({ name: 'packed-guides' });
const added = await client.collections.addDocument.mutate({
  name: 'packed-guides',
  file_name: ${JSON.stringify(TEA_GUIDE.file_name)},
  content: ${JSON.stringify(TEA_GUIDE.content)},
});
const persona: RouterInputs['personas']['build'] = {
  persona_name: 'Packed sommelier',
  rag: { db_collections: ['packed-guides'] },
};
const built = await client.personas.build.mutate(persona);
const reply = await client.chat.send.mutate({
  persona_id: built.persona_id,
  content: ${JSON.stringify(QUESTION)},
});
const cosine: number | undefined = reply.rag_hit?.cosine_similarity;

const kinds: ChatStreamEvent['type'][] = [];
let streamed = '';
let tokens = '';
for await (const event of client.chatStream(built.persona_id, { content: ${JSON.stringify(QUESTION)} })) {
  kinds.push(event.type);
  if (event.type === 'token') tokens += event.text;
  if (event.type === 'done') streamed = event.response;
}

let missing: { status: number; code: string; detail: string } | null = null;
try {
  await client.personas.get.query({ persona_id: '00000000-0000-4000-8000-000000000000' });
} catch (error) {
  if (error instanceof PersonasError) {
    missing = { status: error.status, code: error.code, detail: error.detail };
  }
}
await client.personas.delete.mutate({ persona_id: built.persona_id });
await client.collections.delete.mutate({ name: 'packed-guides' });

// Never called: if the published types had decayed to any, these directives would be errors.
export function typesAreReal(): void {
  // @ts-expect-error persona_name is required
  void client.personas.build.mutate({});
  // @ts-expect-error content is a string
  void client.chat.send.mutate({ persona_id: 'p', content: 42 });
  // @ts-expect-error no such procedure
  void client.personas.nope;
}

console.log(
  JSON.stringify({
    server: info.name,
    chunks: added.chunks,
    message: built.message,
    success: reply.rag_hit?.success,
    cosine,
    kinds: [...new Set(kinds)],
    streamMatchesReply: streamed === reply.response && tokens === streamed,
    missing,
  }),
);
`;

/** A Node project's usual settings. */
const NODE_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    skipLibCheck: true,
    outDir: 'out',
  },
  include: ['main.ts'],
};

/**
 * Every declaration checked, the SDK's included. (DOM is in `lib` because @trpc/client's own
 * declarations name `RequestInfo`, which @types/node does not declare.)
 */
const STRICT_TSCONFIG = {
  compilerOptions: {
    ...NODE_TSCONFIG.compilerOptions,
    lib: ['ES2023', 'DOM'],
    skipLibCheck: false,
    noEmit: true,
  },
  include: ['main.ts'],
};

let server: ServerProcess;
let consumer: string;
/** What the tarball holds, without npm's `package/` prefix. */
let packedFiles: string[];
const installed = (file: string) => path.join(consumer, 'node_modules/@personas/sdk', file);

const skipped = Boolean(process.env.TEST_DATABASE_URL);

beforeAll(async () => {
  if (skipped) return;
  consumer = await mkdtemp(path.join(tmpdir(), 'personas-sdk-consumer-'));
  // Settled, not raced: a failed build must still leave the started server to afterAll.
  const [started, prepared] = await Promise.allSettled([
    startServerProcess(adminEnv()),
    (async () => {
      // No build beforehand: the pack's own `prepack` has to make dist/.
      await rm(path.join(SDK_DIR, 'dist'), { recursive: true, force: true });
      await sh('npm', ['pack', '--pack-destination', consumer], SDK_DIR);
      const tarballs = (await readdir(consumer)).filter((name) => name.endsWith('.tgz'));
      if (tarballs.length !== 1) throw new Error(`npm pack made ${tarballs.join(', ') || 'none'}`);
      const tarball = path.join(consumer, tarballs[0] ?? '');
      const { stdout: listing } = await sh('tar', ['-tzf', tarball], consumer);
      packedFiles = listing
        .split('\n')
        .filter(Boolean)
        .map((entry) => entry.replace(/^package\//, ''));

      await writeFile(
        path.join(consumer, 'package.json'),
        JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }),
      );
      // From the registry through the local npm cache (offline when it is warm).
      await sh(
        'npm',
        [
          'install',
          tarball,
          'typescript@5.9',
          '@types/node@20',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
        ],
        consumer,
      );
      await writeFile(path.join(consumer, 'main.ts'), CONSUMER_SCRIPT);
      await writeFile(path.join(consumer, 'tsconfig.json'), JSON.stringify(NODE_TSCONFIG));
      await writeFile(path.join(consumer, 'tsconfig.strict.json'), JSON.stringify(STRICT_TSCONFIG));
    })(),
  ]);
  if (started.status === 'fulfilled') server = started.value;
  for (const result of [started, prepared]) if (result.status === 'rejected') throw result.reason;
}, 240_000);

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

const tsc = (project: string) =>
  sh(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], consumer);
// tsc over every declaration is CPU-bound: ~17 s alone here, past vitest's 30 s on a loaded machine.
const slow = { timeout: 120_000 };

// Nothing here depends on the database (its server runs on PGlite either way): CI runs the suite
// once on PGlite and once with TEST_DATABASE_URL, and the second pass would only repeat this.
describe.skipIf(skipped)('the packed SDK, installed outside the workspace', () => {
  it('ships only the built files, the README and the LICENSE', () => {
    expect(packedFiles.sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/index.js.map',
      'package.json',
    ]);
  });

  it('installs a manifest that points at the build and depends on @trpc/client and eventsource-parser alone', async () => {
    const manifest = JSON.parse(await readFile(installed('package.json'), 'utf8'));
    expect(manifest.exports['.']).toMatchObject({
      types: './dist/index.d.ts',
      import: './dist/index.js',
    });
    expect(manifest).toMatchObject({ main: './dist/index.js', types: './dist/index.d.ts' });
    expect(manifest.license).toBe('MIT');
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@trpc/client',
      'eventsource-parser',
    ]);
    expect(Object.keys(manifest.peerDependencies)).toEqual(['@trpc/server']);
    // Its own engines, not the server's: what the built code and @trpc/client need.
    expect(manifest.engines.node).toBe('>=20');
  });

  it('imports under Node', async () => {
    const { stdout } = await sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const sdk = await import('@personas/sdk'); console.log(JSON.stringify(Object.keys(sdk)));",
      ],
      consumer,
    );
    expect(JSON.parse(stdout)).toEqual(
      expect.arrayContaining(['createPersonasClient', 'PersonasError']),
    );
  });

  it('installs without the private workspace packages', async () => {
    const declarations = await readFile(installed('dist/index.d.ts'), 'utf8');
    // It imports @trpc/* alone: not the private contracts, nor what they are written with.
    const imported = [...declarations.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)].map(
      (m) => m[1],
    );
    expect(new Set(imported)).toEqual(new Set(['@trpc/server', '@trpc/client']));
    await expect(
      readFile(path.join(consumer, 'node_modules/@personas/contracts/package.json')),
    ).rejects.toThrow();
  });

  it("links its README to absolute addresses, the repository's by its manifest's URL", async () => {
    const manifest = JSON.parse(await readFile(installed('package.json'), 'utf8'));
    const repository = String(manifest.repository.url)
      .replace(/^git\+/, '')
      .replace(/\.git$/, '');
    const readme = await readFile(installed('README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      // A relative link resolves against the registry's page, where the repository's files are not.
      expect(URL.canParse(link), link).toBe(true);
      if (new URL(link).host === new URL(repository).host)
        expect(link.startsWith(repository), link).toBe(true);
    }
  });

  it('type-checks a script with tsc, every declaration included', slow, async () => {
    await tsc('tsconfig.strict.json');
  });

  it('compiles and runs that script against a live server', slow, async () => {
    await tsc('tsconfig.json');
    const { stdout } = await sh(
      process.execPath,
      ['out/main.js'],
      consumer,
      cleanEnv({
        PERSONAS_URL: server.url,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      }),
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(result).toEqual({
      server: 'personas',
      chunks: expect.any(Number),
      message: 'Persona created successfully',
      success: true,
      cosine: expect.any(Number),
      kinds: ['meta', 'token', 'done'],
      streamMatchesReply: true,
      missing: { status: 404, code: 'NOT_FOUND', detail: 'Persona not found' },
    });
    expect(result.chunks).toBeGreaterThan(0);
  });
});
