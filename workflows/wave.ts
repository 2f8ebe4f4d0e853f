import { waveActivities } from './activity-options.js';
import type { WaveInput, WaveResult } from './contract.js';

/**
 * A delivery wave: the first attempt of 1..N messages in one workflow task
 * (docs/architecture.md, "The path of a message" and "Cost per message"). Under load one
 * workflow carries many messages, so Temporal's cost per workflow is shared; idle, a wave
 * carries one. Messages the wave cannot settle continue in their own message workflow (id =
 * message id), which the wave's activity starts.
 */
export async function waveWorkflow(input: WaveInput): Promise<WaveResult> {
  return waveActivities.deliverWave(input);
}
