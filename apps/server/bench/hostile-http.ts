/**
 * bench:faults, round 2 — hostile HTTP against a real server process (PGlite, its own data
 * directory): deep JSON, chunked bodies far over the limit sent unauthenticated, slowloris
 * sockets, header floods and parallel login batches. Prints what each attack was answered, the
 * 500s seen, and the process's RSS before and after (as a ratio: absolute sizes vary by machine).
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ADMIN, PASSWORD } from '../../../test/support/fixtures';
import { startServerProcess } from '../../../test/support/server-process';

const HEADERS_TIMEOUT_MS = 2_000;
const CHUNKED_BODIES = 24;
const CHUNKED_BYTES = 15 * 1024 * 1024;
const SLOW_SOCKETS = 500;
const DEEP_REQUESTS = 200;
const HEADER_FLOODS = 200;
const LOGIN_BATCHES = 8;
const LOGINS_PER_BATCH = 5;

/** Resident memory of a process in bytes (Linux), or null where /proc is not there. */
async function rssOf(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const kb = status && /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : null;
}

type Tally = Record<string, number>;
const count = (tally: Tally, key: string | number) => {
  tally[key] = (tally[key] ?? 0) + 1;
};

/** One request whose body is streamed without a length, as `Transfer-Encoding: chunked` does. */
function chunkedUpload(base: URL, path: string, bytes: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: base.hostname, port: base.port, path, method: 'POST' }, (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.setHeader('content-type', 'application/json');
    req.on('error', () => resolve('reset'));
    const piece = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** A socket that sends half a request line and then trickles a header byte now and then. */
async function slowSocket(base: URL): Promise<Socket> {
  const socket = connect(Number(base.port), base.hostname);
  socket.on('error', () => {});
  // Read what the server says (its 408), so its closing the socket is seen as the end.
  socket.resume();
  await once(socket, 'connect');
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  return socket;
}

export async function hostileHttpRound(): Promise<void> {
  await using server = await startServerProcess({
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    REQUEST_TIMEOUT_MS: '10000',
  });
  const base = new URL(server.url);
  const pid = server.child.pid ?? 0;
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    }).then(
      async (r) => {
        await r.arrayBuffer();
        return String(r.status);
      },
      () => 'reset',
    );
  // Warm: the first requests load code and fill caches that are not what the attacks cost.
  for (let i = 0; i < 20; i += 1) await post('/api/auth/login', JSON.stringify(ADMIN));
  const before = await rssOf(pid);

  const deep: Tally = {};
  const nested = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  for (let i = 0; i < DEEP_REQUESTS; i += 1) count(deep, await post('/api/auth/login', nested));

  const chunked: Tally = {};
  const uploads = Array.from({ length: CHUNKED_BODIES }, () =>
    chunkedUpload(base, '/api/auth/login', CHUNKED_BYTES),
  );
  for (const status of await Promise.all(uploads)) count(chunked, status);

  const floods: Tally = {};
  const bigHeader = 'x'.repeat(100 * 1024);
  for (let i = 0; i < HEADER_FLOODS; i += 1) {
    count(floods, await post('/api/auth/login', '{}', { 'x-flood': bigHeader }));
  }

  const email = `victim-${Date.now()}@example.com`;
  await post('/api/auth/register', JSON.stringify({ email, password: PASSWORD }));
  const logins: Tally = {};
  const batch = () => {
    const procedures = Array(LOGINS_PER_BATCH).fill('auth.login').join(',');
    const inputs = Object.fromEntries(
      Array.from({ length: LOGINS_PER_BATCH }, (_, i) => [i, { email, password: `wrong-${i}` }]),
    );
    return fetch(`${server.url}/trpc/${procedures}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(inputs),
    }).then((r) => r.json() as Promise<{ error?: { data?: { httpStatus?: number } } }[]>);
  };
  for (const answers of await Promise.all(Array.from({ length: LOGIN_BATCHES }, batch))) {
    for (const a of answers) count(logins, a.error?.data?.httpStatus ?? 200);
  }

  const sockets = await Promise.all(Array.from({ length: SLOW_SOCKETS }, () => slowSocket(base)));
  const trickle = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write('X-a: b\r\n');
  }, 500);
  await delay(HEADERS_TIMEOUT_MS + 3_000);
  clearInterval(trickle);
  const stillOpen = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
  for (const s of sockets) s.destroy();

  await delay(1_000);
  const after = await rssOf(pid);
  const all = [deep, chunked, floods, logins];
  const fiveHundreds = all.reduce((n, t) => n + (t['500'] ?? 0), 0);
  const mb = (bytes: number | null) =>
    bytes === null ? '—' : `${(bytes / 2 ** 20).toFixed(0)} MB`;
  console.log('Hostile HTTP (one server process, PGlite):');
  console.log(`  ${DEEP_REQUESTS} bodies of 5,000 nested arrays:    ${JSON.stringify(deep)}`);
  console.log(
    `  ${CHUNKED_BODIES} chunked ${CHUNKED_BYTES / 2 ** 20} MB bodies, unauthenticated: ${JSON.stringify(chunked)}`,
  );
  console.log(`  ${HEADER_FLOODS} requests with a 100 KB header:  ${JSON.stringify(floods)}`);
  console.log(
    `  ${LOGIN_BATCHES} parallel tRPC batches of ${LOGINS_PER_BATCH} wrong passwords: ${JSON.stringify(logins)} (401s are passwords evaluated)`,
  );
  console.log(
    `  ${SLOW_SOCKETS} slowloris sockets still open ${HEADERS_TIMEOUT_MS / 1000 + 3} s later: ${stillOpen}`,
  );
  console.log(`  500s seen:                       ${fiveHundreds}`);
  console.log(
    `  RSS before → after:              ${mb(before)} → ${mb(after)}` +
      (before && after ? ` (${(after / before).toFixed(2)}×)` : ''),
  );
  console.log(`  process alive:                   ${server.child.exitCode === null}`);
}
