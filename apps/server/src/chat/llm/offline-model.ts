import { estimatePromptTokens, estimateTextTokens } from './estimate-tokens';
import type {
  Completion,
  CompletionEvent,
  CompletionRequest,
  LanguageModel,
  RetrievedPassage,
} from './language-model';
import { passageSource } from './passage-source';

/**
 * The default language model: no network and no weights, so a fresh install answers at once. It
 * never pretends to think. It quotes the retrieved sentences that share the most words with the
 * question, names where they came from, and says plainly that it is the offline model. The reply
 * is a pure function of the request, so tests and demos are reproducible.
 */
export function createOfflineModel(): LanguageModel {
  return {
    provider: 'offline',
    async complete(req) {
      req.signal?.throwIfAborted();
      return answer(req);
    },
    async *stream(req) {
      req.signal?.throwIfAborted();
      const { text, usage } = answer(req);
      for (const token of splitIntoWordTokens(text)) {
        req.signal?.throwIfAborted();
        yield { type: 'token', text: token } satisfies CompletionEvent;
      }
      yield { type: 'done', text, usage };
    },
  };
}

const PREFIX = '[offline model]';
const PASSAGES_QUOTED = 3;
const SENTENCES_PER_PASSAGE = 2;
const MAX_SENTENCE_CHARS = 280;
const MAX_RESTATEMENT_CHARS = 160;

// Words too common to say whether a sentence is about the question.
const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in ' +
    'into is it its me my no not of on or our she he so than that the their them then there these ' +
    'they this to us was we were what when where which who whom why will with would you your about ' +
    'tell please any some'
  ).split(' '),
);

function answer(req: CompletionRequest): Completion {
  const question = lastUserMessage(req);
  const text =
    req.passages.length > 0
      ? groundedReply(question, req.passages)
      : nothingFoundReply(question, personaFirstSentence(req));
  return {
    text,
    usage: {
      prompt_tokens: estimatePromptTokens(req.messages),
      completion_tokens: estimateTextTokens(text),
    },
  };
}

function groundedReply(question: string, passages: RetrievedPassage[]): string {
  const questionWords = new Set(contentWords(question));
  const best = passages
    .map((passage, index) => ({ passage, index }))
    // Ties keep retrieval order so the reply does not depend on sort stability.
    .sort((a, b) => b.passage.cosine_similarity - a.passage.cosine_similarity || a.index - b.index)
    .slice(0, PASSAGES_QUOTED)
    .map(({ passage }) => passage);

  const quotes = best.map((passage) => {
    const excerpt = relevantSentences(passage.document_string, questionWords).join(' ');
    return `From ${passageSource(passage)}: "${excerpt}"`;
  });
  const sources = [...new Set(best.map((p) => p.file_name))];

  return [
    `${PREFIX} No language model is connected, so this reply quotes the most relevant passages from my knowledge instead of composing an answer.`,
    ...quotes,
    `Sources: ${sources.join(', ')}`,
  ].join('\n\n');
}

function nothingFoundReply(question: string, persona: string | null): string {
  const restated = truncate(collapseWhitespace(question), MAX_RESTATEMENT_CHARS);
  const about = restated ? ` about "${restated}"` : '';
  const lines = [
    `${PREFIX} I found nothing in my knowledge${about}, and no language model is connected to answer it otherwise.`,
  ];
  if (persona) lines.push(`My instructions begin: "${persona}"`);
  return lines.join('\n\n');
}

/** The sentences sharing the most words with the question, in their original order. */
function relevantSentences(text: string, questionWords: Set<string>): string[] {
  const sentences = splitSentences(text);
  const scored = sentences
    .map((sentence, index) => ({ sentence, index, score: overlap(sentence, questionWords) }))
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, SENTENCES_PER_PASSAGE)
    .sort((a, b) => a.index - b.index)
    .map((s) => s.sentence);
  // Nothing in common: the opening sentence is the fairest one-line summary of a chunk.
  const chosen = scored.length > 0 ? scored : sentences.slice(0, 1);
  return chosen.map((s) => truncate(s, MAX_SENTENCE_CHARS));
}

function overlap(sentence: string, questionWords: Set<string>): number {
  return new Set(contentWords(sentence).filter((w) => questionWords.has(w))).size;
}

function contentWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w))
    .map(stem);
}

// Enough stemming that "refunds" meets "refund"; anything cleverer is a real model's job.
function stem(word: string): string {
  return word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word;
}

function splitSentences(text: string): string[] {
  const parts = text
    .split(/(?<=[.!?])\s+|\n+/)
    .map(collapseWhitespace)
    .filter((s) => s.length > 0);
  // A markdown heading repeats the words of the text below it, so it would crowd out the sentence
  // that actually says something; keep headings only when a chunk holds nothing else.
  const prose = parts.filter((s) => !s.startsWith('#'));
  return prose.length > 0 ? prose : parts.map((s) => s.replace(/^#+\s*/, ''));
}

function lastUserMessage(req: CompletionRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const message = req.messages[i]!;
    if (message.role === 'user') return message.content;
  }
  return '';
}

function personaFirstSentence(req: CompletionRequest): string | null {
  const system = req.messages.find((m) => m.role === 'system');
  const first = system ? splitSentences(system.content)[0] : undefined;
  return first ? truncate(first, MAX_SENTENCE_CHARS) : null;
}

function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/** Each token is a word with the whitespace after it, so the tokens join back into the text. */
function splitIntoWordTokens(text: string): string[] {
  return text.match(/^\s+|\S+\s*/g) ?? [];
}
