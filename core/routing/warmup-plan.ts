import { z } from 'zod';
import type { WarmupPlan } from './warmup.js';

/**
 * Validation of warmup plans, which operators override per IP (from config or the admin API).
 * Apart from core/routing/warmup.ts because the workflow bundle imports that module: the worker runs
 * the bundle's module initialisers again for every workflow it starts, and zod's cost each
 * workflow about 10 ms of CPU.
 */

const count = z.number().int().min(0);
const capSchema = z
  .object({ daily: count, hourly: count })
  .refine((c) => c.hourly <= c.daily, { message: 'hourly cap exceeds the daily cap' });

const warmupPlanSchema = z
  .object({
    version: z.literal(1),
    name: z.string().min(1),
    steps: z
      .array(
        z.object({
          fromDay: z.number().int().min(1),
          caps: z
            .record(z.string().min(1), capSchema)
            .refine((caps) => caps['*'] !== undefined, { message: 'every step needs a "*" line' }),
        }),
      )
      .min(1),
    warmFromDay: z.number().int().min(2),
  })
  .superRefine((plan, ctx) => {
    if (plan.steps[0]?.fromDay !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps', 0, 'fromDay'],
        message: 'the first step must start on day 1',
      });
    }
    plan.steps.forEach((step, i) => {
      const prev = plan.steps[i - 1];
      if (prev && step.fromDay <= prev.fromDay) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i, 'fromDay'],
          message: 'steps must be in ascending day order',
        });
      }
    });
    const last = plan.steps[plan.steps.length - 1];
    if (last && plan.warmFromDay <= last.fromDay) {
      ctx.addIssue({
        code: 'custom',
        path: ['warmFromDay'],
        message: 'warmFromDay must come after the last step',
      });
    }
  });

export type WarmupPlanParse = { ok: true; plan: WarmupPlan } | { ok: false; problems: string[] };

/** Validates a plan (e.g. an operator's override), reporting every problem at once. */
export function parseWarmupPlan(input: unknown): WarmupPlanParse {
  const r = warmupPlanSchema.safeParse(input);
  if (r.success) return { ok: true, plan: r.data };
  return { ok: false, problems: r.error.issues.map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`) };
}
