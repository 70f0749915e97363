import { randomUUID } from 'node:crypto';
import type {
  ConversationInput,
  ConversationMeta,
  OpenAiChatChunk,
  OpenAiChatCompletion,
  OpenAiChatRequest,
  OpenAiMessage,
} from '@personas/contracts';

/** Text parts joined: the only kind of content a persona reads. */
function textOf(content: OpenAiMessage['content']): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('\n');
}

/** The wire request as the chat service's conversation (`developer` is a system message). */
export function conversationOf(request: OpenAiChatRequest): ConversationInput {
  const store = request.store === true;
  const historyId = store ? request.metadata?.message_history_id : undefined;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  return {
    personaId: request.model,
    messages: request.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: textOf(m.content),
    })),
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    store,
    ...(historyId !== undefined ? { historyId } : {}),
  };
}

/** What every response and chunk of one completion shares. */
export function completionHeader(model: string) {
  return { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model };
}

type Header = ReturnType<typeof completionHeader>;
type Usage = { prompt_tokens: number; completion_tokens: number };

const totalled = (u: Usage) => ({ ...u, total_tokens: u.prompt_tokens + u.completion_tokens });

/** Persona extras every client may ignore: the passages found, and the history when stored. */
function extras(meta: ConversationMeta) {
  return {
    rag_hits: meta.ragHits,
    ...(meta.historyId ? { message_history_id: meta.historyId } : {}),
  };
}

export function completionBody(
  header: Header,
  meta: ConversationMeta,
  reply: { text: string; usage: Usage },
): OpenAiChatCompletion {
  return {
    ...header,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.text },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: totalled(reply.usage),
    ...extras(meta),
  };
}

/** A chunk with one choice: every chunk but the usage one has exactly one (never none). */
export function deltaChunk(
  header: Header,
  delta: OpenAiChatChunk['choices'][number]['delta'],
): OpenAiChatChunk {
  return {
    ...header,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: null, logprobs: null }],
  };
}

/** The last chunk with a choice: `finish_reason`, and the persona extras beside it. */
export function finalChunk(header: Header, meta: ConversationMeta): OpenAiChatChunk {
  return {
    ...header,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }],
    ...extras(meta),
  };
}

/** `stream_options.include_usage`: OpenAI's usage chunk, whose `choices` is an empty list. */
export function usageChunk(header: Header, usage: Usage): OpenAiChatChunk {
  return { ...header, object: 'chat.completion.chunk', choices: [], usage: totalled(usage) };
}
