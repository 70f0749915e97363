import { once } from 'node:events';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, TEST_ADMIN_ENV } from '../test-support/actors';
import { startTestApp, type TestApp } from '../test-support/test-app';
import { jsonNestsDeeperThan } from './json-depth';

/** Hostile HTTP as an attacker and a careless network send it, through the whole host. */
const BODY_LIMIT = 16 * 1024;
const HEADERS_TIMEOUT_MS = 400;
let t: TestApp;
let admin: Actor;
let port: number;

beforeAll(async () => {
  t = await startTestApp({
    ...TEST_ADMIN_ENV,
    BODY_LIMIT_BYTES: String(BODY_LIMIT),
    DOCUMENT_LIMIT_BYTES: String(64 * 1024),
    HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    REQUEST_TIMEOUT_MS: '1500',
  });
  admin = await adminActor(t);
  await t.app.http.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.http.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
});

const DEEP = `${'['.repeat(5000)}${']'.repeat(5000)}`;

/** A body with no Content-Length, sent in chunks as `Transfer-Encoding: chunked` does. */
function chunked(bytes: number, chunk = 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const size = Math.min(chunk, bytes - sent);
      sent += size;
      this.push(Buffer.alloc(size, 0x20));
    },
  });
}

/** Opens a raw socket to the listening host and collects what it answers until it closes. */
async function rawSocket(): Promise<{ socket: Socket; answer: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const answer = new Promise<string>((resolve) => {
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  return { socket, answer };
}

/** Waits for `promise`, failing after `ms`: every wait in this file is bounded. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('deeply nested JSON', () => {
  it('is found by a linear scan that skips strings', () => {
    expect(jsonNestsDeeperThan(DEEP, 64)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":[[[1]]]}', 4)).toBe(false);
    expect(jsonNestsDeeperThan(`{"a":"${'['.repeat(100)}\\""}`, 2)).toBe(false);
  });

  it.each([
    ['REST, public', '/api/auth/login', false],
    ['REST, signed in', '/api/personas/build', true],
    ['tRPC', '/trpc/auth.login', false],
    ['tRPC batch', '/trpc/auth.login,auth.login?batch=1', false],
    ['the SSE route', '/api/personas/x/chat/stream', true],
  ])('is a 400 with a clear detail on %s', async (_name, url, signedIn) => {
    const res = await t.app.http.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...(signedIn ? { authorization: `Bearer ${admin.token}` } : {}),
      },
      payload: DEEP,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'BAD_REQUEST',
      detail: expect.stringMatching(/deeper than 64/),
    });
  });

  it('leaves ordinary nesting alone', async () => {
    const res = await t.app.http.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'nobody@example.com', password: 'wrong-password' }),
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('body limits on the bytes received', () => {
  it.each([
    ['unauthenticated login', '/api/auth/login', {}],
    ['tRPC login', '/trpc/auth.login', {}],
    ['a signed-in route', '/api/personas/build', { signedIn: true }],
  ])('refuses a chunked body over the limit on %s with 413', async (_name, url, opts) => {
    const res = await t.app.http.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...('signedIn' in opts ? { authorization: `Bearer ${admin.token}` } : {}),
      },
      payload: chunked(BODY_LIMIT * 4),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('gives document uploads the document limit, counted the same way', async () => {
    const collection = await t.api('POST', '/collections', {
      token: admin.token,
      body: { name: 'chunked', description: 'd' },
    });
    expect(collection.status).toBe(200);
    const content = 'word '.repeat(BODY_LIMIT / 2);
    const body = JSON.stringify({ file_name: 'a.txt', content });
    const send = (payload: Readable) =>
      t.app.http.inject({
        method: 'POST',
        url: `/api/collections/chunked/documents`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
        payload,
      });
    const accepted = await send(Readable.from([Buffer.from(body)]));
    expect(accepted.statusCode, accepted.body).toBeLessThan(300);
    const refused = await send(chunked(400 * 1024));
    expect(refused.statusCode).toBe(413);
  });
});

describe('authentication before the body', () => {
  it('refuses a signed-in route 401 with its body still unsent', async () => {
    const { socket, answer } = await rawSocket();
    socket.write(
      'POST /api/personas/build HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${BODY_LIMIT - 1}\r\n\r\n`,
    );
    const text = await within(5000, answer);
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  it('answers tRPC clients in their own envelope, batch by batch', async () => {
    const res = await t.app.http.inject({
      method: 'POST',
      url: '/trpc/chat.send,auth.login?batch=1',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ 0: {}, 1: {} }),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject([
      { error: { data: { code: 'UNAUTHORIZED', path: 'chat.send' } } },
      { error: { data: { code: 'UNAUTHORIZED', path: 'auth.login' } } },
    ]);
  });

  it('keeps register, login and system info public', async () => {
    const res = await t.api('POST', '/auth/register', {
      body: { email: `public-${Date.now()}@example.com`, password: 'a-long-password' },
    });
    expect(res.status).toBe(200);
  });
});

describe('slow and stalled clients', () => {
  it('cuts off a socket that trickles its headers', async () => {
    const { socket, answer } = await rawSocket();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await within(HEADERS_TIMEOUT_MS + 5000, answer);
    expect(socket.destroyed || socket.readableEnded).toBe(true);
  });

  it('cuts off a socket that never sends a byte', async () => {
    const { socket, answer } = await rawSocket();
    await within(HEADERS_TIMEOUT_MS + 5000, answer);
    expect(socket.destroyed || socket.readableEnded).toBe(true);
  });

  it('cuts off a body that stalls halfway', async () => {
    const { socket, answer } = await rawSocket();
    socket.write(
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n{"email":',
    );
    await within(7000, answer);
    expect(socket.destroyed || socket.readableEnded).toBe(true);
  });

  it('answers a header flood with 431 in the error shape', async () => {
    const { socket, answer } = await rawSocket();
    socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    const text = await within(5000, answer);
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(text).toMatch(/\r\nContent-Type: application\/problem\+json; charset=utf-8\r\n/);
    // The body repeats the status it came with, as every problem body does.
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
      type: 'about:blank',
      title: 'Request Header Fields Too Large',
      status: 431,
      code: 'BAD_REQUEST',
      detail: expect.stringMatching(/headers/),
    });
  });
});
