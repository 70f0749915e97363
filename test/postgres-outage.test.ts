// Postgres killed (`pg_ctl stop -m immediate`) and started again under chat and upload load, on a
// throw-away cluster this test creates (never the shared server): the server process stays up,
// answers 503 with Retry-After (never 500) while the database is gone, loses no acknowledged
// write, and serves again by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyExample, documentedUrl, sendRequest } from './support/documented-requests';
import { ADMIN } from './support/fixtures';
import { type OpenApiDocument, openApiValidator } from './support/openapi-validator';
import {
  OUTAGE_SERVER_ENV,
  type OutageFixtures,
  runOutageRound,
  setUpOutageFixtures,
  until,
} from './support/outage-load';
import { type ServerProcess, startServerProcess } from './support/server-process';
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
  throwawayPostgresUnavailable,
} from './support/throwaway-postgres';

const unavailable = throwawayPostgresUnavailable();
if (unavailable) {
  console.warn(`postgres-outage.test.ts skipped: ${unavailable} (CI has them)`);
}

// initdb, a server start (slow on a loaded machine), the outage and the recovery.
const TEST_TIMEOUT = 300_000;

describe.skipIf(unavailable !== null)('a Postgres outage under load', () => {
  let cluster: ThrowawayPostgres | undefined;
  let server: ServerProcess | undefined;
  let fixtures: OutageFixtures;

  beforeAll(async () => {
    cluster = await startThrowawayPostgres();
    server = await startServerProcess({ ...OUTAGE_SERVER_ENV, DATABASE_URL: cluster.url });
    fixtures = await setUpOutageFixtures(server.url);
  }, TEST_TIMEOUT);

  // Also when a test failed mid-outage: the server first (it holds connections), then the
  // cluster and its directory.
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
    await cluster?.[Symbol.asyncDispose]();
  }, TEST_TIMEOUT);

  it(
    'answers 503 with Retry-After and never 500, stays up, loses nothing acknowledged, and serves again',
    async () => {
      const round = await runOutageRound(server!.url, cluster!, fixtures, {
        clients: 4,
        outageMs: 3_000,
      });
      const summary = JSON.stringify({
        ...round,
        internalErrors: round.internalErrors.slice(0, 5),
      });

      expect(server!.child.exitCode, summary).toBeNull();
      expect(server!.output()).not.toMatch(/Unhandled 'error' event|uncaughtException/);
      expect(round.internalErrors, summary).toEqual([]);
      expect(round.networkErrors, summary).toBe(0);
      // The outage was seen, on every transport, and said when to come back.
      expect(round.answered503, summary).toBeGreaterThan(0);
      expect(round.missing503RetryAfter, summary).toBe(0);
      expect([...round.transports503].sort(), summary).toEqual(
        ['rest-chat', 'rest-document', 'sse', 'trpc'].sort(),
      );
      expect(round.readyzDuringOutage).toEqual({ status: 503, reason: 'database_unreachable' });
      // Nothing acknowledged is missing, and the server came back by itself, soon.
      expect(round.acknowledgedWrites).toBeGreaterThan(0);
      expect(round.lostWrites, summary).toEqual([]);
      expect(round.recoveryMs, summary).not.toBeNull();
      expect(round.recoveryMs!).toBeLessThan(15_000);
      const ready = await fetch(`${server!.url}/readyz`);
      expect(ready.status).toBe(200);
    },
    TEST_TIMEOUT,
  );

  // The document declares a 503 on every operation (each reads the database, or at least resolves
  // its token there); test/openapi-routes provokes every other documented status, this one here.
  it(
    'answers every operation documented with a 503 so while the database is down, as documented',
    async () => {
      const url = server!.url;
      const doc = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApiDocument;
      const problems = openApiValidator(doc);
      const login = await sendRequest('POST', `${url}/api/auth/login`, {
        body: JSON.stringify(ADMIN),
      });
      const token = (login.body as { token: string }).token;
      const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([, spec]) => spec.responses['503'])
          .map(([method, spec]) => ({ method: method.toUpperCase(), path, spec })),
      );
      expect(operations.length).toBeGreaterThan(30);

      await cluster!.kill();
      const wrong: string[] = [];
      try {
        for (const { method, path, spec } of operations) {
          const example = bodyExample(spec);
          const answer = await sendRequest(method, documentedUrl(url, path, spec), {
            token,
            body: example === undefined ? undefined : JSON.stringify(example),
          });
          const found = answer.status === 503 ? problems(method, path, answer) : ['not a 503'];
          if (found.length > 0) {
            wrong.push(`${method} ${path}: ${answer.status} ${found.join('; ')}`);
          }
        }
      } finally {
        await cluster!.start();
      }
      expect(wrong).toEqual([]);
      const back = await until(
        async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200,
        60_000,
      );
      expect(back).toBe(true);
    },
    TEST_TIMEOUT,
  );
});
