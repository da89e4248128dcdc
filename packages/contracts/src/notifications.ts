import { z } from 'zod';

export const NotificationChannel = z.enum(['webhook', 'slack', 'teams', 'email', 'pagerduty']);
export type NotificationChannel = z.infer<typeof NotificationChannel>;

export const DeliveryStatus = z
  .enum(['pending', 'sending', 'delivered', 'failed', 'expired'])
  .describe(
    'pending: waiting for its turn or a retry; failed: refused for good (4xx, SMTP 5xx); expired: not delivered within the max age',
  );
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

export const NotificationDelivery = z.object({
  id: z.number().int(),
  idempotencyKey: z.string().describe('sent as Idempotency-Key; the same on every retry'),
  groupKey: z.string(),
  sequence: z.number().int().describe('per group; deliveries of a group go out in this order'),
  receiver: z.string(),
  channel: NotificationChannel,
  target: z.string().describe('where it goes, with tokens and passwords hidden'),
  notificationStatus: z.enum(['firing', 'resolved']),
  reason: z.string().describe('new, update, repeat, resolved, maintenance-ended'),
  alertCount: z.number().int(),
  status: DeliveryStatus,
  attemptCount: z.number().int(),
  lastError: z.string().nullable(),
  lastStatus: z.number().int().nullable().describe('HTTP status or SMTP reply code of the last attempt'),
  createdAt: z.number().int().describe('epoch milliseconds'),
  updatedAt: z.number().int(),
  nextAttemptAt: z.number().int().nullable().describe('while pending'),
  deliveredAt: z.number().int().nullable(),
});
export type NotificationDelivery = z.infer<typeof NotificationDelivery>;

export const NotificationDeliveryList = z.object({
  items: z.array(NotificationDelivery),
  nextCursor: z.string().nullable(),
});
export type NotificationDeliveryList = z.infer<typeof NotificationDeliveryList>;

export const NotificationAttempt = z.object({
  attempt: z.number().int().describe('1 for the first try'),
  at: z.number().int().describe('epoch milliseconds'),
  durationMs: z.number(),
  ok: z.boolean(),
  retryable: z.boolean(),
  status: z.number().int().nullable().describe('HTTP status or SMTP reply code'),
  response: z.string().nullable().describe('start of the HTTP body or the SMTP reply'),
  error: z.string().nullable(),
});
export type NotificationAttempt = z.infer<typeof NotificationAttempt>;

export const NotificationDeliveryDetail = NotificationDelivery.extend({
  payload: z.unknown().describe('the rendered message as sent, without credentials'),
  attempts: z.array(NotificationAttempt),
});
export type NotificationDeliveryDetail = z.infer<typeof NotificationDeliveryDetail>;

/** One alert in the `opsbook` webhook format. Times are ISO 8601; endsAt is null while firing. */
export const OpsbookWebhookAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  startsAt: z.string(),
  endsAt: z.string().nullable(),
  fingerprint: z.string(),
  generatorUrl: z.string(),
  suppressedBy: z.object({
    silences: z.array(z.string()),
    inhibitedBy: z.array(z.string()),
    maintenance: z.array(z.string()),
  }),
});

/** The body Opsbook POSTs to a webhook receiver with `format: opsbook`. */
export const OpsbookWebhookPayload = z.object({
  version: z.literal('1'),
  idempotencyKey: z.string().describe('also in the Idempotency-Key header; drop repeats of a key'),
  groupKey: z.string(),
  sequence: z.number().int().describe('increases by one per notification of the group'),
  status: z.enum(['firing', 'resolved']),
  reason: z.enum(['new', 'update', 'repeat', 'resolved', 'maintenance-ended']),
  receiver: z.string(),
  groupLabels: z.record(z.string(), z.string()),
  commonLabels: z.record(z.string(), z.string()),
  commonAnnotations: z.record(z.string(), z.string()),
  externalUrl: z.string(),
  alerts: z.array(OpsbookWebhookAlert),
});
export type OpsbookWebhookPayload = z.infer<typeof OpsbookWebhookPayload>;
