import type { ReceiverConfig } from '../../config/notifications.schema.js';
import { CHANNEL_KINDS, type ChannelKind, type ChannelTable } from './channel.js';
import { emailChannel } from './email.channel.js';
import { pagerDutyChannel } from './pagerduty.channel.js';
import { slackChannel } from './slack.channel.js';
import { teamsChannel } from './teams.channel.js';
import { webhookChannel } from './webhook.channel.js';

export const channels: ChannelTable = {
  webhook: webhookChannel,
  slack: slackChannel,
  teams: teamsChannel,
  email: emailChannel,
  pagerduty: pagerDutyChannel,
};

/** The channels a receiver has configured, in a fixed order. */
export function receiverChannels(receiver: ReceiverConfig): ChannelKind[] {
  return CHANNEL_KINDS.filter((kind) => receiver[kind] !== undefined);
}

export { CHANNEL_KINDS, type ChannelKind, type ChannelTable } from './channel.js';
export type { Channel, ChannelConfig, SendContext, SendResult, RenderContext } from './channel.js';
