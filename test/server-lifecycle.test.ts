import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type ServerProcess, startServerProcess } from './support/server-process';

/** Whether the server has logged a line for the request with this id (`"complete"`: its last). */
function hasLogged(server: ServerProcess, requestId: string, which: 'any' | 'complete' = 'any') {
  return server
    .output()
    .split('\n')
    .some(
      (line) =>
        line.includes(`"reqId":"${requestId}"`) &&
        (which === 'any' || line.includes('"responseTime"')),
    );
}

/** Opens a POST and sends only half of its body; `finish()` sends the rest and reads the answer. */
function halfSentPost(url: string, body: string, requestId: string) {
  const half = Math.floor(body.length / 2);
  let sendRest: () => void = () => {};
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-request-id': requestId,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, half));
    sendRest = () => req.end(body.slice(half));
  });
  return { answer, finish: () => sendRest() };
}

/** Whether a new request is turned away (refused connection, or 503 while closing). */
async function isRefusing(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).status === 503;
  } catch {
    return true;
  }
}

// Polls for what another process does; generous, because the machine may be loaded.
const WAIT = { timeout: 20_000, interval: 20 };

// Each test starts real server processes (2–4 s apiece, more on a loaded machine).
const PROCESS_TEST_TIMEOUT = 120_000;

describe('the server process', () => {
  it(
    'logs each request with its id, but never a body, a password or a token',
    async () => {
      await using server = await startServerProcess({ LOG_LEVEL: 'debug' });
      const credentials = { email: 'logged@example.com', password: 'never-in-the-logs-42' };
      const registered = await fetch(`${server.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'trace-logs-1' },
        body: JSON.stringify(credentials),
      });
      const { token } = (await registered.json()) as { token: string };
      await fetch(`${server.url}/api/auth/me`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-logs-2' },
      });
      // The last line logged for the last request has come through the pipe: all before it has.
      await vi.waitUntil(() => hasLogged(server, 'trace-logs-2', 'complete'), WAIT);
      const logs = server.output();
      expect(logs).toContain('"reqId":"trace-logs-1"');
      expect(logs).toContain('/api/auth/me');
      expect(logs).not.toContain(credentials.password);
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.split('.')[1]);
    },
    PROCESS_TEST_TIMEOUT,
  );

  it(
    'starts on the embedded default, prints its URL and serves',
    async () => {
      await using server = await startServerProcess();
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      const info = await (await fetch(`${server.url}/api/system/info`)).json();
      expect(info).toMatchObject({ name: 'personas', database: 'pglite' });
    },
    PROCESS_TEST_TIMEOUT,
  );

  it(
    'answers requests in flight when stopped with SIGTERM, exits 0, and keeps what it acknowledged',
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'personas-sigterm-'));
      try {
        const credentials = { email: 'inflight@example.com', password: 'in-flight-password' };
        {
          // Request lines (at debug: a request that succeeds is not worth an info line) say when
          // the server has the request.
          await using server = await startServerProcess({ LOG_LEVEL: 'debug' }, { dataDir });
          const inFlight = halfSentPost(
            `${server.url}/api/auth/register`,
            JSON.stringify(credentials),
            'in-flight-1',
          );
          // The server has accepted the connection and is reading the body before the signal.
          await vi.waitUntil(() => hasLogged(server, 'in-flight-1'), WAIT);
          server.child.kill('SIGTERM');
          // It has begun to shut down (new requests are refused) while this one is still open.
          await vi.waitUntil(() => isRefusing(server.url), WAIT);
          inFlight.finish();
          const answer = await inFlight.answer;
          expect(answer.status).toBe(200);
          expect(JSON.parse(answer.body)).toMatchObject({
            role: 'user',
            token: expect.any(String),
          });
          expect(await server.exited).toBe(0);
        }
        await using restarted = await startServerProcess({}, { dataDir });
        const login = await fetch(`${restarted.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(credentials),
        });
        expect(login.status).toBe(200);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    PROCESS_TEST_TIMEOUT,
  );
});
