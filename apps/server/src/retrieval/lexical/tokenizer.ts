import { stemEnglish } from './stemmer';
import { ENGLISH_STOPWORDS } from './stopwords';

/**
 * Identifies the analysis below. A persisted lexical index stores analysed terms, so it is only
 * valid for the analyser that produced it: bump this whenever the output of `tokenize` changes.
 */
export const TOKENIZER_VERSION = 'en-porter2-v1';

// Runs of letters/digits, joined by the characters that can sit inside one written term.
const COMPOUND = /[\p{L}\p{N}]+(?:[-‐‑'’.,][\p{L}\p{N}]+)*/gu;
const HYPHENS = /[-‐‑]/;
const ASCII_WORD = /^[a-z]+(?:'[a-z]+)*$/;
const PLAIN_WORD = /^[a-z]+$/;
const HAS_DIGIT = /\p{N}/u;
const MAX_TERM_LENGTH = 64;

// Scientific text writes the same entity as "TNF-α" and "TNF-alpha".
const GREEK_NAMES: Readonly<Record<string, string>> = {
  α: 'alpha',
  β: 'beta',
  γ: 'gamma',
  δ: 'delta',
  ε: 'epsilon',
  ζ: 'zeta',
  η: 'eta',
  θ: 'theta',
  ι: 'iota',
  κ: 'kappa',
  λ: 'lambda',
  μ: 'mu',
  ν: 'nu',
  ξ: 'xi',
  ο: 'omicron',
  π: 'pi',
  ρ: 'rho',
  σ: 'sigma',
  ς: 'sigma',
  τ: 'tau',
  υ: 'upsilon',
  φ: 'phi',
  χ: 'chi',
  ψ: 'psi',
  ω: 'omega',
};
const GREEK_LETTER = /[α-ω]/g;

/**
 * Turns text into index terms: Unicode-normalised, lowercased, split into words, English
 * stopwords dropped, plain words Porter2-stemmed. Words with digits ("p53", "1.5") are kept
 * verbatim because stemming them only breaks them. A hyphenated compound yields its parts and,
 * when a part is a number or a one/two-letter code ("il-6", "covid-19", "t-cell"), also the
 * joined form, so "IL-6", "IL6" and "IL 6" all meet.
 */
export function tokenize(text: string): string[] {
  const normalized = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(GREEK_LETTER, (letter) => GREEK_NAMES[letter] ?? letter);
  const terms: string[] = [];
  for (const [compound] of normalized.matchAll(COMPOUND)) {
    if (PLAIN_WORD.test(compound)) {
      analyzeWord(compound, terms);
      continue;
    }
    const parts = compound.split(HYPHENS);
    for (const part of parts) analyzePart(part, terms);
    if (parts.length > 1 && parts.some(isCodeLike)) {
      analyzeWord(parts.join('').replace(/['’.,]/g, ''), terms);
    }
  }
  return terms;
}

function isCodeLike(part: string): boolean {
  return !ENGLISH_STOPWORDS.has(part) && (part.length <= 2 || HAS_DIGIT.test(part));
}

/** A hyphen-free piece: splits where `.`/`,` do not sit between digits or `'` not between letters. */
function analyzePart(part: string, terms: string[]): void {
  let word = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '.' || c === ',') {
      if (isDigit(part[i - 1]) && isDigit(part[i + 1])) word += c;
      else {
        analyzeWord(word, terms);
        word = '';
      }
    } else if (c === "'" || c === '’') {
      word += "'";
    } else {
      word += c;
    }
  }
  analyzeWord(word, terms);
}

function analyzeWord(word: string, terms: string[]): void {
  if (word === '') return;
  const cached = wordCache.get(word);
  if (cached !== undefined) {
    if (cached !== null) terms.push(cached);
    return;
  }
  if (ASCII_WORD.test(word)) {
    const stem = ENGLISH_STOPWORDS.has(word) ? null : stemEnglish(word);
    const term = stem !== null && stem.length <= MAX_TERM_LENGTH ? stem : null;
    if (wordCache.size >= WORD_CACHE_LIMIT) wordCache.clear();
    wordCache.set(word, term);
    if (term !== null) terms.push(term);
    return;
  }
  if (ENGLISH_STOPWORDS.has(word)) return;
  for (const piece of word.split("'")) {
    if (piece !== '' && !ENGLISH_STOPWORDS.has(piece)) pushTerm(piece, terms);
  }
}

// Word frequencies are Zipfian: caching each plain word's outcome (its stem, or null for a
// stopword) skips most stopword and stemmer work during ingestion.
const wordCache = new Map<string, string | null>();
const WORD_CACHE_LIMIT = 50_000;

function pushTerm(term: string, terms: string[]): void {
  if (term !== '' && term.length <= MAX_TERM_LENGTH) terms.push(term);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
