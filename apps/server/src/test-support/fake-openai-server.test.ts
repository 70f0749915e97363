import { afterEach, describe, expect, it } from 'vitest';
import {
  type FakeOpenAiServer,
  sendEvent,
  sendJson,
  startEventStream,
  startFakeOpenAiServer,
} from './fake-openai-server';

let server: FakeOpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
});

describe('startFakeOpenAiServer', () => {
  it('records each request and hands them out in arrival order', async () => {
    server = await startFakeOpenAiServer((req, res) => sendJson(res, 200, { echo: req.body }));
    const post = (n: number) =>
      fetch(`${server!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
        body: JSON.stringify({ n }),
      }).then((r) => r.json());

    expect(await post(1)).toEqual({ echo: { n: 1 } });
    expect(await post(2)).toEqual({ echo: { n: 2 } });
    const first = await server.nextRequest();
    const second = await server.nextRequest();
    expect([first.body, second.body]).toEqual([{ n: 1 }, { n: 2 }]);
    expect(first).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(first.headers.authorization).toBe('Bearer t');
    await first.closed;
  });

  it('writes server-sent events', async () => {
    server = await startFakeOpenAiServer(async (_req, res) => {
      startEventStream(res);
      await sendEvent(res, { a: 1 });
      await sendEvent(res, '[DONE]');
      res.end();
    });
    const res = await fetch(server.url, { method: 'POST' });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
  });

  it('closes even while a request is left unanswered', async () => {
    server = await startFakeOpenAiServer(() => {});
    const pending = fetch(server.url, { method: 'POST' }).catch((e: unknown) => e);
    const received = await server.nextRequest();
    await server.close();
    server = undefined;
    await received.closed;
    expect(await pending).toBeInstanceOf(TypeError);
  });
});
