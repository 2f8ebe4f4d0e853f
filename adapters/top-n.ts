/** The label value every key outside the named set is counted under. */
export const OTHER = 'other';

export interface TopNOptions {
  /** Most keys that get their own label value. */
  readonly size: number;
  /** How often the named set is ranked again, ms. */
  readonly rerankEveryMs: number;
  readonly now: () => number;
}

/**
 * Bounds a label's values to the `size` keys with the most volume; every other key is
 * `other`. Volume is an exponentially decayed count: at each ranking a key's score halves and
 * the events since the last ranking are added, so a key that stops sending loses its place
 * within a few rankings. Until `size` keys are named, a new key is named on first sight (a
 * small installation sees every tenant by name). At a ranking a key outside the set replaces
 * the weakest member only when its score is at least twice that member's, so near-equal keys
 * do not trade places back and forth; `onDemote` is told of each key that lost its place.
 */
export interface TopN {
  /** The label value for `key`, and one more unit of its volume. */
  label(key: string): string;
  /** Keys named now. */
  named(): ReadonlySet<string>;
}

/** Tracked keys beyond the named ones are capped, keeping the highest scores (memory bound). */
const TRACKED_PER_NAMED = 20;
/** Scores below this are forgotten at a ranking. */
const FORGET_BELOW = 0.5;

export function createTopN(options: TopNOptions, onDemote: (key: string) => void): TopN {
  const named = new Set<string>();
  /** Decayed volume up to the last ranking. */
  const score = new Map<string, number>();
  /** Volume since the last ranking. */
  const recent = new Map<string, number>();
  let rankedAt = options.now();

  function rerank(): void {
    for (const [k, s] of score) score.set(k, s / 2);
    for (const [k, n] of recent) score.set(k, (score.get(k) ?? 0) + n);
    recent.clear();
    for (const [k, s] of score) if (s < FORGET_BELOW && !named.has(k)) score.delete(k);
    const challengers = [...score]
      .filter(([k]) => !named.has(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, options.size);
    for (const [key, s] of challengers) {
      if (named.size < options.size) {
        named.add(key);
        continue;
      }
      let weakest: string | null = null;
      let weakestScore = Number.POSITIVE_INFINITY;
      for (const k of named) {
        const ks = score.get(k) ?? 0;
        if (ks < weakestScore) [weakest, weakestScore] = [k, ks];
      }
      if (weakest === null || s < 2 * weakestScore) break;
      named.delete(weakest);
      named.add(key);
      onDemote(weakest);
    }
    const cap = options.size * TRACKED_PER_NAMED;
    if (score.size > cap) {
      const keep = new Set(
        [...score]
          .sort((a, b) => b[1] - a[1])
          .slice(0, cap)
          .map(([k]) => k),
      );
      for (const k of score.keys()) if (!keep.has(k) && !named.has(k)) score.delete(k);
    }
  }

  return {
    label(key) {
      const now = options.now();
      if (now - rankedAt >= options.rerankEveryMs) {
        rankedAt = now;
        rerank();
      }
      if (recent.size < options.size * TRACKED_PER_NAMED || recent.has(key))
        recent.set(key, (recent.get(key) ?? 0) + 1);
      if (named.has(key)) return key;
      if (named.size < options.size) {
        named.add(key);
        return key;
      }
      return OTHER;
    },
    named: () => named,
  };
}
