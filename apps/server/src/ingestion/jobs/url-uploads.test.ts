/**
 * `{url}` uploads through the route, against servers this test starts on 127.0.0.1: refused at
 * once by default (a loopback address), fetched when `URL_FETCH_ALLOW_HOSTS` allows it, and the
 * job failed — nothing stored — by a redirect to a blocked address, a response too slow or too
 * large. (The address rules themselves are tested in `url-fetch/`.)
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Collection, CollectionDocument, RagHit } from '@personas/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, adminActor, createActor, TEST_ADMIN_ENV } from '../../test-support/actors';
import { startTestApp, type TestApp } from '../../test-support/test-app';

const LIMIT = 64 * 1024;
const PAGE = `<!doctype html><html><head><title>Ferries</title></head><body><nav>Menu</nav>
<article><h1>Ferry timetable</h1><p>${'The first ferry to Inishmore leaves the north quay at seven. '.repeat(6)}</p></article></body></html>`;

let server: Server;
let base = '';
const seen: string[] = [];

/** The routes a web server of ours answers: a page, a redirect to the metadata address, and two hostile bodies. */
function serve() {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/ferries.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    } else if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('a'), 200);
      res.on('close', () => clearInterval(timer));
    } else if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('endless text '.repeat(1000)), 1);
      res.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => {
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
}

async function startApp(env: Record<string, string>) {
  const t = await startTestApp({ ...TEST_ADMIN_ENV, DOCUMENT_LIMIT_BYTES: String(LIMIT), ...env });
  const admin = await adminActor(t);
  const owner = await createActor(t, admin.token, 'builder');
  expect(
    (await t.api('POST', '/collections', { token: owner.token, body: { name: 'web' } })).status,
  ).toBe(200);
  return { t, owner };
}

beforeAll(serve);
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('by default', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    ({ t, owner } = await startApp({}));
  });
  afterAll(async () => {
    await t?.[Symbol.asyncDispose]();
  });

  it('refuses a loopback URL at once with 400 blocked_address, storing nothing, fetching nothing', async () => {
    const before = seen.length;
    const res = await t.api('POST', '/collections/web/documents', {
      token: owner.token,
      body: { url: `${base}/ferries.html` },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ reason: 'blocked_address' });
    expect(seen.length).toBe(before);
    const listed = await t.api<{ documents: unknown[] }>('GET', '/collections/web/documents', {
      token: owner.token,
    });
    expect(listed.body.documents).toEqual([]);
  });
});

describe('with the test server allowed by URL_FETCH_ALLOW_HOSTS', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    ({ t, owner } = await startApp({
      URL_FETCH_ALLOW_HOSTS: '127.0.0.1',
      URL_FETCH_TIMEOUT_MS: '1500',
    }));
  });
  afterAll(async () => {
    await t?.[Symbol.asyncDispose]();
  });

  const upload = (url: string) =>
    t.api<CollectionDocument>('POST', '/collections/web/documents?wait=30', {
      token: owner.token,
      body: { url },
    });

  it('fetches the page, keeps its main text and its URL, and finds it', async () => {
    const res = await upload(`${base}/ferries.html`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ready',
      file_name: 'ferries.html',
      url: `${base}/ferries.html`,
      content_type: 'text/html',
    });
    const search = await t.api<{ hits: RagHit[] }>('POST', '/collections/web/search', {
      token: owner.token,
      body: { query: 'ferry Inishmore north quay' },
    });
    expect(search.body.hits[0]?.document_string).toContain('The first ferry to Inishmore');
    expect(search.body.hits.map((h) => h.document_string).join(' ')).not.toContain('Menu');
  });

  it.each([
    ['a redirect to 169.254.169.254', '/to-metadata', 'blocked_address'],
    ['a response that trickles past the time cap', '/slow', 'fetch_failed'],
    ['a response that never ends, past the size cap', '/endless', 'too_large'],
    ['a 404', '/missing', 'fetch_failed'],
  ])('fails the job on %s, storing nothing', async (_name, path, code) => {
    const collection = async () =>
      (await t.api<Collection>('GET', '/collections/web', { token: owner.token })).body;
    const before = await collection();
    const res = await upload(`${base}${path}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', error: { code } });
    const after = await collection();
    expect({ documents: after.documents, chunks: after.chunks }).toEqual({
      documents: before.documents,
      chunks: before.chunks,
    });
  });
});
