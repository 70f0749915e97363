// The client against a stand-in server on 127.0.0.1 that answers what each test scripts: how
// the SDK reads event streams, error bodies and failures, independent of the real server's state.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPersonasClient } from './client';
import { PersonasError } from './errors';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

type Script = (req: Seen, res: ServerResponse) => void;

let script: Script = (_req, res) => res.end();
const seen: Seen[] = [];
let closedEarly: Promise<void> = Promise.resolve();
let url = '';
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    const request = {
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      body,
    };
    seen.push(request);
    closedEarly = new Promise((resolve) => res.once('close', () => resolve()));
    script(request, res);
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const sse = (res: ServerResponse, frames: [string, unknown][], end = true) => {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  for (const [event, data] of frames)
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  if (end) res.end();
};
const json = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const meta = {
  persona_id: 'p-1',
  message_history_id: 'h-1',
  rag_hit: null,
  rag_hits: [],
};

async function failure(run: () => Promise<unknown>): Promise<PersonasError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof PersonasError) return error;
    throw error;
  }
  throw new Error('expected a PersonasError');
}

describe('chatStream', () => {
  it('posts the message with the bearer token and yields meta, tokens and done', async () => {
    script = (_req, res) =>
      sse(res, [
        ['meta', meta],
        ['token', { text: 'Hello, ' }],
        ['token', { text: 'world' }],
        ['done', { response: 'Hello, world', usage: { prompt_tokens: 3, completion_tokens: 2 } }],
      ]);
    const client = createPersonasClient({ url: `${url}/`, apiKey: 'pk_test' });
    const events = [];
    for await (const event of client.chatStream('p 1', {
      content: 'Hi',
      message_history_id: 'h-1',
    })) {
      events.push(event);
    }
    expect(events).toEqual([
      { type: 'meta', ...meta },
      { type: 'token', text: 'Hello, ' },
      { type: 'token', text: 'world' },
      {
        type: 'done',
        response: 'Hello, world',
        usage: { prompt_tokens: 3, completion_tokens: 2 },
      },
    ]);
    expect(seen.at(-1)).toEqual({
      method: 'POST',
      url: '/api/personas/p%201/chat/stream',
      authorization: 'Bearer pk_test',
      body: JSON.stringify({ content: 'Hi', message_history_id: 'h-1' }),
    });
  });

  it('throws an error event as a PersonasError, after the events before it', async () => {
    script = (_req, res) =>
      sse(res, [
        ['meta', meta],
        ['token', { text: 'Hel' }],
        ['error', { detail: 'The language model failed', code: 'BAD_GATEWAY' }],
      ]);
    const client = createPersonasClient({ url, token: 't' });
    const types: string[] = [];
    const error = await failure(async () => {
      for await (const event of client.chatStream('p-1', { content: 'Hi' })) types.push(event.type);
    });
    expect(types).toEqual(['meta', 'token']);
    expect(error).toMatchObject({
      status: 502,
      code: 'BAD_GATEWAY',
      detail: 'The language model failed',
    });
  });

  it('throws a refusal before the stream (a JSON error) with its status, detail and Retry-After', async () => {
    script = (_req, res) =>
      json(
        res,
        429,
        { detail: 'Too many chat messages', code: 'TOO_MANY_REQUESTS' },
        {
          'retry-after': '42',
        },
      );
    const client = createPersonasClient({ url, token: 't' });
    const error = await failure(async () => {
      for await (const _ of client.chatStream('p-1', { content: 'Hi' })) {
        // nothing arrives
      }
    });
    expect(error).toMatchObject({
      status: 429,
      code: 'TOO_MANY_REQUESTS',
      detail: 'Too many chat messages',
      retryAfterSeconds: 42,
    });
  });

  it('throws when the stream ends without done', async () => {
    script = (_req, res) => sse(res, [['meta', meta]]);
    const client = createPersonasClient({ url, token: 't' });
    const error = await failure(async () => {
      for await (const _ of client.chatStream('p-1', { content: 'Hi' })) {
        // meta only
      }
    });
    expect(error.code).toBe('STREAM_INTERRUPTED');
  });

  it('throws when the connection breaks off mid-stream', async () => {
    let open: ServerResponse | undefined;
    script = (_req, res) => {
      open = res;
      sse(res, [['meta', meta]], false);
    };
    const client = createPersonasClient({ url, token: 't' });
    const types: string[] = [];
    const error = await failure(async () => {
      for await (const event of client.chatStream('p-1', { content: 'Hi' })) {
        types.push(event.type);
        // The server goes away once the first event has arrived.
        open?.destroy();
      }
    });
    expect(types).toEqual(['meta']);
    expect(error.code).toBe('STREAM_INTERRUPTED');
  });

  it('closes the request when aborted, and rejects with the abort', async () => {
    script = (_req, res) => sse(res, [['meta', meta]], false);
    const client = createPersonasClient({ url, token: 't' });
    const controller = new AbortController();
    const run = (async () => {
      for await (const event of client.chatStream(
        'p-1',
        { content: 'Hi' },
        { signal: controller.signal },
      )) {
        if (event.type === 'meta') controller.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // The server sees its response closed: the request did not stay open.
    await closedEarly;
  });
});

describe('procedure calls', () => {
  it('turn tRPC errors into PersonasError with status, code, detail and issues', async () => {
    const issues = [{ path: 'persona_name', message: 'Too small', code: 'too_small' }];
    script = (_req, res) =>
      json(res, 400, [
        {
          error: {
            message: 'Invalid input: persona_name: Too small',
            code: -32600,
            data: { code: 'BAD_REQUEST', httpStatus: 400, path: 'personas.build', issues },
          },
        },
      ]);
    const client = createPersonasClient({ url, token: 'session' });
    const error = await failure(() => client.personas.build.mutate({ persona_name: '' }));
    expect(error).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
      detail: 'Invalid input: persona_name: Too small',
      issues,
    });
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      url: '/trpc/personas.build?batch=1',
      authorization: 'Bearer session',
    });
  });

  it("keep the status and detail of the host's own errors (not tRPC bodies)", async () => {
    script = (_req, res) =>
      json(res, 413, { detail: 'Request body is too large', code: 'PAYLOAD_TOO_LARGE' });
    const client = createPersonasClient({ url });
    const error = await failure(() => client.auth.me.query());
    expect(error).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      detail: 'Request body is too large',
    });
  });

  it("keep the status of a proxy's answer that is not JSON", async () => {
    script = (_req, res) => {
      res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    };
    const error = await failure(() => createPersonasClient({ url }).system.info.query());
    expect(error).toMatchObject({
      status: 502,
      code: 'BAD_GATEWAY',
      detail: 'The server answered 502 Bad Gateway',
    });
  });

  it('reject with the abort when the caller aborts', async () => {
    script = () => {
      // never answers
    };
    const controller = new AbortController();
    const call = createPersonasClient({ url }).auth.me.query(undefined, {
      signal: controller.signal,
    });
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('report an unreachable server as status 0, NETWORK_ERROR', async () => {
    const client = createPersonasClient({ url: 'http://127.0.0.1:9' });
    const error = await failure(() => client.system.info.query());
    expect(error).toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  });

  it('use the fetch given, and the client is not mistaken for a promise', async () => {
    const calls: string[] = [];
    const client = createPersonasClient({
      url,
      fetch: (input, init) => {
        calls.push(String(input));
        return fetch(input, init);
      },
    });
    expect(await Promise.resolve(client)).toBe(client);
    script = (_req, res) => json(res, 200, [{ result: { data: { ok: true } } }]);
    await client.system.info.query();
    expect(calls).toEqual([`${url}/trpc/system.info?batch=1&input=%7B%7D`]);
  });
});
