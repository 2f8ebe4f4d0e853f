import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const run = promisify(execFile);
const WORKER_MODULE = createRequire(import.meta.url).resolve('@temporalio/worker');

/**
 * Bundles the workflow code (webpack, inside the Temporal SDK) in a child process and
 * returns the bundle. Bundling in the node itself left its memory high-water mark raised
 * by webpack's peak for the node's whole life; the child gives that memory back when it
 * exits. The worker then loads the finished code.
 *
 * `preloadModules` (absolute paths) are initialised once and shared by every workflow the
 * worker runs, instead of once per workflow: only pure modules without module-level state
 * belong there (the SDK deep-freezes their exports). `workflowInterceptorModules` export
 * `interceptors` (tracing, when on).
 */
export async function bundleWorkflows(
  workflowsPath: string,
  preloadModules: readonly string[] = [],
  workflowInterceptorModules: readonly string[] = [],
): Promise<{ code: string }> {
  const script = `require(${JSON.stringify(WORKER_MODULE)})
    .bundleWorkflowCode({ workflowsPath: ${JSON.stringify(workflowsPath)}, preloadModules: ${JSON.stringify(preloadModules)}, workflowInterceptorModules: ${JSON.stringify(workflowInterceptorModules)}, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error(m) { console.error(m); } } })
    .then((b) => process.stdout.write(b.code), (e) => { console.error(e); process.exit(1); });`;
  // A bundle is a few MB; the default 1 MB buffer would cut it.
  const { stdout } = await run(process.execPath, ['-e', script], { maxBuffer: 256 * 1024 * 1024 });
  return { code: stdout };
}
