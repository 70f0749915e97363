import { createHuggingFaceModel } from './chat/llm/huggingface-model';
import type { LanguageModel } from './chat/llm/language-model';
import { createOfflineModel } from './chat/llm/offline-model';
import type { Config } from './env';
import type { Embedder } from './ingestion/embeddings/embedder';
import { createHashingEmbedder } from './ingestion/embeddings/hashing-embedder';
import { createHuggingFaceEmbedder } from './ingestion/embeddings/huggingface-embedder';

/** The embedder the configuration names: offline hashing by default, or a Hugging Face model. */
export function createEmbedder(
  config: Pick<Config, 'embeddingsProvider' | 'huggingFace' | 'modelTimeoutMs'>,
): Embedder {
  if (config.embeddingsProvider === 'offline') return createHashingEmbedder();
  const hf = config.huggingFace;
  return createHuggingFaceEmbedder({
    model: hf.embeddingModel,
    dimensions: hf.embeddingDimensions,
    token: hf.token ?? undefined,
    endpointUrl: hf.embeddingUrl ?? undefined,
    timeoutMs: config.modelTimeoutMs,
  });
}

/** The language model the configuration names: the offline one by default. */
export function createLanguageModel(
  config: Pick<Config, 'llmProvider' | 'huggingFace' | 'modelTimeoutMs'>,
): LanguageModel {
  if (config.llmProvider === 'offline') return createOfflineModel();
  const hf = config.huggingFace;
  return createHuggingFaceModel({
    token: hf.token ?? undefined,
    provider: hf.provider ?? undefined,
    endpointUrl: hf.endpointUrl ?? undefined,
    timeoutMs: config.modelTimeoutMs,
  });
}
