import { sign } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { asBuffer, type CpuReply, type CpuTask } from './cpu-pool.js';
import { dkimSignatureFields } from './dkim.js';
import { composeMime } from './mime.js';

/**
 * The body of a CPU worker thread (adapters/cpu-pool.ts): DKIM signing and MIME
 * composition, pure functions of what the task carries. Buffers arrive as Uint8Arrays (the
 * structured clone drops Buffer's prototype) and results go back transferred, not copied.
 */
/** The result's own ArrayBuffer, transferable: a small Buffer may sit in Node's shared pool. */
function transferable(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b;
  return new Uint8Array(b);
}

async function run(task: CpuTask): Promise<Uint8Array | null> {
  switch (task.kind) {
    case 'sign':
      // In place: this thread is already off the main one, and a hand-off to libuv's pool
      // would only add a wake-up per signature.
      return dkimSignatureFields(asBuffer(task.message), task.params, sign);
    case 'compose':
      return composeMime({
        ...task.input,
        attachments: task.input.attachments.map((a) => ({ ...a, content: asBuffer(a.content) })),
      });
  }
}

function start(task: CpuTask): void {
  run(task).then(
    (bytes) => {
      const out = bytes === null ? null : transferable(bytes as Buffer);
      const reply: CpuReply = { id: task.id, ok: true, bytes: out };
      parentPort!.postMessage(reply, out ? [out.buffer as ArrayBuffer] : []);
    },
    (err: Error) => {
      const reply: CpuReply = { id: task.id, ok: false, name: err.name, message: err.message };
      parentPort!.postMessage(reply);
    },
  );
}

/**
 * Tasks start by class, not in arrival order: a composition is an API request waiting for
 * its answer, a signature one delivery among a wave's hundred, so every composition starts
 * before the signatures waiting. One task starts per turn of this thread's loop, and each
 * turn first takes in every task posted meanwhile: a composition posted behind a wave's
 * signatures waits for the task in progress (about a millisecond), not for the wave.
 * Signatures cannot starve: compositions take a fraction of a worker at any rate the
 * node's single main thread can accept.
 */
const waiting: Record<'urgent' | 'bulk', CpuTask[]> = { urgent: [], bulk: [] };
let turnScheduled = false;

function nextTurn(): void {
  turnScheduled = false;
  const task = waiting.urgent.shift() ?? waiting.bulk.shift();
  if (!task) return;
  start(task);
  if (waiting.urgent.length + waiting.bulk.length > 0) scheduleTurn();
}

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(nextTurn);
}

parentPort!.on('message', (task: CpuTask) => {
  waiting[task.kind === 'compose' ? 'urgent' : 'bulk'].push(task);
  scheduleTurn();
});
