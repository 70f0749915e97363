import {
  appRouter,
  type ChatResponse,
  type ChatStreamEvent,
  type Context,
  createCallerFactory,
  type IdempotencyClaim,
  INVALID_IDEMPOTENCY_KEY,
  idempotencyCallerOf,
  isValidIdempotencyKey,
  type RouterInputs,
  toTRPCError,
} from '@personas/contracts';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { createContextFactory } from './context';
import { startEventStream } from './event-stream';
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
      // The path names the persona, as the REST adapter merges path keys into the input; the
      // procedure's own parser validates the whole of it.
      const input = {
        ...(typeof request.body === 'object' ? request.body : {}),
        persona_id: request.params.persona_id,
      } as RouterInputs['chat']['stream'];

      // The claim this request holds under its `Idempotency-Key`, and where it is kept.
      let held: { claim: IdempotencyClaim; keys: Context['services']['idempotency'] } | null = null;
      let events: AsyncIterator<ChatStreamEvent>;
      let first: IteratorResult<ChatStreamEvent>;
      try {
        const context = await createContext({ req: request });
        const wanted = idempotencyClaimOf(context, input);
        if (wanted) {
          const outcome = await context.services.idempotency.claim(wanted);
          // Not replayed as a stream: the kept result of the first one, as the chat route's JSON.
          if (outcome.state === 'replay') return reply.code(outcome.status).send(outcome.body);
          // Only a claim this request holds is released on failure (never another's in flight).
          held = { claim: wanted, keys: context.services.idempotency };
        }
        // The caller hands the signal to the procedure (and so to the service) as `signal`.
        const caller = createCaller(context, { signal: abort.signal });
        events = (await caller.chat.stream(input))[Symbol.asyncIterator]();
        // The service refuses (404, 429, a failed embedding) before its first event.
        first = await events.next();
      } catch (thrown) {
        if (held) await held.keys.release(held.claim);
        const error = toTRPCError(thrown);
        logIfInternal(request.log, error);
        return reply
          .code(getHTTPStatusCodeFromError(error))
          .headers(retryAfterHeaders([error]))
          .send(errorBodyFromTrpcError(error));
      }
      const kept = held;
      const settle = async (result: ChatResponse | null) => {
        if (!kept) return;
        if (result) await kept.keys.complete(kept.claim, { status: 200, body: result });
        else await kept.keys.release(kept.claim);
      };
      streamEvents(reply, first, events, abort.signal, settle).catch((error: unknown) =>
        request.log.error({ err: error }, 'chat stream failed'),
      );
      return reply;
    },
  );
}

/**
 * The `Idempotency-Key` claim of a signed-in caller's stream, or null without a key (or without a
 * user: the procedure answers 401 then). A malformed key is a 400.
 */
function idempotencyClaimOf(context: Context, input: unknown): IdempotencyClaim | null {
  const key = context.idempotencyKey;
  if (key === null || !context.user) return null;
  if (!isValidIdempotencyKey(key)) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: INVALID_IDEMPOTENCY_KEY });
  }
  return {
    caller: idempotencyCallerOf(context, input),
    key,
    request: { operation: 'chat.stream', input },
  };
}

/** What a finished stream amounts to: the chat route's answer, from its `meta` and `done`. */
function chatResponseOf(
  meta: Extract<ChatStreamEvent, { type: 'meta' }>,
  done: Extract<ChatStreamEvent, { type: 'done' }>,
): ChatResponse {
  return {
    persona_id: meta.persona_id,
    message_history_id: meta.message_history_id,
    response: done.response,
    rag_hit: meta.rag_hit,
    rag_hits: meta.rag_hits,
    usage: done.usage,
  };
}

async function streamEvents(
  reply: FastifyReply,
  first: IteratorResult<ChatStreamEvent>,
  events: AsyncIterator<ChatStreamEvent>,
  signal: AbortSignal,
  settle: (result: ChatResponse | null) => Promise<void>,
): Promise<void> {
  const res = startEventStream(reply);
  let meta: Extract<ChatStreamEvent, { type: 'meta' }> | null = null;
  let result: ChatResponse | null = null;
  try {
    let next = first;
    while (!next.done) {
      const event = next.value;
      if (event.type === 'meta') meta = event;
      if (event.type === 'done' && meta) result = chatResponseOf(meta, event);
      const { type, ...data } = event;
      res.write(sseFrame(type, data));
      next = await events.next();
    }
  } catch (thrown) {
    result = null;
    if (!signal.aborted) {
      const error = toTRPCError(thrown);
      logIfInternal(reply.request.log, error);
      res.write(sseFrame('error', errorBodyFromTrpcError(error)));
    }
  } finally {
    // Kept only when the exchange was stored (`done`), otherwise freed — before the response
    // ends, so a retry after it finds the result rather than the key in flight.
    await settle(result).finally(() => res.end());
  }
}
