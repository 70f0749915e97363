import type { Services } from '@personas/contracts';
import type { CompletionEvent, LanguageModel } from '../chat/llm/language-model';
import type { Retrieve } from '../retrieval/retriever';
import { type Metrics, type Outcome, timed } from './metrics';

/** A language model whose every call is counted and timed, by provider and outcome. */
export function instrumentLanguageModel(llm: LanguageModel, metrics: Metrics): LanguageModel {
  const provider = llm.provider;
  const observe = (outcome: Outcome, seconds: number) => {
    metrics.chatTurns.inc({ provider, outcome });
    metrics.modelDuration.observe({ provider, outcome }, seconds);
  };
  return {
    provider,
    complete: (req) => timed(observe, () => llm.complete(req)),
    async *stream(req): AsyncGenerator<CompletionEvent> {
      const start = performance.now();
      let outcome: Outcome = 'aborted';
      try {
        for await (const event of llm.stream(req)) {
          if (event.type === 'done') outcome = 'ok';
          yield event;
        }
      } catch (error) {
        outcome = 'error';
        throw error;
      } finally {
        // A consumer that stops reading (the client left) ends the stream without `done`.
        observe(outcome, (performance.now() - start) / 1000);
      }
    },
  };
}

/** Retrieval timed by mode. */
export function instrumentRetriever(retrieve: Retrieve, metrics: Metrics): Retrieve {
  return async (req) => {
    const end = metrics.retrievalDuration.startTimer({ mode: req.mode });
    try {
      return await retrieve(req);
    } finally {
      end();
    }
  };
}

/** Document ingestion (one upload: chunk, embed, store, index) counted and timed by outcome. */
export function instrumentIngestion(
  collections: Services['collections'],
  metrics: Metrics,
): Services['collections'] {
  const observe = (outcome: Outcome, seconds: number) => {
    metrics.ingestions.inc({ outcome });
    metrics.ingestionDuration.observe({ outcome }, seconds);
  };
  return {
    ...collections,
    addDocument: (actor, input) => timed(observe, () => collections.addDocument(actor, input)),
  };
}
