import { describe, expect, it } from 'vitest';
import { tokenize } from './tokenizer';

describe('tokenize', () => {
  it('lowercases, drops stopwords and stems', () => {
    expect(tokenize('The Patients were treated with Antibiotics')).toEqual([
      'patient',
      'were',
      'treat',
      'antibiot',
    ]);
  });

  it('drops only a short stop set, keeping the words that carry meaning in a query', () => {
    // Lucene's English set ("not" is in it): BM25's idf discounts other common words anyway.
    const terms = tokenize('Cells between doses, after and during treatment: not without risk');
    expect(terms).toEqual([
      'cell',
      'between',
      'dose',
      'after',
      'dure',
      'treatment',
      'without',
      'risk',
    ]);
  });

  it('conflates inflected forms of the same word', () => {
    expect(tokenize('mutations')).toEqual(tokenize('mutation'));
    expect(tokenize('Increased')).toEqual(tokenize('increasing'));
  });

  it('keeps alphanumeric codes whole and unstemmed', () => {
    expect(tokenize('p53 and BRCA1 in H2O2-treated cells')).toEqual([
      'p53',
      'brca1',
      'h2o2',
      'treat',
      'h2o2treated',
      'cell',
    ]);
  });

  it('makes hyphenated codes match however they are written', () => {
    expect(tokenize('IL-6')).toEqual(['il', '6', 'il6']);
    expect(tokenize('IL6')).toEqual(['il6']);
    expect(tokenize('COVID-19')).toContain('covid19');
    expect(tokenize('T-cells')).toEqual(['t', 'cell', 'tcell']);
  });

  it('splits ordinary hyphenated compounds into their words only', () => {
    expect(tokenize('state-of-the-art long-term')).toEqual(['state', 'art', 'long', 'term']);
  });

  it('keeps decimal numbers and thousands separators inside numbers', () => {
    expect(tokenize('0.5 mg/kg in 1,000 genomes.')).toEqual(['0.5', 'mg', 'kg', '1,000', 'genom']);
  });

  it('splits sentence punctuation away from numbers and words', () => {
    expect(tokenize('aged 65. Results, however')).toEqual(['age', '65', 'result', 'howev']);
  });

  it('spells out Greek letters so TNF-α meets TNF-alpha', () => {
    expect(tokenize('TNF-α')).toEqual(tokenize('TNF-alpha'));
    expect(tokenize('β-catenin')).toEqual(['beta', 'catenin']);
  });

  it('folds diacritics and compatibility characters', () => {
    expect(tokenize('naïve Müller')).toEqual(tokenize('naive Muller'));
    expect(tokenize('CO₂')).toEqual(['co2']);
  });

  it('handles possessives and curly apostrophes', () => {
    expect(tokenize("Alzheimer's disease")).toEqual(['alzheim', 'diseas']);
    expect(tokenize('Alzheimer’s disease')).toEqual(['alzheim', 'diseas']);
  });

  it('splits words of non-Latin scripts on Unicode boundaries without stemming them', () => {
    expect(tokenize('Привет, мир! 東京')).toEqual(['привет', 'мир', '東京']);
  });

  it('returns nothing for text without words', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' -- ... !? ')).toEqual([]);
    expect(tokenize('the of and')).toEqual([]);
  });
});
