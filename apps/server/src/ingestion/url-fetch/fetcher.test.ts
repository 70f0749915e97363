import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkUrl, fetchDocumentUrl, type UrlFetchOptions } from './index';
import type { ResolveHost } from './types';

interface TestServer {
  port: number;
  url(path?: string): string;
  /** TCP connections the server accepted. */
  connections: number;
  /** Request paths, in order. */
  paths: string[];
}

const servers: http.Server[] = [];

async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const state: TestServer = {
    port,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    connections: 0,
    paths: [],
  };
  server.on('connection', () => state.connections++);
  server.on('request', (req) => state.paths.push(req.url ?? ''));
  return state;
}

// Every client socket the process creates (`net.connect`), to show that a refused address is
// refused before any connection is even attempted.
let socketsCreated = 0;
const countSocket = () => socketsCreated++;
beforeEach(() => {
  socketsCreated = 0;
  diagnostics.subscribe('net.client.socket', countSocket);
});
afterEach(async () => {
  diagnostics.unsubscribe('net.client.socket', countSocket);
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const options = (overrides: Partial<UrlFetchOptions> = {}): UrlFetchOptions => ({
  allowHosts: [],
  timeoutMs: 60_000,
  maxBytes: 1_000_000,
  ...overrides,
});

const failure = (code: string, detail?: RegExp) =>
  expect.objectContaining({
    name: 'UrlFetchError',
    code,
    ...(detail ? { detail: expect.stringMatching(detail) } : {}),
  });

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

const hello: http.RequestListener = (_req, res) => {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('hello from the intranet');
};

describe('fetchDocumentUrl and checkUrl', () => {
  it('refuses a loopback server by default, before connecting to it', async () => {
    const server = await startServer(hello);
    await expect(fetchDocumentUrl(server.url('/doc.txt'), options())).rejects.toEqual(
      failure('blocked_address', /loopback/),
    );
    await expect(checkUrl(server.url('/doc.txt'), options())).rejects.toEqual(
      failure('blocked_address'),
    );
    // By name too: localhost resolves to loopback.
    const byName = `http://localhost:${server.port}/doc.txt`;
    await expect(fetchDocumentUrl(byName, options())).rejects.toEqual(
      failure('blocked_address', /localhost resolves to a loopback/),
    );
    await expect(checkUrl(byName, options())).rejects.toEqual(failure('blocked_address'));
    expect(server.connections).toBe(0);
  });

  it('refuses the decimal and hex spellings of 127.0.0.1 as what they are', async () => {
    const server = await startServer(hello);
    for (const host of ['2130706433', '0x7f.1', '0x7f000001', '127.1']) {
      await expect(checkUrl(`http://${host}:${server.port}/`, options())).rejects.toEqual(
        failure('blocked_address', /loopback/),
      );
      await expect(fetchDocumentUrl(`http://${host}:${server.port}/`, options())).rejects.toEqual(
        failure('blocked_address', /loopback/),
      );
    }
    expect(server.connections).toBe(0);
    expect(socketsCreated).toBe(0);
  });

  it('fetches from a loopback server the allow list names, by address, CIDR or host name', async () => {
    const server = await startServer(hello);
    for (const allowHosts of [['127.0.0.1'], ['127.0.0.0/8'], ['::ffff:127.0.0.1']]) {
      const url = server.url('/docs/My%20Notes.txt?v=2');
      expect((await checkUrl(url, options({ allowHosts }))).href).toBe(url);
      const doc = await fetchDocumentUrl(url, options({ allowHosts }));
      expect(text(doc.bytes)).toBe('hello from the intranet');
      expect(doc).toMatchObject({ url, contentType: 'text/plain', fileName: 'My Notes.txt' });
    }
    const byName = `http://LocalHost:${server.port}/`;
    const doc = await fetchDocumentUrl(byName, options({ allowHosts: ['localhost'] }));
    expect(doc).toMatchObject({ url: `http://localhost:${server.port}/`, fileName: 'localhost' });
    expect(server.paths).toEqual([
      '/docs/My%20Notes.txt?v=2',
      '/docs/My%20Notes.txt?v=2',
      '/docs/My%20Notes.txt?v=2',
      '/',
    ]);
  });

  it('refuses a redirect to the metadata address even from an allowed host, without connecting', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    });
    await expect(
      fetchDocumentUrl(server.url('/'), options({ allowHosts: ['127.0.0.1'] })),
    ).rejects.toEqual(failure('blocked_address', /169\.254\.169\.254 is a linkLocal address/));
    expect(server.paths).toEqual(['/']);
    // The one socket is the one to the allowed server: none was opened towards 169.254.169.254.
    expect(socketsCreated).toBe(1);
  });

  it('refuses a redirect to the mapped IPv6 form of loopback when only the name localhost is allowed', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/start')
        res.writeHead(301, { location: `http://[::ffff:127.0.0.1]:${server.port}/secret` }).end();
      else res.end('secret');
    });
    await expect(
      fetchDocumentUrl(
        `http://localhost:${server.port}/start`,
        options({ allowHosts: ['localhost'] }),
      ),
    ).rejects.toEqual(failure('blocked_address', /loopback/));
    expect(server.paths).toEqual(['/start']);
  });

  it('refuses a redirect to another scheme', async () => {
    const server = await startServer((_req, res) =>
      res.writeHead(307, { location: 'file:///etc/passwd' }).end(),
    );
    await expect(
      fetchDocumentUrl(server.url('/'), options({ allowHosts: ['127.0.0.1'] })),
    ).rejects.toEqual(failure('blocked_address', /file:/));
  });

  it('follows up to five redirects, re-checking each, and refuses a sixth', async () => {
    const server = await startServer((req, res) => {
      const n = Number(req.url?.split('/').at(-1));
      if (n > 0) res.writeHead(n % 2 ? 303 : 308, { location: `./${n - 1}` }).end();
      else res.end('arrived');
    });
    const allowed = options({ allowHosts: ['127.0.0.1'] });
    const doc = await fetchDocumentUrl(server.url('/hop/5'), allowed);
    expect(text(doc.bytes)).toBe('arrived');
    expect(doc.url).toBe(server.url('/hop/0'));
    expect(doc.fileName).toBe('0');
    server.paths.length = 0;
    await expect(fetchDocumentUrl(server.url('/hop/6'), allowed)).rejects.toEqual(
      failure('fetch_failed', /More than 5 redirects/),
    );
    expect(server.paths).toEqual(['/hop/6', '/hop/5', '/hop/4', '/hop/3', '/hop/2', '/hop/1']);
    await expect(
      fetchDocumentUrl(server.url('/hop/2'), { ...allowed, maxRedirects: 1 }),
    ).rejects.toEqual(failure('fetch_failed', /More than 1 redirects/));
  });

  it('fails with the status when the server answers 404 or 500', async () => {
    const server = await startServer((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 500;
      res.end('no');
    });
    const allowed = options({ allowHosts: ['127.0.0.1'] });
    await expect(fetchDocumentUrl(server.url('/missing'), allowed)).rejects.toEqual(
      failure('fetch_failed', /HTTP 404/),
    );
    await expect(fetchDocumentUrl(server.url('/boom'), allowed)).rejects.toEqual(
      failure('fetch_failed', /HTTP 500/),
    );
  });

  it('cuts off a response that trickles a byte a second at the time cap', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 1000);
      res.on('close', () => clearInterval(timer));
    });
    await expect(
      fetchDocumentUrl(
        server.url('/slow'),
        options({ allowHosts: ['127.0.0.1'], timeoutMs: 1500 }),
      ),
    ).rejects.toEqual(failure('fetch_failed', /longer than 1500 ms/));
  });

  it('cuts off an endless response at the size cap', async () => {
    const chunk = Buffer.alloc(16 * 1024, 'a');
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
      };
      res.on('drain', pump);
      pump();
    });
    await expect(
      fetchDocumentUrl(
        server.url('/endless'),
        options({ allowHosts: ['127.0.0.1'], maxBytes: 100_000 }),
      ),
    ).rejects.toEqual(failure('too_large', /100000 bytes/));
  });

  it('refuses at once a Content-Length above the cap, without waiting for the body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '50000000' });
      res.flushHeaders();
    });
    await expect(
      fetchDocumentUrl(
        server.url('/big'),
        options({ allowHosts: ['127.0.0.1'], maxBytes: 1_000_000 }),
      ),
    ).rejects.toEqual(failure('too_large'));
  });

  it('asks for no compression, and decodes and bounds a compressed body sent anyway', async () => {
    const encodings: (string | undefined)[] = [];
    const bomb = gzipSync(Buffer.alloc(10_000_000));
    const server = await startServer((req, res) => {
      encodings.push(req.headers['accept-encoding']);
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/html' });
      res.end(req.url === '/bomb' ? bomb : gzipSync('<p>compressed</p>'));
    });
    const allowed = options({ allowHosts: ['127.0.0.1'], maxBytes: 1_000_000 });
    const doc = await fetchDocumentUrl(server.url('/page'), allowed);
    expect(text(doc.bytes)).toBe('<p>compressed</p>');
    expect(doc.contentType).toBe('text/html');
    expect(bomb.length).toBeLessThan(1_000_000);
    await expect(fetchDocumentUrl(server.url('/bomb'), allowed)).rejects.toEqual(
      failure('too_large'),
    );
    expect(encodings).toEqual(['identity', 'identity']);
  });

  it('does not let DNS rebinding through: the address connected is the one checked', async () => {
    const server = await startServer(hello);
    // Public for the route's check, loopback when the job connects.
    const answers = ['93.184.215.14', '127.0.0.1'];
    const asked: string[] = [];
    const rebinding: ResolveHost = async (hostname) => {
      asked.push(hostname);
      return [{ address: answers.shift() ?? '127.0.0.1', family: 4 }];
    };
    const url = `http://rebind.example:${server.port}/doc`;
    await expect(checkUrl(url, options({ resolveHost: rebinding }))).resolves.toBeInstanceOf(URL);
    await expect(fetchDocumentUrl(url, options({ resolveHost: rebinding }))).rejects.toEqual(
      failure('blocked_address', /rebind\.example resolves to a loopback address/),
    );
    expect(asked).toEqual(['rebind.example', 'rebind.example']);
    expect(server.connections).toBe(0);

    // One blocked address among the answers refuses the host, whichever comes first.
    const mixed: ResolveHost = async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '::ffff:127.0.0.1', family: 6 },
    ];
    await expect(checkUrl(url, options({ resolveHost: mixed }))).rejects.toEqual(
      failure('blocked_address'),
    );
    await expect(fetchDocumentUrl(url, options({ resolveHost: mixed }))).rejects.toEqual(
      failure('blocked_address'),
    );
    expect(server.connections).toBe(0);
  });

  it('connects through the injected resolver, so an allowed name reaches the address it gave', async () => {
    const server = await startServer(hello);
    const resolveHost: ResolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
    const doc = await fetchDocumentUrl(
      `http://wiki.corp:${server.port}/`,
      options({ allowHosts: ['wiki.corp'], resolveHost }),
    );
    expect(doc.fileName).toBe('wiki.corp');
    expect(server.paths).toEqual(['/']);
  });

  it('connects https through the same guarded resolution', async () => {
    const server = await startServer(hello);
    const toLoopback: ResolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
    const url = `https://wiki.corp:${server.port}/`;
    await expect(fetchDocumentUrl(url, options({ resolveHost: toLoopback }))).rejects.toEqual(
      failure('blocked_address', /wiki\.corp resolves to a loopback address/),
    );
    expect(server.connections).toBe(0);
    // Allowed by name, the TLS client reaches the address the resolver gave (a plain HTTP server
    // here, so the handshake fails: a failure to fetch, not a way around the rules).
    await expect(
      fetchDocumentUrl(url, options({ resolveHost: toLoopback, allowHosts: ['wiki.corp'] })),
    ).rejects.toEqual(failure('fetch_failed'));
    expect(server.connections).toBe(1);
  });

  it('reports a host that does not resolve as fetch_failed', async () => {
    const resolveHost: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(checkUrl('http://nowhere.invalid/', options({ resolveHost }))).rejects.toEqual(
      failure('fetch_failed', /Cannot resolve nowhere\.invalid \(ENOTFOUND\)/),
    );
    await expect(
      fetchDocumentUrl('http://nowhere.invalid/', options({ resolveHost })),
    ).rejects.toEqual(failure('fetch_failed', /Cannot resolve nowhere\.invalid/));
  });

  it('bounds a resolver that never answers by the time cap, in the check and in the fetch', async () => {
    const resolveHost: ResolveHost = () => new Promise(() => {});
    const capped = options({ resolveHost, timeoutMs: 200 });
    await expect(checkUrl('http://stuck.example/', capped)).rejects.toEqual(
      failure('fetch_failed', /Resolving stuck\.example took longer than 200 ms/),
    );
    await expect(fetchDocumentUrl('http://stuck.example/', capped)).rejects.toEqual(
      failure('fetch_failed', /longer than 200 ms/),
    );
  });

  it("stops when the caller's signal aborts, with the caller's reason", async () => {
    let answered!: () => void;
    const requested = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      res.write('partial');
      answered();
    });
    const controller = new AbortController();
    const fetching = fetchDocumentUrl(
      server.url('/'),
      options({ allowHosts: ['127.0.0.1'] }),
      controller.signal,
    );
    await requested;
    const reason = new Error('job cancelled');
    controller.abort(reason);
    await expect(fetching).rejects.toBe(reason);
  });

  it('refuses credentials and other schemes before resolving anything', async () => {
    const resolveHost: ResolveHost = async () => {
      throw new Error('must not resolve');
    };
    await expect(checkUrl('http://user:pw@example.com/', options({ resolveHost }))).rejects.toEqual(
      failure('blocked_address', /credentials/),
    );
    await expect(fetchDocumentUrl('ftp://example.com/a', options({ resolveHost }))).rejects.toEqual(
      failure('blocked_address', /ftp:/),
    );
  });
});
