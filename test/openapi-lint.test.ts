// The OpenAPI document through `redocly lint` with its recommended rules, the way an integrator
// would check it: any error fails, and so does any warning not listed below with its reason.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createOpenApiDocument } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')),
  'bin/cli.js',
);

/** Warnings the document keeps, each for a reason that is not ours to change. */
const KNOWN_WARNINGS = [
  // The repository declares no license yet; the document must not invent one.
  'info-license: Info object should contain `license` field.',
  // The seed's paths are the contract. `/personas/build/chat` could be read as either route;
  // the router resolves it (a static segment wins over a parameter), so it is the build route.
  'no-ambiguous-paths: Paths should resolve unambiguously. Found two ambiguous paths: `/personas/build/{persona_id}` and `/personas/{persona_id}/chat`.',
  'no-ambiguous-paths: Paths should resolve unambiguously. Found two ambiguous paths: `/personas/build/{persona_id}` and `/personas/{persona_id}/message_history`.',
];

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: {
    ruleId: string;
    severity: 'error' | 'warn';
    message: string;
    location: { pointer: string }[];
  }[];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'personas-redocly-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('redocly lint (recommended)', () => {
  it('reports no error, and only the known warnings', async () => {
    const documentPath = path.join(dir, 'openapi.json');
    const configPath = path.join(dir, 'redocly.yaml');
    await writeFile(documentPath, JSON.stringify(createOpenApiDocument({ version: '0.0.0' })));
    await writeFile(configPath, 'extends:\n  - recommended\ntelemetry: off\n');
    // Offline and quiet: no telemetry, no update check (a lint needs no network at all).
    const { stdout } = await run(
      process.execPath,
      [cli, 'lint', documentPath, '--config', configPath, '--format', 'json'],
      {
        cwd: dir,
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          CI: 'true',
          NO_COLOR: '1',
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        },
      },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      // It exits non-zero on errors; the JSON report on stdout says which.
      if (error.stdout) return { stdout: error.stdout };
      throw new Error(`redocly did not run: ${error.stderr ?? String(error)}`);
    });
    const report = JSON.parse(stdout) as LintReport;
    const describeProblem = (p: LintReport['problems'][number]) => {
      const where = p.ruleId === 'operation-4xx-response' ? ` (${p.location[0]?.pointer})` : '';
      return `${p.ruleId}: ${p.message}${where}`;
    };
    const errors = report.problems.filter((p) => p.severity === 'error').map(describeProblem);
    expect(errors).toEqual([]);
    const warnings = report.problems.filter((p) => p.severity === 'warn').map(describeProblem);
    expect(warnings.sort()).toEqual([...KNOWN_WARNINGS].sort());
  });
});
