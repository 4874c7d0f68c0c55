// Binary searches over the first `n` values of a sorted typed array (the in-memory indexes).

/** How many of the first `n` values are < v (= the index of the first value ≥ v). */
export function countBelow(values: ArrayLike<number>, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the first `n` values are ≤ v (= the index of the first value > v). */
export function countAtMost(values: ArrayLike<number>, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
