import { z } from 'zod';

/**
 * Wire shapes of the Resend email endpoints (resend-openapi.yaml, SendEmailRequest).
 * Field-level checks that need more than a type (address syntax, header safety) happen in
 * validate.ts so each can name its field in the error.
 */
const stringOrList = z.union([z.string(), z.array(z.string())]);

// Node's Buffer.toJSON() shape, which resend SDK ≤ 6.34 sends for Buffer attachments.
const bufferJson = z.object({ type: z.literal('Buffer'), data: z.array(z.number().int().min(0).max(255)) });

export const attachmentSchema = z.object({
  content: z.union([z.string(), bufferJson]).nullish(),
  filename: z.union([z.string(), z.literal(false)]).nullish(),
  path: z.string().nullish(),
  content_type: z.string().nullish(),
  content_id: z.string().nullish(),
});

export const tagSchema = z.object({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{1,256}$/,
      'tag names may contain only ASCII letters, numbers, underscores or dashes (at most 256)',
    ),
  value: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{1,256}$/,
      'tag values may contain only ASCII letters, numbers, underscores or dashes (at most 256)',
    ),
});

export const sendEmailSchema = z.object({
  from: z.string().nullish(),
  to: stringOrList.nullish(),
  subject: z.string().nullish(),
  cc: stringOrList.nullish(),
  bcc: stringOrList.nullish(),
  reply_to: stringOrList.nullish(),
  html: z.string().nullish(),
  text: z.string().nullish(),
  headers: z.record(z.string(), z.string()).nullish(),
  attachments: z.array(attachmentSchema).nullish(),
  tags: z.array(tagSchema).nullish(),
  scheduled_at: z.string().nullish(),
});

export type SendEmailBody = z.infer<typeof sendEmailSchema>;

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().optional(),
  before: z.string().optional(),
});
