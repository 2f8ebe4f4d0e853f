import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { type DkimSignParams, dkimSignatureFields } from './dkim.js';
import { type ComposeInput, composeMime } from './mime.js';

/** A task for a CPU worker (adapters/cpu-worker.ts). */
export type CpuTask =
  | { id: number; kind: 'sign'; message: Uint8Array; params: DkimSignParams }
  | { id: number; kind: 'compose'; input: ComposeInput };

export type CpuReply =
  | { id: number; ok: true; bytes: Uint8Array | null }
  | { id: number; ok: false; name: string; message: string };

/** A Buffer over the bytes of a Uint8Array that crossed threads (the structured clone drops Buffer's prototype). */
export const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Distributes the task to the variant without its id. */
type TaskInput = CpuTask extends infer T ? (T extends CpuTask ? Omit<T, 'id'> : never) : never;

export interface CpuPool {
  /** The DKIM-Signature fields for `message` (adapters/dkim.ts, dkimSignatureFields). */
  signatureFields(message: Buffer, params: DkimSignParams): Promise<Buffer | null>;
  /** The composed message (adapters/mime.ts, composeMime). */
  compose(input: ComposeInput): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * Each worker's young generation, MB. In the peer bench's profile of the worker, 8 MB had
 * the garbage collector at 9.6 % of its time and 48 MB at 2.7 %, for 16 MB more peak RSS.
 */
const WORKER_YOUNG_GENERATION_MB = 32;

/**
 * Worker threads for the CPU-bound steps of a message: DKIM canonicalization and signing
 * before each delivery, and MIME composition at accept. On the main thread these two were
 * about a sixth of its time under load (the bench's CPU profile), and the main thread also
 * runs the API, every SMTP session and the Temporal worker: a node held there by its one
 * core while another core idled. The pool gives them the other cores.
 *
 * `size` 0 runs both on the calling thread. Otherwise each task goes to the worker with the
 * fewest tasks in flight. A worker that dies fails its tasks in flight (the accept answers
 * 5xx and stores nothing; a delivery is retried by its activity) and is replaced on the next
 * task.
 */
export function createCpuPool(o: {
  size: number;
  log: Logger;
  /** The worker body; tests give a stand-in. */
  workerModule?: URL;
}): CpuPool {
  if (o.size === 0) {
    return {
      signatureFields: dkimSignatureFields,
      compose: composeMime,
      close: async () => {},
    };
  }
  interface Slot {
    worker: Worker | null;
    pending: Map<number, { resolve: (b: Uint8Array | null) => void; reject: (e: Error) => void }>;
  }
  const slots: Slot[] = Array.from({ length: o.size }, () => ({ worker: null, pending: new Map() }));
  let nextId = 1;
  let closed = false;

  function failAll(slot: Slot, err: Error): void {
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
  }

  function workerOf(slot: Slot): Worker {
    if (slot.worker) return slot.worker;
    const worker = new Worker(new URL('./cpu-worker-entry.cjs', import.meta.url), {
      workerData: {
        modulePath: fileURLToPath(o.workerModule ?? new URL('./cpu-worker.ts', import.meta.url)),
      },
      // Bounded so that the node's RSS stays within its budget (docs/architecture.md, "Cost
      // per message").
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    worker.on('message', (reply: CpuReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.bytes);
      else p.reject(Object.assign(new Error(reply.message), { name: reply.name }));
    });
    worker.on('error', (err) => {
      o.log.error({ err, event: 'cpu_worker.error' }, 'CPU worker failed; its tasks in flight fail');
    });
    worker.once('exit', (code) => {
      if (slot.worker === worker) slot.worker = null;
      failAll(slot, new Error(`CPU worker exited (code ${code})`));
    });
    slot.worker = worker;
    return worker;
  }

  function run(task: TaskInput): Promise<Uint8Array | null> {
    if (closed) return Promise.reject(new Error('CPU pool closed'));
    let slot = slots[0]!;
    for (const s of slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = nextId++;
    const worker = workerOf(slot);
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      worker.postMessage({ ...task, id });
    });
  }

  return {
    async signatureFields(message, params) {
      if (params.keys.length === 0) return null;
      const bytes = await run({ kind: 'sign', message, params });
      return bytes && asBuffer(bytes);
    },
    async compose(input) {
      const bytes = await run({ kind: 'compose', input });
      if (!bytes) throw new Error('CPU worker composed nothing');
      return asBuffer(bytes);
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker?.terminate()));
    },
  };
}

/** Worker threads by default: one core is the main thread's, up to four for the pool. */
export function defaultCpuWorkers(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}
