import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Judgements } from './metrics';

export interface ScifactDocument {
  id: string;
  title: string;
  text: string;
}

export interface ScifactQuery {
  id: string;
  text: string;
}

/** Query id → judged document id → grade. */
export type Qrels = Map<string, Judgements<string>>;

export interface Scifact {
  corpus: ScifactDocument[];
  queries: ScifactQuery[];
  qrels: Qrels;
}

/**
 * `../shared/data/scifact` next to the repository root, found from this file (`apps/server/bench/`,
 * three directories below the root) so the benchmark works from any working directory.
 */
export const SCIFACT_DIR = fileURLToPath(
  new URL('../../../../shared/data/scifact/', import.meta.url),
);

/** Reads the corpus, the 300 test queries and their judgements. */
export async function loadScifact(dir: string = SCIFACT_DIR): Promise<Scifact> {
  const read = (name: string) => readFile(`${dir.replace(/\/?$/, '/')}${name}`, 'utf8');
  const [corpus, queries, qrels] = await Promise.all([
    read('corpus.jsonl'),
    read('queries-test.jsonl'),
    read('qrels-test.tsv'),
  ]);
  return { corpus: parseCorpus(corpus), queries: parseQueries(queries), qrels: parseQrels(qrels) };
}

/** BEIR corpus.jsonl: one `{"_id", "title", "text"}` object per line. */
export function parseCorpus(jsonl: string): ScifactDocument[] {
  return parseJsonLines(jsonl).map(({ record, line }) => ({
    id: stringField(record, '_id', line),
    title: stringField(record, 'title', line),
    text: stringField(record, 'text', line),
  }));
}

/** BEIR queries.jsonl: one `{"_id", "text"}` object per line. */
export function parseQueries(jsonl: string): ScifactQuery[] {
  return parseJsonLines(jsonl).map(({ record, line }) => ({
    id: stringField(record, '_id', line),
    text: stringField(record, 'text', line),
  }));
}

/** BEIR qrels: tab-separated `query-id corpus-id score`, a header line, CRLF or LF endings. */
export function parseQrels(tsv: string): Qrels {
  const qrels = new Map<string, Map<string, number>>();
  tsv.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || (index === 0 && line.startsWith('query-id'))) return;
    const fields = line.split('\t');
    const [queryId, documentId, grade] = fields;
    if (fields.length !== 3 || !queryId || !documentId || !/^-?\d+$/.test(grade ?? '')) {
      throw new SyntaxError(`qrels line ${index + 1}: expected query-id, corpus-id, integer score`);
    }
    const judgements = qrels.get(queryId) ?? new Map<string, number>();
    judgements.set(documentId, Number(grade));
    qrels.set(queryId, judgements);
  });
  return qrels;
}

function parseJsonLines(jsonl: string): { record: Record<string, unknown>; line: number }[] {
  const records: { record: Record<string, unknown>; line: number }[] = [];
  jsonl.split(/\r?\n/).forEach((text, index) => {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new SyntaxError(`line ${index + 1}: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SyntaxError(`line ${index + 1}: expected a JSON object`);
    }
    records.push({ record: value as Record<string, unknown>, line: index + 1 });
  });
  return records;
}

function stringField(record: Record<string, unknown>, key: string, line: number): string {
  const value = record[key];
  if (typeof value !== 'string') throw new SyntaxError(`line ${line}: "${key}" must be a string`);
  return value;
}
