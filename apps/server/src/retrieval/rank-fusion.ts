export interface FusedHit {
  label: number;
  score: number;
  /** 1-based rank of the label in each input list, or null where the list lacks it. */
  ranks: (number | null)[];
}

export interface RankFusionOptions {
  /** Damping constant: larger values flatten the advantage of top ranks. 60 as in Cormack et al. */
  k?: number;
  /** Maximum number of fused hits to return; all by default. */
  limit?: number;
  /** One weight per list (weighted RRF): a list's contribution is weight / (k + rank). 1 each by default. */
  weights?: readonly number[];
}

/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, 2009): score(d) = Σ 1 / (k + rank_i(d))
 * over the lists that contain d (each term times its list's weight, when weights are given). Uses ranks only, so lists whose scores live on different scales
 * (BM25 vs cosine) combine without calibration. A label repeated within one list counts at its
 * first (best) rank. Ties break towards the better best rank, then the lower label.
 */
export function reciprocalRankFusion(
  lists: readonly (readonly { label: number }[])[],
  { k = 60, limit = Number.POSITIVE_INFINITY, weights }: RankFusionOptions = {},
): FusedHit[] {
  if (!(k >= 0)) throw new RangeError(`k must be non-negative, got ${k}`);
  if (!(limit >= 0)) throw new RangeError(`limit must be non-negative, got ${limit}`);
  const fused = new Map<number, FusedHit>();
  lists.forEach((list, listIndex) => {
    const weight = weights?.[listIndex] ?? 1;
    list.forEach(({ label }, position) => {
      let hit = fused.get(label);
      if (hit === undefined) {
        hit = { label, score: 0, ranks: new Array<number | null>(lists.length).fill(null) };
        fused.set(label, hit);
      }
      if (hit.ranks[listIndex] !== null) return;
      hit.ranks[listIndex] = position + 1;
      hit.score += weight / (k + position + 1);
    });
  });
  return [...fused.values()]
    .sort((x, y) => y.score - x.score || bestRank(x) - bestRank(y) || x.label - y.label)
    .slice(0, limit);
}

function bestRank(hit: FusedHit): number {
  let best = Number.POSITIVE_INFINITY;
  for (const rank of hit.ranks) if (rank !== null && rank < best) best = rank;
  return best;
}
