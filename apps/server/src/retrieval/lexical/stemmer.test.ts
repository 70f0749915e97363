import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stemEnglish } from './stemmer';

// word<TAB>stem as the Snowball project's C build (3.1.1, `stemwords -l english`) stems it:
// SciFact's words plus every suffix class and exception of the algorithm. How it was made, and
// why Snowball 3 rather than Debian's 2.2: apps/server/bench/stemmer-vocabulary.ts.
const REFERENCE = new URL('./fixtures/snowball-english.tsv', import.meta.url);

function referenceVocabulary(): [word: string, stem: string][] {
  return readFileSync(REFERENCE, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [word, stem, ...rest] = line.split('\t');
      if (word === undefined || stem === undefined || rest.length > 0) {
        throw new SyntaxError(`bad reference line: ${JSON.stringify(line)}`);
      }
      return [word, stem];
    });
}

describe('stemEnglish (Porter2)', () => {
  it('stems every word of the Snowball reference vocabulary as Snowball does', () => {
    const vocabulary = referenceVocabulary();
    expect(vocabulary.length).toBeGreaterThan(4000);
    const disagreements = vocabulary
      .map(([word, stem]) => ({ word, expected: stem, actual: stemEnglish(word) }))
      .filter((d) => d.actual !== d.expected);
    expect(disagreements).toEqual([]);
  });

  it('conflates inflections of one word to one stem', () => {
    const forms = ['connect', 'connected', 'connecting', 'connection', 'connections'];
    expect(new Set(forms.map(stemEnglish))).toEqual(new Set(['connect']));
  });

  it('keeps apart the words Snowball 3’s R1 prefixes separate', () => {
    const stems = (words: string[]) => new Set(words.map(stemEnglish)).size;
    expect(stems(['general', 'generous'])).toBe(2);
    expect(stems(['universe', 'university'])).toBe(2);
    expect(stems(['organ', 'organic', 'organize'])).toBe(3);
    expect(stems(['past', 'paste'])).toBe(2);
  });

  it('strips possessive apostrophes', () => {
    expect(stemEnglish("patient's")).toBe('patient');
    expect(stemEnglish("patients'")).toBe('patient');
  });

  it('leaves words shorter than three letters alone', () => {
    expect(stemEnglish('is')).toBe('is');
    expect(stemEnglish('as')).toBe('as');
  });

  it('keeps a consonant y as y in the output', () => {
    expect(stemEnglish('youth')).toBe('youth');
    expect(stemEnglish('enjoying')).toBe('enjoy');
  });
});
