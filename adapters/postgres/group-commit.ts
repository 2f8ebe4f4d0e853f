/**
 * Group commit for a statement that can carry many callers' rows at once: a call made
 * while no statement is running goes at once, alone; calls made while one runs gather and
 * go together as the next one (like waves, and like PostgreSQL's own commit_delay). Under
 * load, one round trip and one WAL flush serve many requests.
 *
 * `run` gets the gathered inputs and returns one output per input, in order. When a
 * statement for several callers fails, each caller's input runs again alone, so one bad
 * input (a value the database refuses) fails its own caller only.
 */
export function groupCommit<I, O>(
  run: (inputs: readonly I[]) => Promise<readonly O[]>,
): (input: I) => Promise<O> {
  let waiting: { input: I; resolve: (o: O) => void; reject: (err: unknown) => void }[] = [];
  let running = false;

  async function runAlone(w: (typeof waiting)[number]): Promise<void> {
    try {
      w.resolve((await run([w.input]))[0]!);
    } catch (err) {
      w.reject(err);
    }
  }

  async function drain(): Promise<void> {
    running = true;
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      if (group.length === 1) {
        await runAlone(group[0]!);
        continue;
      }
      try {
        const out = await run(group.map((w) => w.input));
        for (const [i, w] of group.entries()) w.resolve(out[i]!);
      } catch {
        await Promise.all(group.map(runAlone));
      }
    }
    running = false;
  }

  return (input) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      if (!running) void drain();
    });
}
