import {
  InferenceClient,
  InferenceClientError,
  InferenceClientHubApiError,
  InferenceClientProviderApiError,
  InferenceClientProviderOutputError,
  type InferenceProviderOrPolicy,
} from '@huggingface/inference';
import { DomainError } from '@personas/contracts';
import { type Deadline, startDeadline } from './deadline';
import { estimatePromptTokens, estimateTextTokens } from './estimate-tokens';
import type { CompletionEvent, CompletionRequest, LanguageModel, Usage } from './language-model';
import { LanguageModelFailedError, LanguageModelTimeoutError } from './language-model-errors';

export interface HuggingFaceModelOptions {
  /** An `hf_…` token for Hugging Face, or the key an OpenAI-compatible server expects. */
  token?: string;
  /** A Hugging Face inference provider; ignored with `endpointUrl`, which the client refuses to mix. */
  provider?: InferenceProviderOrPolicy;
  /**
   * An OpenAI-compatible server (TGI, vLLM, llama.cpp, Ollama). The client POSTs to
   * `<endpointUrl>/v1/chat/completions`, or `<endpointUrl>/chat/completions` when it already ends
   * in `/v1`, or the URL as given when it already ends in `/chat/completions`.
   */
  endpointUrl?: string;
  /**
   * How long the model may keep us waiting: for `complete` the whole call, for `stream` the gap
   * before the first token and between tokens, so a long answer that keeps flowing is not cut off.
   */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * A hosted or self-hosted model through `@huggingface/inference`. Failures become domain errors the
 * HTTP layers turn into 502/504, with the upstream body kept out of the message.
 */
export function createHuggingFaceModel(options: HuggingFaceModelOptions = {}): LanguageModel {
  const { token, provider, endpointUrl, timeoutMs = 60_000, fetch } = options;
  // The client retries a 503 forever unless told not to; a chat request must fail instead.
  const client = new InferenceClient(token ?? '', { endpointUrl, fetch, retry_on_error: false });

  const argsFor = (req: CompletionRequest) => ({
    model: req.model,
    provider: endpointUrl ? undefined : provider,
    // Copied so only role and content leave, whatever else the caller's objects carry.
    messages: req.messages.map(({ role, content }) => ({ role, content })),
    temperature: req.temperature,
    max_tokens: req.maxTokens,
  });

  return {
    provider: 'huggingface',

    async complete(req) {
      const deadline = startDeadline(timeoutMs, req.signal);
      try {
        const output = await client.chatCompletion(argsFor(req), {
          signal: deadline.signal,
          retry_on_error: false,
        });
        // A 200 that is not JSON arrives as a Blob; a body without choices is no answer either.
        const text = (output as Partial<typeof output>).choices?.[0]?.message?.content;
        if (typeof text !== 'string') {
          throw new LanguageModelFailedError('it sent a response without a message');
        }
        return { text, usage: readUsage(output.usage, req, text) };
      } catch (error) {
        throw toLanguageModelError(error, deadline, req.signal, timeoutMs);
      } finally {
        deadline.dispose();
      }
    },

    async *stream(req) {
      const deadline = startDeadline(timeoutMs, req.signal);
      let text = '';
      let reported: unknown;
      try {
        const chunks = client.chatCompletionStream(
          { ...argsFor(req), stream_options: { include_usage: true } },
          { signal: deadline.signal, retry_on_error: false },
        );
        for await (const chunk of chunks) {
          deadline.extend();
          // The usage chunk that include_usage asks for carries no choices.
          if (chunk.usage) reported = chunk.usage;
          const delta = chunk.choices?.[0]?.delta?.content;
          if (typeof delta === 'string' && delta.length > 0) {
            text += delta;
            yield { type: 'token', text: delta } satisfies CompletionEvent;
            // Time spent waiting on our own consumer is not the model's silence.
            deadline.extend();
          }
        }
      } catch (error) {
        throw toLanguageModelError(error, deadline, req.signal, timeoutMs);
      } finally {
        // Also cancels the upstream request when the consumer stops iterating early.
        deadline.dispose();
      }
      yield { type: 'done', text, usage: readUsage(reported, req, text) };
    },
  };
}

function readUsage(reported: unknown, req: CompletionRequest, text: string): Usage {
  const u = (reported ?? {}) as Partial<Record<keyof Usage, unknown>>;
  const valid = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  return {
    prompt_tokens: valid(u.prompt_tokens) ? u.prompt_tokens : estimatePromptTokens(req.messages),
    completion_tokens: valid(u.completion_tokens) ? u.completion_tokens : estimateTextTokens(text),
  };
}

function toLanguageModelError(
  error: unknown,
  deadline: Deadline,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
): unknown {
  if (deadline.timedOut) return new LanguageModelTimeoutError(timeoutMs, { cause: error });
  // The caller gave up: hand back its own reason rather than blaming the model.
  if (callerSignal?.aborted) return callerSignal.reason;
  if (error instanceof DomainError) return error;
  return new LanguageModelFailedError(shortReason(error), { cause: error });
}

// Only what the client itself knows; never the upstream body, which may echo the prompt or a key.
function shortReason(error: unknown): string {
  if (
    error instanceof InferenceClientProviderApiError ||
    error instanceof InferenceClientHubApiError
  ) {
    return `upstream answered HTTP ${error.httpResponse.status}`;
  }
  if (error instanceof InferenceClientProviderOutputError || error instanceof SyntaxError) {
    return 'it sent a malformed response';
  }
  if (error instanceof InferenceClientError) {
    // Input and routing errors describe our configuration (e.g. auto-routing without an hf_ token).
    return `the client refused the request (${error.message})`;
  }
  if (error instanceof TypeError && error.message === 'fetch failed') return 'could not reach it';
  return 'the connection to it broke';
}
