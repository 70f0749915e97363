import {
  InferenceClient,
  InferenceClientInputError,
  InferenceClientProviderApiError,
  InferenceClientProviderOutputError,
} from '@huggingface/inference';
import { DimensionMismatchError } from '../../retrieval/vector/errors';
import { type Embedder, type EmbedOptions, normalize } from './embedder';
import { EmbeddingTimeoutError, EmbeddingUpstreamError } from './errors';

export interface HuggingFaceEmbedderOptions {
  /** e.g. `sentence-transformers/all-MiniLM-L6-v2`; with `endpointUrl` it only names the model. */
  model: string;
  /** Checked against every vector; learned from the first answer when not given. */
  dimensions?: number;
  /** A Hugging Face token (`hf_…`) or the key of the server at `endpointUrl`. */
  token?: string;
  /**
   * A self-hosted feature-extraction server (text-embeddings-inference, an Inference Endpoint).
   * The client POSTs `{"inputs": [...]}` to this exact URL and expects one vector per input back.
   */
  endpointUrl?: string;
  /** Texts per request. Default 32. */
  batchSize?: number;
  /** Per request (per batch). Default 30 000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Embeddings from a hosted or self-hosted model through `InferenceClient.featureExtraction`.
 * Batches are sent one after another (a remote model is usually the bottleneck; parallel batches
 * only invite 429s). Vectors come back L2-normalized.
 *
 * Failures become DomainErrors: a timeout → GATEWAY_TIMEOUT, an HTTP error or an answer that is
 * not embeddings → BAD_GATEWAY, a vector of the wrong size → BAD_REQUEST. A caller's own abort
 * rejects with the caller's reason.
 *
 * @example createHuggingFaceEmbedder({ model: 'm', endpointUrl: 'http://127.0.0.1:8080/embed' })
 */
export function createHuggingFaceEmbedder(opts: HuggingFaceEmbedderOptions): Embedder {
  const batchSize = opts.batchSize ?? 32;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
  if (
    opts.dimensions !== undefined &&
    !(Number.isInteger(opts.dimensions) && opts.dimensions > 0)
  ) {
    throw new RangeError(`dimensions must be a positive integer, got ${opts.dimensions}`);
  }
  const baseFetch = opts.fetch ?? fetch;
  const client = new InferenceClient(opts.token ?? '', {
    // Without this the client retries a 503 (model loading) forever, past any timeout.
    retry_on_error: false,
    ...(opts.endpointUrl ? { endpointUrl: opts.endpointUrl } : {}),
  });
  let dimensions = opts.dimensions ?? 0;

  async function embedBatch(texts: string[], callerSignal?: AbortSignal): Promise<number[][]> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    let output: unknown;
    try {
      output = await client.featureExtraction(
        // An explicit 'auto' (the default) stops the client logging that it defaulted to it on
        // every call; with endpointUrl a provider is not allowed at all.
        { model: opts.model, inputs: texts, ...(opts.endpointUrl ? {} : { provider: 'auto' }) },
        {
          signal,
          retry_on_error: false,
          // The client passes `signal` to the inference request only; its lookup of the model's
          // provider on the Hub (when there is no endpointUrl) would otherwise wait forever.
          fetch: (input, init) => baseFetch(input, { ...init, signal: init?.signal ?? signal }),
        },
      );
    } catch (error) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (timeout.aborted) {
        throw new EmbeddingTimeoutError(
          `Embedding model ${opts.model} did not answer within ${timeoutMs} ms`,
        );
      }
      throw upstreamError(opts.model, error);
    }
    return toVectors(output, texts.length, opts.model);
  }

  return {
    model: opts.model,
    get dimensions() {
      return dimensions;
    },
    async embed(texts: string[], embedOpts?: EmbedOptions): Promise<number[][]> {
      const vectors: number[][] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        embedOpts?.signal?.throwIfAborted();
        for (const vector of await embedBatch(texts.slice(i, i + batchSize), embedOpts?.signal)) {
          if (dimensions === 0) dimensions = vector.length;
          if (vector.length !== dimensions) {
            throw new DimensionMismatchError(
              dimensions,
              vector.length,
              `Embedding model ${opts.model}`,
            );
          }
          vectors.push(normalize(vector));
        }
      }
      return vectors;
    },
  };
}

function upstreamError(model: string, error: unknown): Error {
  if (error instanceof InferenceClientInputError) return error; // our configuration, not theirs
  if (error instanceof InferenceClientProviderApiError) {
    return new EmbeddingUpstreamError(
      `Embedding model ${model} failed with HTTP ${error.httpResponse.status}: ${error.message}`,
    );
  }
  if (error instanceof InferenceClientProviderOutputError || error instanceof SyntaxError) {
    return new EmbeddingUpstreamError(
      `Embedding model ${model} answered with something other than embeddings: ${error.message}`,
    );
  }
  const cause =
    error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  const message = error instanceof Error ? error.message : String(error);
  return new EmbeddingUpstreamError(
    `Embedding model ${model} could not be reached: ${message}${cause}`,
  );
}

const isNumberArray = (x: unknown): x is number[] =>
  Array.isArray(x) && x.every((n) => typeof n === 'number');
const isMatrix = (x: unknown): x is number[][] => Array.isArray(x) && x.every(isNumberArray);

/**
 * One vector per input from the shapes feature-extraction servers return: `number[]` for a
 * single input, `number[][]` for several, and `number[][][]` (one vector per token) from models
 * without a pooling layer — those are mean-pooled.
 */
function toVectors(output: unknown, count: number, model: string): number[][] {
  const vectors = ((): number[][] | null => {
    if (isNumberArray(output)) return count === 1 ? [output] : null;
    if (isMatrix(output)) {
      if (output.length === count) return output;
      return count === 1 ? [meanPool(output)] : null;
    }
    if (Array.isArray(output) && output.every(isMatrix) && output.length === count) {
      return output.map(meanPool);
    }
    return null;
  })();
  if (!vectors || vectors.some((v) => v.length === 0 || !v.every(Number.isFinite))) {
    throw new EmbeddingUpstreamError(
      `Embedding model ${model} answered with something other than ${count} embedding(s)`,
    );
  }
  return vectors;
}

function meanPool(tokens: number[][]): number[] {
  const width = tokens[0]?.length ?? 0;
  if (tokens.some((t) => t.length !== width)) return [];
  const sum = new Array<number>(width).fill(0);
  for (const token of tokens) for (let i = 0; i < width; i++) sum[i]! += token[i]!;
  return sum.map((x) => x / tokens.length);
}
