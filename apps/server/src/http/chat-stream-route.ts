import {
  appRouter,
  type ChatStreamEvent,
  createCallerFactory,
  type RouterInputs,
  toTRPCError,
} from '@personas/contracts';
import type { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { createContextFactory } from './context';
import { errorBodyFromTrpcError } from './error-body';
import { refuseNonJsonBody } from './json-bodies';
import { retryAfterHeaders } from './retry-after-headers';

const createCaller = createCallerFactory(appRouter);

function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function logIfInternal(log: FastifyBaseLogger, error: TRPCError): void {
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    log.error({ err: error.cause ?? error, procedure: 'chat.stream' }, 'chat stream failed');
  }
}

/**
 * `POST /api/personas/{persona_id}/chat/stream`: the `chat.stream` procedure, called through
 * tRPC's caller so that authentication, NUL rejection, input parsing and error mapping are the
 * ones every other route gets, and its events written as server-sent events — `meta`, then
 * `token`…, then `done` or `error`. Failures before the first event (validation, 404, 429) answer
 * as ordinary JSON errors with their status; later ones arrive as an `error` event. A client that
 * disconnects aborts the model call, and nothing of that exchange is stored.
 */
export function registerChatStreamRoute(
  app: FastifyInstance,
  createContext: ReturnType<typeof createContextFactory>,
): void {
  app.post<{ Params: { persona_id: string } }>(
    '/api/personas/:persona_id/chat/stream',
    // A JSON body only: Fastify would parse `text/plain` into a string and the route 400 on it.
    { onRequest: refuseNonJsonBody },
    async (request, reply) => {
      const abort = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort(new Error('client disconnected'));
      });
      // The caller hands the signal to the procedure (and so to the service) as `signal`.
      const caller = createCaller(() => createContext({ req: request.raw }), {
        signal: abort.signal,
      });
      // The path names the persona, as the REST adapter merges path keys into the input; the
      // procedure's own parser validates the whole of it.
      const input = {
        ...(typeof request.body === 'object' ? request.body : {}),
        persona_id: request.params.persona_id,
      } as RouterInputs['chat']['stream'];

      let events: AsyncIterator<ChatStreamEvent>;
      let first: IteratorResult<ChatStreamEvent>;
      try {
        events = (await caller.chat.stream(input))[Symbol.asyncIterator]();
        // The service refuses (404, 429, a failed embedding) before its first event.
        first = await events.next();
      } catch (thrown) {
        const error = toTRPCError(thrown);
        logIfInternal(request.log, error);
        return reply
          .code(getHTTPStatusCodeFromError(error))
          .headers(retryAfterHeaders([error]))
          .send(errorBodyFromTrpcError(error));
      }
      streamEvents(reply, first, events, abort.signal).catch((error: unknown) =>
        request.log.error({ err: error }, 'chat stream failed'),
      );
      return reply;
    },
  );
}

async function streamEvents(
  reply: FastifyReply,
  first: IteratorResult<ChatStreamEvent>,
  events: AsyncIterator<ChatStreamEvent>,
  signal: AbortSignal,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  // The headers set on the reply so far (CORS, nosniff) are Fastify's to send, and hijacking
  // skips that: copy them.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) res.setHeader(name, value);
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-request-id': String(reply.request.id),
  });
  try {
    let next = first;
    while (!next.done) {
      const { type, ...data } = next.value;
      res.write(sseFrame(type, data));
      next = await events.next();
    }
  } catch (thrown) {
    if (!signal.aborted) {
      const error = toTRPCError(thrown);
      logIfInternal(reply.request.log, error);
      res.write(sseFrame('error', errorBodyFromTrpcError(error)));
    }
  } finally {
    res.end();
  }
}
