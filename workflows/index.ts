// Bundle entry for the worker: every workflow type Posthorn registers.
export { controlWorkflow } from './control.js';
export { domainWorkflow } from './domain.js';
export { ipWorkflow } from './ip.js';
export { messageWorkflow } from './message.js';
export { waveWorkflow } from './wave.js';
export { webhookEndpointWorkflow } from './webhook.js';
