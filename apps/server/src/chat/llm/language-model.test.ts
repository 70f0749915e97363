import { describe, expect, expectTypeOf, it } from 'vitest';
import { createHuggingFaceModel } from './huggingface-model';
import type { Completion, CompletionEvent, LanguageModel } from './language-model';
import { createOfflineModel } from './offline-model';

describe('LanguageModel', () => {
  it('is what both providers implement', () => {
    expectTypeOf(createOfflineModel).returns.toEqualTypeOf<LanguageModel>();
    expectTypeOf(createHuggingFaceModel).returns.toEqualTypeOf<LanguageModel>();
    expect(createOfflineModel().provider).toBe('offline');
    expect(createHuggingFaceModel({ endpointUrl: 'http://127.0.0.1:9' }).provider).toBe(
      'huggingface',
    );
  });

  it('streams events that narrow on their type', () => {
    expectTypeOf<
      Omit<Extract<CompletionEvent, { type: 'done' }>, 'type'>
    >().toEqualTypeOf<Completion>();
    expectTypeOf<Extract<CompletionEvent, { type: 'token' }>>().toEqualTypeOf<{
      type: 'token';
      text: string;
    }>();
  });
});
