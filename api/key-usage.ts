/**
 * `last_used_at` for API keys, kept cheaply: a node writes a key's use at most once per
 * `intervalMs` (a minute), off the request path. A key used all day costs one small upsert
 * a minute per node, not one per request.
 */
export function keyUsageRecorder(o: {
  readonly write: (uses: readonly { keyId: string; at: Date }[]) => Promise<void>;
  readonly now: () => number;
  /** ms */
  readonly intervalMs: number;
  readonly onError: (err: unknown) => void;
  /** Keys remembered at most; past it the memory starts afresh (one extra write per key). */
  readonly maxKeys: number;
}) {
  const written = new Map<string, number>();
  return {
    used(keyId: string): void {
      const now = o.now();
      const last = written.get(keyId);
      if (last !== undefined && now - last < o.intervalMs) return;
      if (written.size >= o.maxKeys) written.clear();
      written.set(keyId, now);
      o.write([{ keyId, at: new Date(now) }]).catch((err) => {
        // Not written: the next use may try again.
        if (written.get(keyId) === now) written.delete(keyId);
        o.onError(err);
      });
    },
  };
}
