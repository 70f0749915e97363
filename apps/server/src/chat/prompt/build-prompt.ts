import {
  estimateMessageTokens,
  estimateTextTokens,
  type TokenEstimator,
} from '../llm/estimate-tokens';
import type { ChatMessage, RetrievedPassage } from '../llm/language-model';
import { passageSource } from '../llm/passage-source';

export interface HistoryMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface BuildPromptInput {
  systemPrompt: string;
  passages: RetrievedPassage[];
  /** Oldest first, as stored. */
  history: readonly HistoryMessage[];
  message: string;
  budgetTokens: number;
  estimateTokens?: TokenEstimator;
}

export interface BuiltPrompt {
  messages: ChatMessage[];
  /** How many of the most recent history messages made it in. */
  includedHistory: number;
  promptTokens: number;
}

/**
 * The model sees the persona's instructions with its passages, then as much recent conversation as
 * the budget allows, then the new message. The system message and the new message are always sent,
 * even over budget: without them there is no request, and the provider's own limit is the judge.
 * History is dropped from the oldest end a whole turn at a time, so the model never sees an answer
 * without its question.
 */
export function buildPrompt(input: BuildPromptInput): BuiltPrompt {
  const estimate = input.estimateTokens ?? estimateTextTokens;
  const cost = (m: Pick<ChatMessage, 'content'>) => estimateMessageTokens(m, estimate);

  const systemContent = composeSystemMessage(input.systemPrompt, input.passages);
  const system: ChatMessage[] = systemContent ? [{ role: 'system', content: systemContent }] : [];
  const user: ChatMessage = { role: 'user', content: input.message };

  let used = [...system, user].reduce((sum, m) => sum + cost(m), 0);
  const kept: HistoryMessage[][] = [];
  for (const turn of groupTurns(input.history).reverse()) {
    const turnCost = turn.reduce((sum, m) => sum + cost(m), 0);
    // Stop at the first turn that does not fit: skipping it to fit an older one would leave a hole
    // in the conversation the model cannot see.
    if (used + turnCost > input.budgetTokens) break;
    used += turnCost;
    kept.unshift(turn);
  }
  const history = kept.flat().map(({ role, content }): ChatMessage => ({ role, content }));

  return {
    messages: [...system, ...history, user],
    includedHistory: history.length,
    promptTokens: used,
  };
}

/** A turn is a user message with the replies that follow it; replies before any question stand alone. */
function groupTurns(history: readonly HistoryMessage[]): HistoryMessage[][] {
  const turns: HistoryMessage[][] = [];
  for (const message of history) {
    const current = turns.at(-1);
    if (message.role === 'assistant' && current) current.push(message);
    else turns.push([message]);
  }
  return turns;
}

function composeSystemMessage(systemPrompt: string, passages: RetrievedPassage[]): string {
  const parts: string[] = [];
  const instructions = systemPrompt.trim();
  if (instructions) parts.push(instructions);
  if (passages.length > 0) {
    const listed = passages.map(
      (p, i) => `[${i + 1}] ${passageSource(p)}: ${flatten(p.document_string)}`,
    );
    parts.push(
      [
        'Passages from your knowledge that may help answer. Use them when relevant and cite them by their number and source:',
        ...listed,
      ].join('\n'),
    );
  }
  return parts.join('\n\n');
}

// One passage per line keeps the numbered list unambiguous whatever the document's layout.
function flatten(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
