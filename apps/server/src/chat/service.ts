import { randomUUID } from 'node:crypto';
import {
  type AuthUser,
  BadRequestError,
  type ChatInput,
  type ChatMessageDto,
  type ChatResponse,
  type ChatStreamEvent,
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
import type { CompletionRequest, LanguageModel, RetrievedPassage } from './llm/language-model';
import { buildPrompt } from './prompt/build-prompt';
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
    document_string: hit.document_string,
    cosine_similarity: hit.cosine_similarity,
  };
}

/** Everything a reply needs, resolved and checked before the model is called. */
interface PreparedExchange {
  personaId: string;
  historyId: string;
  isNewHistory: boolean;
  content: string;
  ragHit: RagHit | null;
  ragHits: RagHit[];
  request: CompletionRequest;
}

export function createChatService(db: Db, opts: ChatServiceOptions): Services['chat'] {
  const { findVisiblePersona } = opts;

  async function findOwnedHistory(actor: AuthUser, id: string) {
    const history = isUuid(id) ? await historiesRepository.find(db, id) : undefined;
    if (!history || history.user_id !== actor.id) throw new NotFoundError(HISTORY_NOT_FOUND);
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
    input: ChatInput,
    signal?: AbortSignal,
  ): Promise<PreparedExchange> {
    const content = input.content?.trim() ?? '';
    if (!content) throw new BadRequestError(CONTENT_REQUIRED);
    const persona = await findVisiblePersona(actor, input.persona_id);
    let history: MessageHistoryRow | undefined;
    if (input.message_history_id !== undefined) {
      history = await findOwnedHistory(actor, input.message_history_id);
      if (history.persona_id !== persona.id) throw new NotFoundError(HISTORY_NOT_FOUND);
    }
    await opts.takeRateLimit(actor.id);

    const hits = await opts.retrieve({
      collectionIds: searchableCollections(persona),
      query: content,
      topK: persona.top_k,
      metric: persona.query_metric,
      threshold: persona.query_threshold,
      mode: persona.rag_mode,
      signal,
    });
    const ragHits = hits.filter((h) => h.success);
    const ragHit = ragHits[0] ?? hits[0] ?? null;

    const earlier = history ? await historiesRepository.messagesOf(db, [history.id]) : [];
    const prompt = buildPrompt({
      systemPrompt: persona.system_prompt,
      passages: ragHits.map(toPassage),
      history: earlier.map((m) => ({ role: m.role, content: m.content })),
      message: content,
      budgetTokens: opts.historyBudgetTokens,
    });
    return {
      personaId: persona.id,
      historyId: history?.id ?? randomUUID(),
      isNewHistory: !history,
      content,
      ragHit,
      ragHits,
      request: {
        model: persona.model,
        temperature: persona.temperature,
        messages: prompt.messages,
        passages: ragHits.map(toPassage),
        signal,
      },
    };
  }

  /**
   * Both messages in one transaction, only once the model has answered. What was deleted while
   * the model answered stays deleted: the history (→ 404, never recreated), or the persona or
   * the user it belongs to (a foreign-key violation → 404).
   */
  async function store(actor: AuthUser, x: PreparedExchange, answer: string) {
    try {
      await db.transaction().execute(async (trx) => {
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

  async function historyDto(history: MessageHistoryRow) {
    return toHistoryDto(history, await latestMessages(history.id));
  }

  function latestMessages(historyId: string) {
    return historiesRepository.messagesPage(db, historyId, { cursor: LATEST });
  }

  return {
    async send(actor, input, signal): Promise<ChatResponse> {
      const x = await prepare(actor, input, signal);
      const completion = await opts.llm.complete(x.request);
      await store(actor, x, completion.text);
      return {
        persona_id: x.personaId,
        message_history_id: x.historyId,
        response: completion.text,
        rag_hit: x.ragHit,
        rag_hits: x.ragHits,
        usage: completion.usage,
      };
    },

    async *stream(actor, input, signal): AsyncGenerator<ChatStreamEvent> {
      const x = await prepare(actor, input, signal);
      yield {
        type: 'meta',
        persona_id: x.personaId,
        message_history_id: x.historyId,
        rag_hit: x.ragHit,
        rag_hits: x.ragHits,
      };
      for await (const event of opts.llm.stream(x.request)) {
        if (event.type === 'token') {
          yield { type: 'token', text: event.text };
          continue;
        }
        // A client gone before the end stores nothing: the exchange is kept whole or not at all.
        if (signal?.aborted) return;
        await store(actor, x, event.text);
        yield { type: 'done', response: event.text, usage: event.usage };
        return;
      }
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
