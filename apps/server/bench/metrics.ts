/**
 * Graded relevance judgements for one query: document id → grade. Grades ≤ 0 mean "judged not
 * relevant", as in TREC qrels.
 */
export type Judgements<Id> = ReadonlyMap<Id, number>;

/**
 * nDCG@k as trec_eval's `ndcg_cut` computes it (and so BEIR via pytrec_eval): gain is the grade
 * itself (not 2^grade − 1), discounted by log2(rank + 1); the ideal ranking is every judged
 * relevant document sorted by grade. 0 when the query has no relevant document. A document
 * listed twice counts only at its first position.
 */
export function ndcgAtK<Id>(ranked: readonly Id[], judgements: Judgements<Id>, k: number): number {
  const ideal = [...judgements.values()]
    .filter((grade) => grade > 0)
    .sort((x, y) => y - x)
    .slice(0, k);
  const idealDcg = discountedGain(ideal);
  if (idealDcg === 0) return 0;
  const gains = firstK(ranked, k).map((id) => Math.max(0, judgements.get(id) ?? 0));
  return discountedGain(gains) / idealDcg;
}

/** Fraction of the relevant (grade > 0) documents found in the first k; 0 if there are none. */
export function recallAtK<Id>(
  ranked: readonly Id[],
  judgements: Judgements<Id>,
  k: number,
): number {
  let relevant = 0;
  for (const grade of judgements.values()) if (grade > 0) relevant++;
  if (relevant === 0) return 0;
  const found = firstK(ranked, k).filter((id) => (judgements.get(id) ?? 0) > 0).length;
  return found / relevant;
}

function discountedGain(gains: readonly number[]): number {
  return gains.reduce((sum, gain, i) => sum + gain / Math.log2(i + 2), 0);
}

/** The first k distinct ids. */
function firstK<Id>(ranked: readonly Id[], k: number): Id[] {
  const seen = new Set<Id>();
  for (const id of ranked) {
    if (seen.size >= k) break;
    seen.add(id);
  }
  return [...seen];
}
