// A worker thread's entry. The worker body is TypeScript, and a worker does not inherit the
// main thread's tsx loader (bin/posthorn.mjs registers it). tsx's CommonJS hook runs in
// this thread; its ESM hook would start one more loader thread (a whole isolate) per
// worker: one worker added 50 MB of RSS that way, 31 MB this way.
const { workerData } = require('node:worker_threads');
const { register } = require('tsx/cjs/api');

register();
require(workerData.modulePath);
