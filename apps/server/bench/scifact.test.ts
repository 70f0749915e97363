import { describe, expect, it } from 'vitest';
import { loadScifact, parseCorpus, parseQrels, parseQueries } from './scifact';

describe('SciFact parsers', () => {
  it('parses corpus lines with title and text', () => {
    const jsonl =
      '{"_id": "4983", "title": "T1", "text": "Body.", "metadata": {}}\n\n{"_id":"5","title":"","text":"x"}\n';
    expect(parseCorpus(jsonl)).toEqual([
      { id: '4983', title: 'T1', text: 'Body.' },
      { id: '5', title: '', text: 'x' },
    ]);
  });

  it('parses queries and rejects malformed lines with their line number', () => {
    expect(parseQueries('{"_id":"1","text":"claim"}\r\n')).toEqual([{ id: '1', text: 'claim' }]);
    expect(() => parseQueries('{"_id":"1","text":"a"}\n{"_id":2,"text":"b"}')).toThrow(
      /line 2: "_id" must be a string/,
    );
    expect(() => parseQueries('{"_id":"1",')).toThrow(/line 1/);
  });

  it('parses qrels with a header line and CRLF endings, grouping by query', () => {
    const tsv =
      'query-id\tcorpus-id\tscore\r\n1\t31715818\t1\r\n3\t14717500\t1\r\n3\t23389795\t2\r\n';
    const qrels = parseQrels(tsv);
    expect([...qrels.keys()]).toEqual(['1', '3']);
    expect([...qrels.get('3')!]).toEqual([
      ['14717500', 1],
      ['23389795', 2],
    ]);
  });

  it('rejects qrels lines that are not query, document, integer score', () => {
    expect(() => parseQrels('query-id\tcorpus-id\tscore\n1\t2\n')).toThrow(/line 2/);
    expect(() => parseQrels('1\t2\thigh\n')).toThrow(/line 1/);
  });
});

// Not skipped when the data is missing: CI has it at the same relative path, and a skip here hid
// a wrong path for a whole round (every SciFact bench failed to find it).
describe('loadScifact (shared data)', () => {
  it('finds ../shared/data/scifact from the repository and loads the test split', async () => {
    const { corpus, queries, qrels } = await loadScifact();
    expect(corpus).toHaveLength(5183);
    expect(queries).toHaveLength(300);
    expect([...qrels.values()].reduce((sum, judged) => sum + judged.size, 0)).toBe(339);
    expect(queries.every((query) => qrels.has(query.id))).toBe(true);
    const ids = new Set(corpus.map((document) => document.id));
    for (const judged of qrels.values())
      for (const id of judged.keys()) expect(ids.has(id)).toBe(true);
  });
});
