import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, estimateTextTokens } from './estimate-tokens';
import type { CompletionEvent, CompletionRequest, RetrievedPassage } from './language-model';
import { createOfflineModel } from './offline-model';

const refunds: RetrievedPassage = {
  file_name: 'refunds.md',
  doc_path: 'policies/refunds.md',
  document_string:
    'Our shop was founded in 1999. Refunds are paid within 14 days of the return arriving. ' +
    'Gift cards cannot be refunded. We love our customers.',
  cosine_similarity: 0.82,
};
const shipping: RetrievedPassage = {
  file_name: 'shipping.md',
  doc_path: 'shipping.md',
  document_string: 'Parcels leave the warehouse every weekday. Returns are shipped at our cost.',
  cosine_similarity: 0.55,
};
const weak: RetrievedPassage = {
  file_name: 'history.md',
  doc_path: '',
  document_string: 'The founders met at a bakery.',
  cosine_similarity: 0.1,
};

function request(overrides: Partial<CompletionRequest> = {}): CompletionRequest {
  return {
    model: 'offline',
    temperature: 0.2,
    messages: [
      { role: 'system', content: 'You are Rita, the shop assistant. Be brief.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi!' },
      { role: 'user', content: 'How many days until refunds are paid after a return?' },
    ],
    passages: [shipping, refunds],
    ...overrides,
  };
}

async function collect(events: AsyncIterable<CompletionEvent>): Promise<CompletionEvent[]> {
  const out: CompletionEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('offline model', () => {
  const model = createOfflineModel();

  it('says it is the offline model and quotes the sentences that answer the question', async () => {
    const { text } = await model.complete(request());
    expect(model.provider).toBe('offline');
    expect(text.startsWith('[offline model]')).toBe(true);
    expect(text).toContain('Refunds are paid within 14 days of the return arriving.');
    // Sharing no words with the question, the founding year is left out.
    expect(text).not.toContain('founded in 1999');
    expect(text).toContain('refunds.md (policies/refunds.md)');
    expect(text).toContain('Sources: refunds.md, shipping.md');
  });

  it('cites the page of a passage that has one', async () => {
    const paged = { ...refunds, file_name: 'handbook.pdf', doc_path: '', page: 7 };
    const { text } = await model.complete(request({ passages: [paged, shipping] }));
    expect(text).toContain('From handbook.pdf, page 7: "Refunds are paid within 14 days');
  });

  it('quotes the most similar passage first, whatever order they arrive in', async () => {
    const { text } = await model.complete(request());
    expect(text.indexOf('From refunds.md')).toBeLessThan(text.indexOf('From shipping.md'));
  });

  it('quotes at most three passages', async () => {
    const extra = { ...weak, file_name: 'extra.md', cosine_similarity: 0.05 };
    const { text } = await model.complete(request({ passages: [weak, shipping, refunds, extra] }));
    expect(text).toContain('history.md');
    expect(text).not.toContain('extra.md');
  });

  it('falls back to a passage’s first sentence when it shares no word with the question', async () => {
    const { text } = await model.complete(request({ passages: [weak] }));
    expect(text).toContain('From history.md: "The founders met at a bakery."');
  });

  it('does not quote a markdown heading in place of the sentence below it', async () => {
    const doc = { ...refunds, document_string: '# Refunds\nRefunds are paid within 14 days.' };
    const { text } = await model.complete(request({ passages: [doc] }));
    expect(text).toContain(': "Refunds are paid within 14 days."');
  });

  it('says it found nothing and restates the question and persona when there are no passages', async () => {
    const { text } = await model.complete(request({ passages: [] }));
    expect(text.startsWith('[offline model] I found nothing in my knowledge')).toBe(true);
    expect(text).toContain('"How many days until refunds are paid after a return?"');
    expect(text).toContain('"You are Rita, the shop assistant."');
    expect(text).not.toContain('Be brief');
  });

  it('copes with no system prompt and no user message', async () => {
    const { text } = await model.complete(request({ passages: [], messages: [] }));
    expect(text).toBe(
      '[offline model] I found nothing in my knowledge, and no language model is connected to answer it otherwise.',
    );
  });

  it('answers the same input with the same output', async () => {
    const first = await model.complete(request());
    const second = await createOfflineModel().complete(request());
    expect(second).toEqual(first);
  });

  it('estimates usage at about four characters a token', async () => {
    const req = request();
    const { text, usage } = await model.complete(req);
    expect(usage).toEqual({
      prompt_tokens: estimatePromptTokens(req.messages),
      completion_tokens: estimateTextTokens(text),
    });
  });

  it('streams the same text as word tokens, then done with the same usage', async () => {
    const completed = await model.complete(request());
    const events = await collect(model.stream(request()));
    const tokens = events.filter((e) => e.type === 'token');
    const last = events.at(-1);
    expect(tokens.length).toBeGreaterThan(10);
    expect(tokens.every((t) => t.text.trim().split(/\s+/).length === 1)).toBe(true);
    expect(tokens.map((t) => t.text).join('')).toBe(completed.text);
    expect(last).toEqual({ type: 'done', text: completed.text, usage: completed.usage });
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
  });

  it('refuses a request the caller already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(model.complete(request({ signal: controller.signal }))).rejects.toThrow(/aborted/);
    await expect(collect(model.stream(request({ signal: controller.signal })))).rejects.toThrow(
      /aborted/,
    );
  });

  it('stops streaming when the caller aborts mid-way', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const run = async () => {
      for await (const event of model.stream(request({ signal: controller.signal }))) {
        seen.push(event.type);
        if (seen.length === 3) controller.abort();
      }
    };
    await expect(run()).rejects.toThrow(/aborted/);
    expect(seen).toEqual(['token', 'token', 'token']);
  });
});
