/**
 * Checks a parsed request part (JSON body, query, path parameters) before any handler sees
 * it, for what no field's schema should have to think of:
 * - NUL (U+0000): PostgreSQL's text types cannot hold it (the server refuses the statement),
 *   and no email field needs it (RFC 5322 §3.5 excludes it from message text);
 * - nesting deeper than MAX_DEPTH: no Resend request nests more than a few levels, and
 *   recursive code (hashing for idempotency, validation) must not meet 10,000 levels.
 * Iterative, so hostile input cannot overflow the stack here either. Returns the problem
 * and where it is, or null.
 */
export const MAX_DEPTH = 32;

export function inputProblem(value: unknown, where: string): string | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: where, depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return `${path} contains a NUL character (U+0000), which is not allowed.`;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) return `${path} nests deeper than ${MAX_DEPTH} levels.`;
    for (const [k, child] of Object.entries(v)) {
      if (k.includes('\u0000')) return `${path} has a key with a NUL character (U+0000).`;
      stack.push({ v: child, path: Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`, depth: depth + 1 });
    }
  }
  return null;
}
