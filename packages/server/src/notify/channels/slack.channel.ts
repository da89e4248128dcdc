// Slack incoming webhook: a text fallback (notifications, old clients) and Block Kit blocks.
import type { AlertSnapshot } from '../../alerts/alert.types.js';
import { incidentFacts, incidentTitle } from '../incident-message.js';
import type { Notification } from '../notification.types.js';
import {
  alertName,
  descriptionOf,
  distinguishingLabels,
  groupValue,
  isHttpUrl,
  summaryOf,
  title,
  truncate,
} from '../payloads.js';
import { originOnly, urlSecrets, type Channel, type ChannelConfig } from './channel.js';
import { postJson } from './http.js';

type SlackConfig = ChannelConfig<'slack'>;

type Text = { type: 'plain_text' | 'mrkdwn'; text: string };
export type SlackBlock =
  | { type: 'header'; text: Text }
  | { type: 'section'; text?: Text; fields?: Text[] }
  | { type: 'context'; elements: Text[] }
  | { type: 'actions'; elements: { type: 'button'; text: Text; url: string }[] };

export interface SlackPayload {
  text: string;
  channel?: string;
  blocks: SlackBlock[];
}

// Block Kit limits: header text 150 chars, section text 3000, 50 blocks per message.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const ALERTS_SHOWN = 10;

/** Slack mrkdwn treats &, < and > as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function alertSection(n: Notification, alert: AlertSnapshot): SlackBlock {
  const labels = distinguishingLabels(n, alert);
  const lines = [
    `*${alert.status === 'firing' ? 'Firing' : 'Resolved'}:* ${escapeMrkdwn(alertName(n))}${labels ? ` \`${escapeMrkdwn(labels)}\`` : ''}`,
  ];
  const summary = summaryOf(n, alert);
  const description = descriptionOf(n, alert);
  if (summary) lines.push(`*Summary:* ${escapeMrkdwn(summary)}`);
  if (description) lines.push(`*Description:* ${escapeMrkdwn(description)}`);
  if (isHttpUrl(alert.generatorUrl)) lines.push(`<${alert.generatorUrl}|Source>`);
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(lines.join('\n'), SECTION_MAX) } };
}

/** An incident message: the title, the incident's facts, the text, and a button to the incident. */
function incidentSlackPayload(m: NonNullable<Notification['incident']>, config: SlackConfig): SlackPayload {
  const heading = incidentTitle(m);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(heading, HEADER_MAX) } },
    {
      type: 'section',
      fields: incidentFacts(m).map((f) => ({
        type: 'mrkdwn',
        text: `*${f.title}*\n${escapeMrkdwn(f.value)}`,
      })),
    },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(m.text), SECTION_MAX) } },
  ];
  if (isHttpUrl(m.url))
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: `Open ${m.id}` }, url: m.url }],
    });
  return { text: heading, ...(config.channel && { channel: config.channel }), blocks };
}

export function slackPayload(n: Notification, config: SlackConfig): SlackPayload {
  if (n.incident) return incidentSlackPayload(n.incident, config);
  const heading = title(n);
  const fields: Text[] = [
    { type: 'mrkdwn', text: `*Service*\n${escapeMrkdwn(groupValue(n, 'service') ?? '-')}` },
    { type: 'mrkdwn', text: `*Severity*\n${escapeMrkdwn(groupValue(n, 'severity') ?? '-')}` },
  ];
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(heading, HEADER_MAX) } },
    { type: 'section', fields },
    ...n.alerts.slice(0, ALERTS_SHOWN).map((alert) => alertSection(n, alert)),
  ];
  if (n.alerts.length > ALERTS_SHOWN)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `and ${n.alerts.length - ALERTS_SHOWN} more alerts` }],
    });
  if (isHttpUrl(n.externalUrl))
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', text: { type: 'plain_text', text: 'Open in Opsbook' }, url: n.externalUrl },
      ],
    });
  const summary = summaryOf(n, n.alerts.length === 1 ? n.alerts[0] : undefined);
  return {
    text: summary ? `${heading}: ${summary}` : heading,
    ...(config.channel && { channel: config.channel }),
    blocks,
  };
}

export const slackChannel: Channel<SlackConfig, SlackPayload> = {
  render: (notification, config) => slackPayload(notification, config),
  send: (payload, config, { signal }) => postJson(config.url, payload, { signal }),
  target: (config) => `${originOnly(config.url)}${config.channel ? ` ${config.channel}` : ''}`,
  secrets: (config) => urlSecrets(config.url, { path: true }),
};
