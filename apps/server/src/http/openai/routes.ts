import {
  type AuthUser,
  assertCredentialAccess,
  BadRequestError,
  type ConversationEvent,
  type ConversationMeta,
  INVALID_IDEMPOTENCY_KEY,
  isValidIdempotencyKey,
  NotFoundError,
  OPENAI_ROUTES_ACCESS,
  type OpenAiChatCompletion,
  type OpenAiChatRequest,
  type OpenAiModelList,
  openAiChatRequestSchema,
  type Services,
  UnauthorizedError,
} from '@personas/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { createContextFactory } from '../context';
import { startEventStream } from '../event-stream';
import { openAiErrorBody, openAiErrorOf } from './errors';
import {
  completionBody,
  completionHeader,
  conversationOf,
  deltaChunk,
  finalChunk,
  usageChunk,
} from './wire';

/** Personas listed as models: pages read until the last, bounded so a listing always ends. */
const MODEL_PAGES = 50;

const sseData = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

/**
 * The OpenAI-compatible API under `/v1`, for the official `openai` clients and everything that
 * speaks that wire format: each persona is a model. The same chat service as the persona routes
 * (retrieval, prompt, rate limit, quota, usage), the same authentication and the same scope check
 * (`chat`), answered in OpenAI's shapes, errors included.
 */
export function registerOpenAiRoutes(
  app: FastifyInstance,
  createContext: ReturnType<typeof createContextFactory>,
): void {
  /** The signed-in caller, allowed the `chat` scope; throws (→ an OpenAI error) otherwise. */
  async function callerOf(
    request: FastifyRequest,
  ): Promise<{ actor: AuthUser; services: Services; idempotencyKey: string | null }> {
    const { user, services, idempotencyKey } = await createContext({ req: request });
    if (!user) throw new UnauthorizedError('Invalid or missing API key');
    assertCredentialAccess(user, OPENAI_ROUTES_ACCESS);
    return { actor: user, services, idempotencyKey };
  }

  const fail = (reply: FastifyReply, thrown: unknown) => {
    const { status, body, headers } = openAiErrorOf(thrown);
    if (status >= 500 && status !== 502 && status !== 503 && status !== 504) {
      reply.request.log.error({ err: thrown }, 'v1 request failed');
    }
    return reply.code(status).headers(headers).send(body);
  };

  app.get('/v1/models', async (request, reply) => {
    try {
      const { actor, services } = await callerOf(request);
      const data: OpenAiModelList['data'] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MODEL_PAGES; page += 1) {
        const listed = await services.personas.list(actor, { limit: 200, cursor });
        for (const p of listed.personas) {
          data.push({
            id: p.persona_id,
            object: 'model',
            created: Math.floor(Date.parse(p.created_at) / 1000),
            owned_by: p.creator_id,
            name: p.persona_name,
          });
        }
        if (!listed.next_cursor) break;
        cursor = listed.next_cursor;
      }
      return reply.send({ object: 'list', data } satisfies OpenAiModelList);
    } catch (thrown) {
      return fail(reply, thrown);
    }
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort(new Error('client disconnected'));
    });
    let events: AsyncIterator<ConversationEvent>;
    let first: IteratorResult<ConversationEvent>;
    let includeUsage = false;
    let model = '';
    let held: Held | null = null;
    try {
      const { actor, services, idempotencyKey } = await callerOf(request);
      const body = openAiChatRequestSchema.parse(request.body);
      model = body.model;
      const conversation = conversationOf(body);
      held = await claimKey(services, actor, idempotencyKey, body);
      if (held?.replay) return reply.code(held.replay.status).send(held.replay.body);
      if (!body.stream) {
        const answer = await services.chat.converse(actor, conversation, abort.signal);
        const completion = completionBody(completionHeader(model), answer, answer);
        await held?.settle(completion);
        return reply.send(completion);
      }
      includeUsage = body.stream_options?.include_usage === true;
      events = services.chat
        .converseStream(actor, conversation, abort.signal)
        [Symbol.asyncIterator]();
      // Refusals (unknown persona, limits, a failed embedding) come before the first event, and
      // answer as ordinary errors with their status.
      first = await events.next();
    } catch (thrown) {
      await held?.settle(null);
      // An unknown or invisible persona is OpenAI's `model_not_found`.
      if (thrown instanceof NotFoundError && /^Persona not found/.test(thrown.message)) {
        const detail = `The model '${model}' does not exist or you do not have access to it`;
        return reply
          .code(404)
          .send(openAiErrorBody(404, detail, { code: 'model_not_found', param: 'model' }));
      }
      return fail(reply, thrown);
    }
    void streamCompletion(reply, model, first, events, includeUsage, abort.signal, held);
    return reply;
  });
}

/** Writes the events as `chat.completion.chunk`s, then `[DONE]`; a failure as an error chunk. */
async function streamCompletion(
  reply: FastifyReply,
  model: string,
  first: IteratorResult<ConversationEvent>,
  events: AsyncIterator<ConversationEvent>,
  includeUsage: boolean,
  signal: AbortSignal,
  held: Held | null,
): Promise<void> {
  const res = startEventStream(reply);
  const header = completionHeader(model);
  let meta: ConversationMeta | null = null;
  let text = '';
  let kept: OpenAiChatCompletion | null = null;
  try {
    for (let next = first; !next.done; next = await events.next()) {
      const event = next.value;
      if (event.type === 'meta') {
        meta = event;
        res.write(sseData(deltaChunk(header, { role: 'assistant', content: '' })));
      } else if (event.type === 'token') {
        text += event.text;
        res.write(sseData(deltaChunk(header, { content: event.text })));
      } else if (meta) {
        kept = completionBody(header, meta, { text, usage: event.usage });
        res.write(sseData(finalChunk(header, meta)));
        if (includeUsage) res.write(sseData(usageChunk(header, event.usage)));
      }
    }
    res.write('data: [DONE]\n\n');
  } catch (thrown) {
    // The official client raises a `data: {"error": …}` chunk as an APIError.
    if (!signal.aborted) res.write(sseData(openAiErrorOf(thrown).body));
  } finally {
    // A stream is not replayed: its key keeps the completion as JSON once the stream has ended.
    await held?.settle(kept).catch(() => undefined);
    res.end();
  }
}

/** A claimed `Idempotency-Key`: either a kept answer to send again, or one to settle. */
interface Held {
  replay?: { status: number; body: unknown };
  /** Keeps a completion for replays, or (null) frees the key so the request may be retried. */
  settle(completion: OpenAiChatCompletion | null): Promise<void>;
}

/** The contract's `Idempotency-Key` on /v1/chat/completions, kept in Postgres like the others. */
async function claimKey(
  services: Services,
  actor: AuthUser,
  key: string | null,
  body: OpenAiChatRequest,
): Promise<Held | null> {
  if (key === null) return null;
  if (!isValidIdempotencyKey(key)) throw new BadRequestError(INVALID_IDEMPOTENCY_KEY);
  const claim = {
    caller: `user:${actor.id}`,
    key,
    request: { operation: 'v1.chat.completions', input: body },
  };
  const outcome = await services.idempotency.claim(claim);
  if (outcome.state === 'replay') {
    return { replay: { status: outcome.status, body: outcome.body }, settle: async () => {} };
  }
  return {
    async settle(completion) {
      if (completion) await services.idempotency.complete(claim, { status: 200, body: completion });
      else await services.idempotency.release(claim);
    },
  };
}
