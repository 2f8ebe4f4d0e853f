// A worker thread's entry: the worker body is TypeScript, and a worker does not inherit the
// main thread's tsx loader (bin/posthorn.mjs registers it), so it registers its own first.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
