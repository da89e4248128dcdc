// The `deployments:` section of opsbook.yaml.
import { z } from 'zod';
import { durationMs } from '../config/duration.schema.js';

/** Guide 5.2, post-deployment checklist: "Monitor metrics for 30 minutes". */
export const DEFAULT_WATCH_FOR = '30m';

export const deploymentsSchema = z
  .strictObject({
    /** How long a service stays under watch after a deployment ends; alerts in it show on the deployment. */
    watchFor: durationMs.prefault(DEFAULT_WATCH_FOR),
  })
  .prefault({});

export type DeploymentsConfig = z.output<typeof deploymentsSchema>;
