import { DomainError } from '@personas/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type FakeHandler,
  type FakeOpenAiServer,
  sendChatCompletion,
  sendEvent,
  sendJson,
  startEventStream,
  startFakeOpenAiServer,
  streamChatCompletion,
} from '../../test-support/fake-openai-server';
import { rejectionOf } from '../../test-support/rejection';
import { buildPrompt } from '../prompt/build-prompt';
import { estimatePromptTokens, estimateTextTokens } from './estimate-tokens';
import { createHuggingFaceModel } from './huggingface-model';
import type { CompletionEvent, CompletionRequest, RetrievedPassage } from './language-model';

const TOKEN = 'hf_test_secret_token';

const passage: RetrievedPassage = {
  file_name: 'refunds.md',
  doc_path: 'policies/refunds.md',
  document_string: 'Refunds are paid within 14 days.',
  cosine_similarity: 0.8,
};

function request(overrides: Partial<CompletionRequest> = {}): CompletionRequest {
  const { messages } = buildPrompt({
    systemPrompt: 'You are Rita, the shop assistant.',
    passages: [passage],
    history: [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi!' },
    ],
    message: 'When are refunds paid?',
    budgetTokens: 4000,
  });
  return {
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    temperature: 0.3,
    messages,
    passages: [passage],
    maxTokens: 256,
    ...overrides,
  };
}

const servers: FakeOpenAiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: FakeHandler): Promise<FakeOpenAiServer> {
  const server = await startFakeOpenAiServer(handler);
  servers.push(server);
  return server;
}

async function collect(events: AsyncIterable<CompletionEvent>): Promise<CompletionEvent[]> {
  const out: CompletionEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

function expectDomainError(error: unknown, code: string): DomainError {
  expect(error).toBeInstanceOf(DomainError);
  const domain = error as DomainError;
  expect(domain.code).toBe(code);
  expect(domain.message).not.toContain(TOKEN);
  return domain;
}

describe('createHuggingFaceModel against an OpenAI-compatible server', () => {
  describe('complete', () => {
    it('sends the model, temperature, whole prompt, max_tokens and token, and returns the reply', async () => {
      const server = await serve((_req, res) =>
        sendChatCompletion(res, 'Within 14 days.', {
          prompt_tokens: 42,
          completion_tokens: 5,
          total_tokens: 47,
        }),
      );
      const model = createHuggingFaceModel({ token: TOKEN, endpointUrl: server.url });
      const req = request();

      const result = await model.complete(req);

      expect(model.provider).toBe('huggingface');
      expect(result).toEqual({
        text: 'Within 14 days.',
        usage: { prompt_tokens: 42, completion_tokens: 5 },
      });
      expect(server.requests).toHaveLength(1);
      const received = server.requests[0]!;
      expect(received.method).toBe('POST');
      expect(received.path).toBe('/v1/chat/completions');
      expect(received.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(received.body).toMatchObject({
        model: 'meta-llama/Llama-3.1-8B-Instruct',
        temperature: 0.3,
        max_tokens: 256,
        messages: req.messages,
      });
      expect(received.body.stream).toBeUndefined();
      const sent = received.body.messages as { role: string; content: string }[];
      expect(sent[0]!.role).toBe('system');
      expect(sent[0]!.content).toContain('You are Rita, the shop assistant.');
      expect(sent[0]!.content).toContain(
        '[1] refunds.md (policies/refunds.md): Refunds are paid within 14 days.',
      );
      expect(sent.at(-1)).toEqual({ role: 'user', content: 'When are refunds paid?' });
    });

    it('accepts an endpoint already ending in /v1, sends no Authorization without a token, and estimates missing usage', async () => {
      const server = await serve((_req, res) => sendChatCompletion(res, 'Fourteen days.'));
      const model = createHuggingFaceModel({ endpointUrl: `${server.url}/v1/` });
      const req = request({ maxTokens: undefined });

      const result = await model.complete(req);

      expect(server.requests[0]!.path).toBe('/v1/chat/completions');
      expect(server.requests[0]!.headers.authorization).toBeUndefined();
      expect(server.requests[0]!.body).not.toHaveProperty('max_tokens');
      expect(result.usage).toEqual({
        prompt_tokens: estimatePromptTokens(req.messages),
        completion_tokens: estimateTextTokens('Fourteen days.'),
      });
    });

    it('turns a 500 into BAD_GATEWAY without repeating the upstream body', async () => {
      const server = await serve((_req, res) =>
        sendJson(res, 500, { error: `internal secret stack trace for ${TOKEN}` }),
      );
      const model = createHuggingFaceModel({ token: TOKEN, endpointUrl: server.url });

      const error = expectDomainError(await rejectionOf(model.complete(request())), 'BAD_GATEWAY');

      expect(error.message).toBe('The language model failed: upstream answered HTTP 500');
      expect(error.message).not.toContain('secret');
      // The upstream failure itself stays on `cause`, for the server's own log.
      expect(error.cause).toBeInstanceOf(Error);
    });

    it('does not retry a 503', async () => {
      const server = await serve((_req, res) => sendJson(res, 503, { error: 'loading' }));
      const model = createHuggingFaceModel({ endpointUrl: server.url });

      const error = expectDomainError(await rejectionOf(model.complete(request())), 'BAD_GATEWAY');

      expect(error.message).toContain('HTTP 503');
      expect(server.requests).toHaveLength(1);
    });

    it('turns a 200 that is not a chat completion into BAD_GATEWAY', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>proxy login</html>');
      });
      const model = createHuggingFaceModel({ endpointUrl: server.url });

      const error = expectDomainError(await rejectionOf(model.complete(request())), 'BAD_GATEWAY');

      expect(error.message).toBe('The language model failed: it sent a response without a message');
    });

    it('turns an unreachable server into BAD_GATEWAY', async () => {
      const server = await startFakeOpenAiServer(() => {});
      const url = server.url;
      await server.close();
      const model = createHuggingFaceModel({ endpointUrl: url });

      const error = expectDomainError(await rejectionOf(model.complete(request())), 'BAD_GATEWAY');

      expect(error.message).toBe('The language model failed: could not reach it');
    });

    it('turns a server that never answers into GATEWAY_TIMEOUT and hangs up on it', async () => {
      const server = await serve(() => {});
      const model = createHuggingFaceModel({ endpointUrl: server.url, timeoutMs: 50 });

      const error = expectDomainError(
        await rejectionOf(model.complete(request())),
        'GATEWAY_TIMEOUT',
      );

      expect(error.message).toBe('The language model did not answer within 50 ms');
      // On a loaded machine 50 ms can pass before the request has even arrived: whatever did
      // arrive was hung up on.
      await Promise.all(server.requests.map((r) => r.closed));
    });

    it('aborts the upstream request when the caller aborts, with the caller’s reason', async () => {
      const server = await serve(() => {});
      const model = createHuggingFaceModel({ endpointUrl: server.url });
      const controller = new AbortController();

      const pending = rejectionOf(model.complete(request({ signal: controller.signal })));
      const received = await server.nextRequest();
      controller.abort();
      const error = await pending;

      expect(error).not.toBeInstanceOf(DomainError);
      expect((error as Error).name).toBe('AbortError');
      await received.closed;
    });

    it('names a provider it cannot route to without a Hugging Face token, as BAD_GATEWAY', async () => {
      // No endpointUrl and no hf_ token: the client refuses before any network call.
      const model = createHuggingFaceModel({ token: 'sk-not-hf' });

      const error = expectDomainError(await rejectionOf(model.complete(request())), 'BAD_GATEWAY');

      expect(error.message).toContain('the client refused the request');
    });
  });

  describe('stream', () => {
    it('yields the tokens in order, then done with their concatenation and the reported usage', async () => {
      const server = await serve((_req, res) =>
        streamChatCompletion(res, ['Refunds ', 'arrive ', 'within ', '14 days.'], {
          usage: { prompt_tokens: 40, completion_tokens: 4 },
        }),
      );
      const model = createHuggingFaceModel({ token: TOKEN, endpointUrl: server.url });
      const req = request();

      const events = await collect(model.stream(req));

      expect(events).toEqual([
        { type: 'token', text: 'Refunds ' },
        { type: 'token', text: 'arrive ' },
        { type: 'token', text: 'within ' },
        { type: 'token', text: '14 days.' },
        {
          type: 'done',
          text: 'Refunds arrive within 14 days.',
          usage: { prompt_tokens: 40, completion_tokens: 4 },
        },
      ]);
      const received = server.requests[0]!;
      expect(received.path).toBe('/v1/chat/completions');
      expect(received.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(received.body).toMatchObject({
        model: req.model,
        temperature: 0.3,
        max_tokens: 256,
        messages: req.messages,
        stream: true,
        stream_options: { include_usage: true },
      });
    });

    it('estimates usage when the server reports none', async () => {
      const server = await serve((_req, res) => streamChatCompletion(res, ['Four', 'teen']));
      const model = createHuggingFaceModel({ endpointUrl: server.url });
      const req = request();

      const events = await collect(model.stream(req));

      expect(events.at(-1)).toEqual({
        type: 'done',
        text: 'Fourteen',
        usage: {
          prompt_tokens: estimatePromptTokens(req.messages),
          completion_tokens: estimateTextTokens('Fourteen'),
        },
      });
    });

    it('throws BAD_GATEWAY from the iterator on a 500', async () => {
      const server = await serve((_req, res) => sendJson(res, 500, { error: 'boom' }));
      const model = createHuggingFaceModel({ endpointUrl: server.url });
      const seen: CompletionEvent[] = [];

      const run = async () => {
        for await (const event of model.stream(request())) seen.push(event);
      };
      const error = expectDomainError(await rejectionOf(run()), 'BAD_GATEWAY');

      expect(error.message).toBe('The language model failed: upstream answered HTTP 500');
      expect(seen).toEqual([]);
    });

    it('throws BAD_GATEWAY from the iterator when the stream breaks mid-way', async () => {
      let breakNow = () => {};
      const broken = new Promise<void>((resolve) => {
        breakNow = resolve;
      });
      const server = await serve(async (_req, res) => {
        await streamChatCompletion(res, ['Refunds '], { leaveOpen: true });
        await broken;
        res.socket?.destroy();
      });
      const model = createHuggingFaceModel({ endpointUrl: server.url });
      const seen: CompletionEvent[] = [];

      const run = async () => {
        for await (const event of model.stream(request())) {
          seen.push(event);
          breakNow();
        }
      };
      const error = expectDomainError(await rejectionOf(run()), 'BAD_GATEWAY');

      expect(error.message).toBe('The language model failed: the connection to it broke');
      expect(seen).toEqual([{ type: 'token', text: 'Refunds ' }]);
    });

    it('throws BAD_GATEWAY when the server reports an error inside the stream', async () => {
      const server = await serve(async (_req, res) => {
        await streamChatCompletion(res, ['Ref'], { leaveOpen: true });
        await sendEvent(res, { error: { message: 'CUDA out of memory' } });
        res.end();
      });
      const model = createHuggingFaceModel({ endpointUrl: server.url });

      const error = expectDomainError(
        await rejectionOf(collect(model.stream(request()))),
        'BAD_GATEWAY',
      );

      expect(error.message).not.toContain('CUDA');
    });

    it('throws BAD_GATEWAY on an event that is not JSON', async () => {
      const server = await serve(async (_req, res) => {
        startEventStream(res);
        await sendEvent(res, '{"choices": [');
        res.end();
      });
      const model = createHuggingFaceModel({ endpointUrl: server.url });

      const error = expectDomainError(
        await rejectionOf(collect(model.stream(request()))),
        'BAD_GATEWAY',
      );

      expect(error.message).toBe('The language model failed: it sent a malformed response');
    });

    it('throws GATEWAY_TIMEOUT when no token comes in time', async () => {
      const server = await serve(() => {});
      const model = createHuggingFaceModel({ endpointUrl: server.url, timeoutMs: 50 });

      expectDomainError(await rejectionOf(collect(model.stream(request()))), 'GATEWAY_TIMEOUT');
      // As above: whatever arrived in the 50 ms was hung up on.
      await Promise.all(server.requests.map((r) => r.closed));
    });

    it('throws GATEWAY_TIMEOUT when the stream stalls after some tokens', async () => {
      const server = await serve(async (_req, res) => {
        await streamChatCompletion(res, ['Refunds '], { leaveOpen: true });
      });
      const model = createHuggingFaceModel({ endpointUrl: server.url, timeoutMs: 500 });
      const seen: CompletionEvent[] = [];

      const run = async () => {
        for await (const event of model.stream(request())) seen.push(event);
      };
      expectDomainError(await rejectionOf(run()), 'GATEWAY_TIMEOUT');

      expect(seen).toEqual([{ type: 'token', text: 'Refunds ' }]);
    });

    it('aborts the upstream stream when the caller aborts mid-way', async () => {
      const server = await serve(async (_req, res) => {
        await streamChatCompletion(res, ['Refunds '], { leaveOpen: true });
      });
      const model = createHuggingFaceModel({ endpointUrl: server.url });
      const controller = new AbortController();

      const run = async () => {
        for await (const _event of model.stream(request({ signal: controller.signal }))) {
          controller.abort();
        }
      };
      const error = await rejectionOf(run());

      expect((error as Error).name).toBe('AbortError');
      await server.requests[0]!.closed;
    });

    it('hangs up on the server when the consumer stops reading early', async () => {
      const server = await serve(async (_req, res) => {
        await streamChatCompletion(res, ['Refunds '], { leaveOpen: true });
      });
      const model = createHuggingFaceModel({ endpointUrl: server.url });

      for await (const event of model.stream(request())) {
        expect(event).toEqual({ type: 'token', text: 'Refunds ' });
        break;
      }

      await server.requests[0]!.closed;
    });
  });
});
