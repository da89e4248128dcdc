import { z } from 'zod';
import { durationMs } from './duration.schema.js';
import { matcherList } from './alerting.schema.js';

/** Guide 4.1: time to acknowledge per severity; resolution targets are optional. */
export const DEFAULT_RESPONSE_TARGETS = { SEV1: '15m', SEV2: '1h', SEV3: '4h', SEV4: '24h' } as const;

const target = (respond: string) =>
  z
    .strictObject({
      /** Acknowledge within this long of the incident opening, or it is breached and escalates. */
      respondWithin: durationMs.prefault(respond),
      resolveWithin: durationMs.optional(),
    })
    .prefault({});

const mappingRule = z.strictObject({
  /** Alert label matchers, all of which must match (e.g. severity="critical"). */
  matchers: matcherList,
  severity: z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']),
});

/** First matching rule wins; alerts no rule matches (warnings by default) open no incident. */
export const DEFAULT_INCIDENT_MAPPING: z.output<typeof mappingRule>[] = [
  { matchers: ['alertname="ServiceUnavailable"'], severity: 'SEV1' },
  { matchers: ['severity="critical"'], severity: 'SEV2' },
];

/** Guide 4.2 stage 5: which severities need a published post-mortem before closing, and by when. */
const postmortemSchema = z
  .strictObject({
    requiredFor: z.array(z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4'])).default(['SEV1', 'SEV2']),
    /** Publish within this long of resolution; later it is shown as overdue. */
    dueWithin: durationMs.prefault('5d'),
  })
  .prefault({});

export const incidentsSchema = z
  .strictObject({
    severities: z
      .strictObject({
        SEV1: target(DEFAULT_RESPONSE_TARGETS.SEV1),
        SEV2: target(DEFAULT_RESPONSE_TARGETS.SEV2),
        SEV3: target(DEFAULT_RESPONSE_TARGETS.SEV3),
        SEV4: target(DEFAULT_RESPONSE_TARGETS.SEV4),
      })
      .prefault({}),
    mapping: z.array(mappingRule).default(DEFAULT_INCIDENT_MAPPING),
    /** When every linked alert has been resolved this long, the incident moves to post-incident. */
    autoResolveAfter: durationMs.optional(),
    /** Receiver names (notifications.receivers) that status updates go to when a request names none. */
    channels: z.array(z.string().min(1)).default([]),
    postmortem: postmortemSchema,
  })
  .prefault({});

export type IncidentsConfig = z.output<typeof incidentsSchema>;
export type IncidentMappingRule = z.output<typeof mappingRule>;
