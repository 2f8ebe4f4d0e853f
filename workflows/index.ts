// Bundle entry for the worker: every workflow type Posthorn registers.
export { messageWorkflow } from './message.js';
