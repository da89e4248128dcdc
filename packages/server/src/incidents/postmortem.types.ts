import type {
  ActionItemPriority,
  ActionItemStatus,
  ActionItemView,
  PostmortemStatus,
  PostmortemView,
} from '@opsbook/contracts';

export type { ActionItemPriority, ActionItemStatus, PostmortemStatus };

/** An action item (follow-up) as served: `overdue` is computed when read. */
export type ActionItem = ActionItemView;

/** The stored post-mortem, without what is derived when it is read. */
export type Postmortem = Omit<PostmortemView, 'required' | 'dueAt' | 'overdue' | 'actionItems'>;

export type PostmortemWithItems = PostmortemView;

/** A PUT body: fields left out keep their value. */
export interface PostmortemPatch {
  status?: PostmortemStatus;
  summary?: string;
  impact?: string;
  rootCause?: string;
  trigger?: string;
  resolution?: string;
  lessons?: { wentWell?: string; wentWrong?: string; gotLucky?: string };
  author?: string | null;
  version?: number;
  actor: string;
}

export interface ActionItemInput {
  title: string;
  owner: string;
  /** Epoch ms, an ISO 8601 time, or a day (the end of it, UTC). */
  dueAt?: number | string | null;
  priority?: ActionItemPriority;
  link?: string | null;
  actor: string;
}

export interface ActionItemPatch {
  title?: string;
  owner?: string;
  dueAt?: number | string | null;
  priority?: ActionItemPriority;
  status?: ActionItemStatus;
  link?: string | null;
  actor: string;
}

export interface ActionItemListFilter {
  status?: ActionItemStatus;
  owner?: string;
  overdue?: boolean;
  incidentId?: string;
  limit?: number;
}
