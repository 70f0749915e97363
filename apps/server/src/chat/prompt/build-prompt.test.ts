import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, MESSAGE_OVERHEAD_TOKENS } from '../llm/estimate-tokens';
import type { RetrievedPassage } from '../llm/language-model';
import { buildPrompt, type HistoryMessage } from './build-prompt';

const passages: RetrievedPassage[] = [
  {
    file_name: 'refunds.md',
    doc_path: 'policies/refunds.md',
    document_string: 'Refunds are paid\nwithin 14 days.',
    cosine_similarity: 0.8,
  },
  {
    file_name: 'faq.md',
    doc_path: '',
    document_string: 'Open on weekdays.',
    cosine_similarity: 0.6,
  },
];

// Ten tokens a message under this estimator (plus the fixed overhead), so budgets are easy to read.
const tenTokens = () => 10;
const perMessage = 10 + MESSAGE_OVERHEAD_TOKENS;

function conversation(pairs: number): HistoryMessage[] {
  return Array.from({ length: pairs }, (_, i) => [
    { role: 'user' as const, content: `question ${i + 1}` },
    { role: 'assistant' as const, content: `answer ${i + 1}` },
  ]).flat();
}

/** System prompt 'S', no passages, `history`, then the message 'new': ten tokens a message. */
function withTenTokenMessages(history: HistoryMessage[], budgetTokens: number) {
  return buildPrompt({
    systemPrompt: 'S',
    passages: [],
    history,
    message: 'new',
    budgetTokens,
    estimateTokens: tenTokens,
  });
}

describe('buildPrompt', () => {
  it('sends the system prompt with numbered, sourced passages, then history, then the message', () => {
    const built = buildPrompt({
      systemPrompt: '  You are Rita.  ',
      passages,
      history: conversation(1),
      message: 'When are refunds paid?',
      budgetTokens: 10_000,
    });
    expect(built.messages).toEqual([
      {
        role: 'system',
        content:
          'You are Rita.\n\n' +
          'Passages from your knowledge that may help answer. Use them when relevant and cite them by their number and source:\n' +
          '[1] refunds.md (policies/refunds.md): Refunds are paid within 14 days.\n' +
          '[2] faq.md: Open on weekdays.',
      },
      { role: 'user', content: 'question 1' },
      { role: 'assistant', content: 'answer 1' },
      { role: 'user', content: 'When are refunds paid?' },
    ]);
    expect(built.includedHistory).toBe(2);
    expect(built.promptTokens).toBe(estimatePromptTokens(built.messages));
  });

  it('cites the page of a passage that came from one', () => {
    const built = buildPrompt({
      systemPrompt: '',
      passages: [{ ...passages[0]!, file_name: 'handbook.pdf', doc_path: '', page: 7 }],
      history: [],
      message: 'When are refunds paid?',
      budgetTokens: 10_000,
    });
    expect(built.messages[0]!.content).toContain(
      '[1] handbook.pdf, page 7: Refunds are paid within 14 days.',
    );
  });

  it('sends the bare system prompt when there are no passages, and none when both are empty', () => {
    const plain = buildPrompt({
      systemPrompt: 'You are Rita.',
      passages: [],
      history: [],
      message: 'hi',
      budgetTokens: 100,
    });
    expect(plain.messages[0]).toEqual({ role: 'system', content: 'You are Rita.' });

    const bare = buildPrompt({
      systemPrompt: ' ',
      passages: [],
      history: [],
      message: 'hi',
      budgetTokens: 100,
    });
    expect(bare.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('drops the oldest turns first and keeps each question with its answer', () => {
    // System + message + two pairs fit; a third pair does not.
    const built = withTenTokenMessages(conversation(3), 6 * perMessage + perMessage - 1);
    expect(built.messages.map((m) => m.content)).toEqual([
      'S',
      'question 2',
      'answer 2',
      'question 3',
      'answer 3',
      'new',
    ]);
    expect(built.includedHistory).toBe(4);
    expect(built.promptTokens).toBe(6 * perMessage);
  });

  it('never sends an answer without its question, even when the answer alone would fit', () => {
    const built = withTenTokenMessages(conversation(1), 3 * perMessage);
    expect(built.messages.map((m) => m.content)).toEqual(['S', 'new']);
    expect(built.includedHistory).toBe(0);
  });

  it('keeps an unanswered question and a stray leading reply as turns of their own', () => {
    const history: HistoryMessage[] = [
      { role: 'assistant', content: 'welcome' },
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' },
    ];
    const all = withTenTokenMessages(history, 1000);
    expect(all.messages.map((m) => m.content)).toEqual(['S', 'welcome', 'q1', 'a1', 'q2', 'new']);

    const last = withTenTokenMessages(history, 3 * perMessage);
    expect(last.messages.map((m) => m.content)).toEqual(['S', 'q2', 'new']);
  });

  it('never drops the system prompt, passages or the new message, even over budget', () => {
    const built = buildPrompt({
      systemPrompt: 'A very long persona description. '.repeat(50),
      passages,
      history: conversation(2),
      message: 'new question',
      budgetTokens: 5,
    });
    expect(built.messages).toHaveLength(2);
    expect(built.messages[0]!.role).toBe('system');
    expect(built.messages[0]!.content).toContain('[2] faq.md: Open on weekdays.');
    expect(built.messages[1]).toEqual({ role: 'user', content: 'new question' });
    expect(built.includedHistory).toBe(0);
    expect(built.promptTokens).toBeGreaterThan(5);
  });

  it('respects the budget with the default estimate of about four characters a token', () => {
    const history = conversation(40);
    for (const budgetTokens of [50, 120, 300, 1000]) {
      const built = buildPrompt({
        systemPrompt: 'You are Rita.',
        passages,
        history,
        message: 'And now?',
        budgetTokens,
      });
      expect(built.promptTokens).toBe(estimatePromptTokens(built.messages));
      if (built.includedHistory > 0) expect(built.promptTokens).toBeLessThanOrEqual(budgetTokens);
      // The kept history is the most recent tail, whole pairs only.
      expect(built.includedHistory % 2).toBe(0);
      expect(built.messages.slice(1, -1)).toEqual(
        history.slice(history.length - built.includedHistory),
      );
    }
  });

  it('does not pass stored fields other than role and content to the model', () => {
    const stored = [
      { id: 'm1', role: 'user' as const, content: 'q', created_at: '2025-01-01' },
      { id: 'm2', role: 'assistant' as const, content: 'a', created_at: '2025-01-01' },
    ];
    const built = buildPrompt({
      systemPrompt: '',
      passages: [],
      history: stored,
      message: 'n',
      budgetTokens: 100,
    });
    expect(built.messages).toEqual([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a' },
      { role: 'user', content: 'n' },
    ]);
  });
});
