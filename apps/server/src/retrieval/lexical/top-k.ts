/**
 * The `k` best of `count` candidate slots, best first, by descending score and then ascending
 * label (so equal scores come out in a stable, reproducible order). A bounded min-heap: O(n log k)
 * instead of sorting every document that matched one query term. Written here rather than taken
 * from a heap package because it works on the scorer's typed arrays in place, allocating nothing
 * per candidate, which is where BM25 queries spend their time.
 */
export function topK(
  candidates: Int32Array,
  count: number,
  scores: Float64Array,
  labels: Float64Array,
  k: number,
): number[] {
  const worse = (a: number, b: number): boolean =>
    scores[a]! < scores[b]! || (scores[a] === scores[b] && labels[a]! > labels[b]!);
  const heap: number[] = [];

  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < heap.length && worse(heap[left]!, heap[worst]!)) worst = left;
      if (right < heap.length && worse(heap[right]!, heap[worst]!)) worst = right;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst]!, heap[i]!];
      i = worst;
    }
  };

  for (let c = 0; c < count; c++) {
    const slot = candidates[c]!;
    if (heap.length < k) {
      heap.push(slot);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    } else if (k > 0 && worse(heap[0]!, slot)) {
      heap[0] = slot;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
