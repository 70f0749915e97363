import { describe, expect, it } from 'vitest';
import {
  estimateMessageTokens,
  estimatePromptTokens,
  estimateTextTokens,
  MESSAGE_OVERHEAD_TOKENS,
} from './estimate-tokens';

describe('estimateTextTokens', () => {
  it('rounds a quarter of the characters up', () => {
    expect(estimateTextTokens('')).toBe(0);
    expect(estimateTextTokens('a')).toBe(1);
    expect(estimateTextTokens('abcd')).toBe(1);
    expect(estimateTextTokens('abcde')).toBe(2);
  });
});

describe('estimatePromptTokens', () => {
  it('adds a per-message overhead to each message', () => {
    const messages = [{ content: 'abcdefgh' }, { content: '' }];
    expect(estimateMessageTokens(messages[0]!)).toBe(2 + MESSAGE_OVERHEAD_TOKENS);
    expect(estimatePromptTokens(messages)).toBe(2 + 2 * MESSAGE_OVERHEAD_TOKENS);
  });

  it('uses a supplied estimator', () => {
    const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
    expect(estimatePromptTokens([{ content: 'one two three' }], words)).toBe(
      3 + MESSAGE_OVERHEAD_TOKENS,
    );
  });
});
