import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake server saw, so tests assert on the wire rather than on the client's intentions. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Resolves when the client closes the connection or the response finishes. */
  closed: Promise<void>;
}

export type FakeHandler = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeOpenAiServer {
  url: string;
  requests: ReceivedRequest[];
  /** Resolves with the next request to arrive (or one that already has and was not awaited). */
  nextRequest(): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

/**
 * A stand-in for an OpenAI-compatible server (TGI, vLLM, llama.cpp) on 127.0.0.1, for tests only.
 * The handler decides how to answer, or not to.
 */
export async function startFakeOpenAiServer(handler: FakeHandler): Promise<FakeOpenAiServer> {
  const requests: ReceivedRequest[] = [];
  const waiting: Array<(r: ReceivedRequest) => void> = [];
  let unclaimed = 0;

  const server = createServer((req, res) => {
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
        closed,
      };
      requests.push(received);
      const waiter = waiting.shift();
      if (waiter) waiter(received);
      else unclaimed++;
      void handler(received, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    nextRequest() {
      if (unclaimed > 0) {
        const r = requests[requests.length - unclaimed]!;
        unclaimed--;
        return Promise.resolve(r);
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    async close() {
      // Handlers that never answer would otherwise hold close() open forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

/** Resolves once the event is handed to the kernel, so a test can cut the connection after it. */
export function sendEvent(res: ServerResponse, data: unknown): Promise<void> {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return new Promise((resolve) => res.write(`data: ${text}\n\n`, () => resolve()));
}

/** A chat-completion stream chunk carrying one piece of the answer. */
export function chatDelta(content: string) {
  return { choices: [{ index: 0, delta: { content } }] };
}

/** Answers a chat completion with `content` (and `usage`, when given), as OpenAI's API does. */
export function sendChatCompletion(res: ServerResponse, content: string, usage?: object): void {
  sendJson(res, 200, {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 0,
    model: 'fake',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    ...(usage ? { usage } : {}),
  });
}

/**
 * Streams `parts` as chat-completion chunks, then `usage` (when given) and `[DONE]` — or, with
 * `leaveOpen`, nothing more: the stream stays open, as a model that stalls mid-answer leaves it.
 */
export async function streamChatCompletion(
  res: ServerResponse,
  parts: string[],
  opts: { usage?: object; leaveOpen?: boolean } = {},
): Promise<void> {
  startEventStream(res);
  for (const part of parts) await sendEvent(res, chatDelta(part));
  if (opts.leaveOpen) return;
  if (opts.usage) await sendEvent(res, { choices: [], usage: opts.usage });
  await sendEvent(res, '[DONE]');
  res.end();
}
