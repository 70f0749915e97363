import type { ChatMessage } from './language-model';

/**
 * About four characters a token is the usual rule of thumb for English with BPE tokenizers. It
 * overestimates for English prose and underestimates for code and non-Latin scripts; it is only
 * used where no provider reports a count, and to keep prompts inside a budget with some slack.
 */
export const CHARS_PER_TOKEN = 4;

/** Chat templates wrap every message in role markers; a few tokens each is typical. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export type TokenEstimator = (text: string) => number;

export const estimateTextTokens: TokenEstimator = (text) =>
  Math.ceil(text.length / CHARS_PER_TOKEN);

export function estimateMessageTokens(
  message: Pick<ChatMessage, 'content'>,
  estimate: TokenEstimator = estimateTextTokens,
): number {
  return estimate(message.content) + MESSAGE_OVERHEAD_TOKENS;
}

export function estimatePromptTokens(
  messages: readonly Pick<ChatMessage, 'content'>[],
  estimate: TokenEstimator = estimateTextTokens,
): number {
  return messages.reduce((sum, m) => sum + estimateMessageTokens(m, estimate), 0);
}
