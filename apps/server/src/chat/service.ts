import { randomUUID } from 'node:crypto';
import {
  type AuthUser,
  BadRequestError,
  type ChatInput,
  type ChatMessageDto,
  type ChatResponse,
  type ChatStreamEvent,
  type ConversationInput,
  type DocumentFilter,
  encodeCursor,
  type MessageHistory,
  NotFoundError,
  type QueryMetric,
  type RagHit,
  type RagMode,
  type Services,
} from '@personas/contracts';
import type { Db } from '../db/connect';
import { isForeignKeyViolation } from '../db/errors';
import type { MessageHistoryRow, MessageRow } from '../db/schema';
import { isUuid } from '../lib/uuid';
import type { Retrieve } from '../retrieval/retriever';
import type { Quota } from '../usage/quota';
import { usageRepository } from '../usage/repository';
import { estimatePromptTokens, estimateTextTokens } from './llm/estimate-tokens';
import type {
  CompletionRequest,
  LanguageModel,
  RetrievedPassage,
  Usage,
} from './llm/language-model';
import { buildPrompt, type HistoryMessage } from './prompt/build-prompt';
import { historiesRepository } from './repository';

const HISTORY_NOT_FOUND = 'Message history not found';
const CONTENT_REQUIRED = 'Message content is required';
const PERSONA_GONE = 'Persona not found: it was deleted while the reply was written';

/** What a chat needs of a persona; the personas domain finds it (see services.ts). */
export interface ChatPersona {
  id: string;
  system_prompt: string;
  model: string;
  temperature: number;
  top_k: number;
  query_metric: QueryMetric;
  query_threshold: number;
  rag_mode: RagMode;
  /** Which documents it retrieves from, by attributes; `{}` for all. */
  rag_filter: DocumentFilter;
  /** The persona's collections that its creator may still read. */
  readableCollections: { id: string; embedding_model: string }[];
}

export interface ChatServiceOptions {
  /** The persona the actor may see; rejects with a NotFoundError otherwise. */
  findVisiblePersona: (actor: AuthUser, personaId: string) => Promise<ChatPersona>;
  llm: LanguageModel;
  retrieve: Retrieve;
  /** The embedding model of this server: collections built with another are left out. */
  embeddingModel: string;
  historyBudgetTokens: number;
  takeRateLimit: (userId: string) => Promise<void>;
  /** Today's token quota, checked before the model is called; its clock stamps usage. */
  quota: Pick<Quota, 'check' | 'now'>;
}

/** A new conversation is titled by the first words of its first message. */
export function titleFrom(content: string): string {
  const words = content.trim().split(/\s+/).slice(0, 8).join(' ');
  return words.length > 80 ? `${words.slice(0, 79)}…` : words;
}

function toMessageDto(m: MessageRow): ChatMessageDto {
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    created_at: m.created_at.toISOString(),
    ...(m.role === 'assistant' ? { rag_hit: m.rag_hit } : {}),
  };
}

/** A history carries its latest messages and the cursor for those before them. */
function toHistoryDto(
  h: MessageHistoryRow,
  latest: { rows: MessageRow[]; next_cursor: string | null },
): MessageHistory {
  return {
    id: h.id,
    persona_id: h.persona_id,
    title: h.title,
    description: h.description,
    created_at: h.created_at.toISOString(),
    messages: latest.rows.map(toMessageDto),
    messages_next_cursor: latest.next_cursor,
  };
}

/** The `before` cursor past every message: the first page back from it is the latest ones. */
const LATEST = encodeCursor(['before', '999999999999999999']);

function toPassage(hit: RagHit): RetrievedPassage {
  return {
    file_name: hit.file_name,
    doc_path: hit.doc_path,
    page: hit.page,
    document_string: hit.document_string,
    cosine_similarity: hit.cosine_similarity,
  };
}

/** Everything a reply needs, resolved and checked before the model is called. */
interface PreparedExchange {
  personaId: string;
  historyId: string;
  isNewHistory: boolean;
  /** Whether the exchange is kept as a history (the `/v1` route is stateless unless asked). */
  store: boolean;
  content: string;
  ragHit: RagHit | null;
  ragHits: RagHit[];
  request: CompletionRequest;
}

/** What an exchange is made from, whichever route asked for it. */
interface ExchangeSource {
  personaId: string;
  /** The message retrieval reads and the history keeps as the question. */
  content: string;
  /** An existing history of the caller's with this persona. */
  historyId?: string;
  /** The conversation so far as the client sent it (`/v1`), instead of the stored one. */
  clientHistory?: HistoryMessage[];
  /** The client's own system messages: they follow the persona's prompt, never replace it. */
  clientSystem?: string;
  temperature?: number;
  maxTokens?: number;
  store: boolean;
}

/** A persona chat as an exchange: its history is the stored one, and it is always kept. */
function chatSource(input: ChatInput): ExchangeSource {
  return {
    personaId: input.persona_id,
    content: input.content ?? '',
    historyId: input.message_history_id,
    store: true,
  };
}

/** The `/v1` conversation as an exchange: the last user message is the one it answers. */
function conversationSource(input: ConversationInput): ExchangeSource {
  const lastUser = input.messages.findLastIndex((m) => m.role === 'user');
  if (lastUser < 0) throw new BadRequestError('messages: at least one user message is required');
  const earlier = input.messages.slice(0, lastUser);
  return {
    personaId: input.personaId,
    content: input.messages[lastUser]?.content ?? '',
    historyId: input.historyId,
    clientHistory: earlier.flatMap((m) =>
      m.role === 'system' ? [] : [{ role: m.role, content: m.content }],
    ),
    clientSystem: input.messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n'),
    temperature: input.temperature,
    maxTokens: input.maxTokens,
    store: input.store,
  };
}

export function createChatService(db: Db, opts: ChatServiceOptions): Services['chat'] {
  const { findVisiblePersona } = opts;

  async function findOwnedHistory(actor: AuthUser, id: string) {
    const history = isUuid(id) ? await historiesRepository.find(db, id) : undefined;
    // A key limited to some personas reaches only the conversations with them.
    const outOfReach =
      actor.personaIds && history && !actor.personaIds.includes(history.persona_id);
    if (!history || history.user_id !== actor.id || outOfReach) {
      throw new NotFoundError(HISTORY_NOT_FOUND);
    }
    return history;
  }

  /** The persona's collections that its creator can still read and that this server can search. */
  function searchableCollections(persona: ChatPersona): string[] {
    return persona.readableCollections
      .filter((c) => c.embedding_model === opts.embeddingModel)
      .map((c) => c.id);
  }

  async function prepare(
    actor: AuthUser,
    source: ExchangeSource,
    signal?: AbortSignal,
  ): Promise<PreparedExchange> {
    const content = source.content.trim();
    if (!content) throw new BadRequestError(CONTENT_REQUIRED);
    const persona = await findVisiblePersona(actor, source.personaId);
    let history: MessageHistoryRow | undefined;
    if (source.historyId !== undefined) {
      history = await findOwnedHistory(actor, source.historyId);
      if (history.persona_id !== persona.id) throw new NotFoundError(HISTORY_NOT_FOUND);
    }
    await opts.takeRateLimit(actor.id);
    await opts.quota.check(actor.id);

    const hits = await opts.retrieve({
      collectionIds: searchableCollections(persona),
      query: content,
      topK: persona.top_k,
      metric: persona.query_metric,
      threshold: persona.query_threshold,
      mode: persona.rag_mode,
      filter: persona.rag_filter,
      signal,
    });
    const ragHits = hits.filter((h) => h.success);
    const ragHit = ragHits[0] ?? hits[0] ?? null;

    const earlier =
      source.clientHistory ??
      (history ? await historiesRepository.messagesOf(db, [history.id]) : []).map((m) => ({
        role: m.role,
        content: m.content,
      }));
    const prompt = buildPrompt({
      // The persona's prompt leads; a client's system messages can add to it, not replace it.
      systemPrompt: [persona.system_prompt, source.clientSystem ?? '']
        .filter((p) => p.trim())
        .join('\n\n'),
      passages: ragHits.map(toPassage),
      history: earlier,
      message: content,
      budgetTokens: opts.historyBudgetTokens,
    });
    return {
      personaId: persona.id,
      historyId: history?.id ?? randomUUID(),
      isNewHistory: !history,
      store: source.store,
      content,
      ragHit,
      ragHits,
      request: {
        model: persona.model,
        temperature: source.temperature ?? persona.temperature,
        messages: prompt.messages,
        passages: ragHits.map(toPassage),
        ...(source.maxTokens !== undefined ? { maxTokens: source.maxTokens } : {}),
        signal,
      },
    };
  }

  /**
   * Both messages in one transaction, only once the model has answered. What was deleted while
   * the model answered stays deleted: the history (→ 404, never recreated), or the persona or
   * the user it belongs to (a foreign-key violation → 404).
   */
  async function store(actor: AuthUser, x: PreparedExchange, answer: string, usage: Usage) {
    try {
      await db.transaction().execute(async (trx) => {
        // The call's usage commits with the exchange it produced: counted exactly once.
        await usageRepository.insert(trx, usageRow(actor, x, 'completed', usage));
        if (x.isNewHistory) {
          await historiesRepository.create(trx, {
            id: x.historyId,
            user_id: actor.id,
            persona_id: x.personaId,
            title: titleFrom(x.content),
          });
        } else if (!(await historiesRepository.lock(trx, x.historyId))) {
          throw new NotFoundError(HISTORY_NOT_FOUND);
        }
        await historiesRepository.appendExchange(trx, x.historyId, {
          question: x.content,
          answer,
          ragHit: x.ragHit,
        });
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) {
        throw new NotFoundError(x.isNewHistory ? PERSONA_GONE : HISTORY_NOT_FOUND);
      }
      throw error;
    }
  }

  /** The exchange kept with its usage, or (stateless) the usage alone. */
  async function finish(actor: AuthUser, x: PreparedExchange, answer: string, usage: Usage) {
    if (x.store) return store(actor, x, answer, usage);
    await usageRepository.insert(db, usageRow(actor, x, 'completed', usage));
  }

  function usageRow(
    actor: AuthUser,
    x: PreparedExchange,
    outcome: 'completed' | 'failed' | 'aborted',
    usage: Usage,
  ) {
    return {
      user_id: actor.id,
      persona_id: x.personaId,
      model: x.request.model,
      outcome,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      created_at: opts.quota.now(),
    };
  }

  /**
   * A call that produced no stored exchange (the model failed, the client left) still cost
   * tokens: recorded with the estimate. Best effort: the call has already failed or been
   * abandoned, and its own error is what the caller must see (a gone user fails the foreign key).
   */
  async function recordUnfinished(
    actor: AuthUser,
    x: PreparedExchange,
    outcome: 'failed' | 'aborted',
    partialText: string,
  ) {
    const usage = {
      prompt_tokens: estimatePromptTokens(x.request.messages),
      completion_tokens: estimateTextTokens(partialText),
    };
    await usageRepository.insert(db, usageRow(actor, x, outcome, usage)).catch(() => undefined);
  }

  /**
   * The model's reply as `token` events and one `done`, the exchange finished just before `done`.
   * A client gone before the end stores nothing: the exchange is kept whole or not at all. Any
   * end but a finished exchange (failure, client gone) still records the call's usage.
   */
  async function* streamReply(
    actor: AuthUser,
    x: PreparedExchange,
    signal?: AbortSignal,
  ): AsyncGenerator<Extract<ChatStreamEvent, { type: 'token' | 'done' }>> {
    let streamed = '';
    let stored = false;
    let failed = false;
    try {
      for await (const event of opts.llm.stream(x.request)) {
        if (event.type === 'token') {
          streamed += event.text;
          yield { type: 'token', text: event.text };
          continue;
        }
        // A client gone before the end stores nothing: the exchange is kept whole or not at all.
        if (signal?.aborted) break;
        await finish(actor, x, event.text, event.usage);
        stored = true;
        yield { type: 'done', response: event.text, usage: event.usage };
        return;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // Anything but a stored exchange: the call failed, or the client left before its end.
      if (!stored) await recordUnfinished(actor, x, failed ? 'failed' : 'aborted', streamed);
    }
  }

  async function historyDto(history: MessageHistoryRow) {
    return toHistoryDto(history, await latestMessages(history.id));
  }

  function latestMessages(historyId: string) {
    return historiesRepository.messagesPage(db, historyId, { cursor: LATEST });
  }

  return {
    async send(actor, input, signal): Promise<ChatResponse> {
      const x = await prepare(actor, chatSource(input), signal);
      const completion = await opts.llm.complete(x.request).catch(async (error: unknown) => {
        await recordUnfinished(actor, x, 'failed', '');
        throw error;
      });
      await store(actor, x, completion.text, completion.usage);
      return {
        persona_id: x.personaId,
        message_history_id: x.historyId,
        response: completion.text,
        rag_hit: x.ragHit,
        rag_hits: x.ragHits,
        usage: completion.usage,
      };
    },

    async converse(actor, input, signal) {
      const x = await prepare(actor, conversationSource(input), signal);
      const completion = await opts.llm.complete(x.request).catch(async (error: unknown) => {
        await recordUnfinished(actor, x, 'failed', '');
        throw error;
      });
      await finish(actor, x, completion.text, completion.usage);
      return {
        personaId: x.personaId,
        historyId: x.store ? x.historyId : null,
        ragHits: x.ragHits,
        text: completion.text,
        usage: completion.usage,
      };
    },

    async *converseStream(actor, input, signal) {
      const x = await prepare(actor, conversationSource(input), signal);
      yield {
        type: 'meta',
        personaId: x.personaId,
        historyId: x.store ? x.historyId : null,
        ragHits: x.ragHits,
      };
      for await (const event of streamReply(actor, x, signal)) {
        yield event.type === 'token'
          ? event
          : { type: 'done', text: event.response, usage: event.usage };
      }
    },

    async *stream(actor, input, signal): AsyncGenerator<ChatStreamEvent> {
      const x = await prepare(actor, chatSource(input), signal);
      yield {
        type: 'meta',
        persona_id: x.personaId,
        message_history_id: x.historyId,
        rag_hit: x.ragHit,
        rag_hits: x.ragHits,
      };
      yield* streamReply(actor, x, signal);
    },

    async personaHistories(actor, personaId, page) {
      const persona = await findVisiblePersona(actor, personaId);
      const histories = await historiesRepository.listForUserAndPersona(
        db,
        actor.id,
        persona.id,
        page,
      );
      // One indexed query per history (at most a page of them), each bounded to its latest.
      const latest = await Promise.all(histories.rows.map((h) => latestMessages(h.id)));
      return {
        persona_id: persona.id,
        messages: histories.rows.map((h, i) =>
          toHistoryDto(h, latest[i] ?? { rows: [], next_cursor: null }),
        ),
        next_cursor: histories.next_cursor,
      };
    },

    async historyMessages(actor, input) {
      const history = await findOwnedHistory(actor, input.id);
      const { rows, next_cursor } = await historiesRepository.messagesPage(db, history.id, input);
      return { messages: rows.map(toMessageDto), next_cursor };
    },

    async getHistory(actor, id) {
      return historyDto(await findOwnedHistory(actor, id));
    },

    async updateHistory(actor, input) {
      const history = await findOwnedHistory(actor, input.id);
      await historiesRepository.update(db, history.id, {
        title: input.title,
        description: input.description,
      });
      return historyDto(await findOwnedHistory(actor, input.id));
    },

    async deleteHistory(actor, id) {
      const history = await findOwnedHistory(actor, id);
      await historiesRepository.delete(db, history.id);
      return { message: 'Message history deleted successfully' };
    },
  };
}
