// Microsoft Teams incoming webhook (Workflows or connector): an Adaptive Card in a message envelope.
import type { AlertSnapshot } from '../../alerts/alert.types.js';
import { incidentFacts, incidentTitle } from '../incident-message.js';
import type { Notification } from '../notification.types.js';
import {
  alertName,
  descriptionOf,
  distinguishingLabels,
  firing,
  groupValue,
  isHttpUrl,
  iso,
  resolved,
  summaryOf,
  title,
} from '../payloads.js';
import { originOnly, urlSecrets, type Channel, type ChannelConfig } from './channel.js';
import { postJson } from './http.js';

type TeamsConfig = ChannelConfig<'teams'>;

export type CardElement =
  | {
      type: 'TextBlock';
      text: string;
      wrap: true;
      weight?: 'Bolder';
      size?: 'Medium' | 'Large';
      color?: 'Attention' | 'Good' | 'Default';
      isSubtle?: boolean;
      spacing?: 'Medium';
      separator?: boolean;
    }
  | { type: 'FactSet'; facts: { title: string; value: string }[] };

export interface AdaptiveCard {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  type: 'AdaptiveCard';
  version: '1.4';
  body: CardElement[];
  actions: { type: 'Action.OpenUrl'; title: string; url: string }[];
  msteams: { width: 'Full' };
}

export interface TeamsPayload {
  type: 'message';
  attachments: {
    contentType: 'application/vnd.microsoft.card.adaptive';
    contentUrl: null;
    content: AdaptiveCard;
  }[];
}

const ALERTS_SHOWN = 10;

function alertBlocks(n: Notification, alert: AlertSnapshot): CardElement[] {
  const labels = distinguishingLabels(n, alert);
  const blocks: CardElement[] = [
    {
      type: 'TextBlock',
      text: `**${alert.status === 'firing' ? 'Firing' : 'Resolved'}:** ${alertName(n)}${labels ? ` (${labels})` : ''}`,
      wrap: true,
      spacing: 'Medium',
      separator: true,
    },
  ];
  const summary = summaryOf(n, alert);
  const description = descriptionOf(n, alert);
  if (summary) blocks.push({ type: 'TextBlock', text: summary, wrap: true });
  if (description) blocks.push({ type: 'TextBlock', text: description, wrap: true, isSubtle: true });
  blocks.push({
    type: 'TextBlock',
    text: `Started ${iso(alert.startsAt)}${alert.endsAt !== null ? `, resolved ${iso(alert.endsAt)}` : ''}`,
    wrap: true,
    isSubtle: true,
  });
  return blocks;
}

/** An incident message: the title (red for a page, green for a resolve), the facts and the text. */
function incidentBody(m: NonNullable<Notification['incident']>): CardElement[] {
  return [
    {
      type: 'TextBlock',
      text: incidentTitle(m),
      wrap: true,
      weight: 'Bolder',
      size: 'Medium',
      color: m.kind === 'page' ? 'Attention' : m.kind === 'resolved' ? 'Good' : 'Default',
    },
    { type: 'FactSet', facts: incidentFacts(m) },
    { type: 'TextBlock', text: m.text, wrap: true, spacing: 'Medium', separator: true },
  ];
}

function card(body: CardElement[], actions: AdaptiveCard['actions']): TeamsPayload {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions,
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}

export function teamsPayload(n: Notification): TeamsPayload {
  if (n.incident) {
    const m = n.incident;
    const open = isHttpUrl(m.url)
      ? [{ type: 'Action.OpenUrl' as const, title: `Open ${m.id}`, url: m.url }]
      : [];
    return card(incidentBody(m), open);
  }
  const body: CardElement[] = [
    {
      type: 'TextBlock',
      text: title(n),
      wrap: true,
      weight: 'Bolder',
      size: 'Medium',
      color: n.status === 'firing' ? 'Attention' : 'Good',
    },
    {
      type: 'FactSet',
      facts: [
        { title: 'Service', value: groupValue(n, 'service') ?? '-' },
        { title: 'Severity', value: groupValue(n, 'severity') ?? '-' },
        { title: 'Firing', value: String(firing(n).length) },
        { title: 'Resolved', value: String(resolved(n).length) },
      ],
    },
    ...n.alerts.slice(0, ALERTS_SHOWN).flatMap((alert) => alertBlocks(n, alert)),
  ];
  if (n.alerts.length > ALERTS_SHOWN)
    body.push({ type: 'TextBlock', text: `and ${n.alerts.length - ALERTS_SHOWN} more alerts`, wrap: true });
  const actions: AdaptiveCard['actions'] = [];
  if (isHttpUrl(n.externalUrl))
    actions.push({ type: 'Action.OpenUrl', title: 'Open in Opsbook', url: n.externalUrl });
  const source = n.alerts.find((a) => isHttpUrl(a.generatorUrl))?.generatorUrl;
  if (source) actions.push({ type: 'Action.OpenUrl', title: 'Source', url: source });
  return card(body, actions);
}

export const teamsChannel: Channel<TeamsConfig, TeamsPayload> = {
  render: (notification) => teamsPayload(notification),
  send: (payload, config, { signal }) => postJson(config.url, payload, { signal }),
  target: (config) => originOnly(config.url),
  secrets: (config) => urlSecrets(config.url, { path: true }),
};
