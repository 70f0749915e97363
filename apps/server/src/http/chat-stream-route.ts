import {
  type ChatStreamEvent,
  chatInputSchema,
  DomainError,
  describeInputIssues,
  findNulCharacter,
  nulCharacterMessage,
  RateLimitedError,
} from '@personas/contracts';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { createContextFactory } from './context';
import type { ErrorBody } from './error-body';

function toErrorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof DomainError) {
    // The same code → status table as every other route (tRPC's own).
    const status = getHTTPStatusCodeFromError(new TRPCError({ code: error.code }));
    return { status, body: { detail: error.message, code: error.code } };
  }
  return { status: 500, body: { detail: 'Internal server error', code: 'INTERNAL_SERVER_ERROR' } };
}

function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * `POST /api/personas/{persona_id}/chat/stream`: the chat as server-sent events — `meta`, then
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
    async (request, reply) => {
      const sendError = (error: unknown) => {
        const { status, body } = toErrorBody(error);
        if (status === 500) request.log.error({ err: error }, 'chat stream failed');
        if (error instanceof RateLimitedError)
          void reply.header('retry-after', String(error.retryAfterSeconds));
        return reply.code(status).send(body);
      };
      const ctx = await createContext({ req: request.raw });
      if (!ctx.user) {
        return reply.code(401).send({
          detail: 'Authentication required: send a valid Bearer token',
          code: 'UNAUTHORIZED',
        });
      }
      const nulAt = findNulCharacter(request.body);
      if (nulAt !== null) {
        return reply.code(400).send({ detail: nulCharacterMessage(nulAt), code: 'BAD_REQUEST' });
      }
      const parsed = chatInputSchema.safeParse({
        ...(typeof request.body === 'object' ? request.body : {}),
        persona_id: request.params.persona_id,
      });
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({
          path: i.path.map(String).join('.'),
          message: i.message,
          code: i.code,
        }));
        return reply
          .code(400)
          .send({ detail: describeInputIssues(issues), code: 'BAD_REQUEST', issues });
      }

      const abort = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort(new Error('client disconnected'));
      });
      const events = ctx.services.chat
        .stream(ctx.user, parsed.data, abort.signal)
        [Symbol.asyncIterator]();
      let first: IteratorResult<ChatStreamEvent>;
      try {
        first = await events.next();
      } catch (error) {
        return sendError(error);
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
  } catch (error) {
    if (!signal.aborted) {
      const { status, body } = toErrorBody(error);
      if (status === 500) reply.request.log.error({ err: error }, 'chat stream failed');
      res.write(sseFrame('error', body));
    }
  } finally {
    res.end();
  }
}
