/**
 * The port every language-model provider implements. The chat service talks only to this, so the
 * offline model and a hosted one are interchangeable by configuration alone.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RetrievedPassage {
  file_name: string;
  doc_path: string;
  /** The 1-based page it came from, cited with the source; null or absent when unknown. */
  page?: number | null;
  document_string: string;
  cosine_similarity: number;
}

export interface CompletionRequest {
  model: string;
  temperature: number;
  /** The whole prompt, passages included (see `buildPrompt`). */
  messages: ChatMessage[];
  /**
   * The same passages again, separately: a real model reads them from `messages`, but the offline
   * model needs them structured to ground its reply.
   */
  passages: RetrievedPassage[];
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface Completion {
  text: string;
  usage: Usage;
}

export type CompletionEvent =
  | { type: 'token'; text: string }
  | { type: 'done'; text: string; usage: Usage };

export interface LanguageModel {
  readonly provider: string;
  complete(req: CompletionRequest): Promise<Completion>;
  /** Yields text deltas in order, then exactly one `done` whose text is their concatenation. */
  stream(req: CompletionRequest): AsyncIterable<CompletionEvent>;
}
