// Post-mortems and their action items (follow-ups), one post-mortem per incident (portable types, DESIGN 5).

export interface PostmortemsTable {
  /** INC-<seq>; one post-mortem per incident. */
  incident_id: string;
  /** draft | in-review | published */
  status: string;
  summary: string;
  impact: string;
  root_cause: string;
  trigger: string;
  resolution: string;
  went_well: string;
  went_wrong: string;
  got_lucky: string;
  author: string | null;
  /** Raised on every change; a writer may send the version it read to refuse a lost update. */
  version: number;
  created_at: number;
  created_by: string;
  updated_at: number;
  updated_by: string;
  published_at: number | null;
  published_by: string | null;
}

export interface ActionItemsTable {
  /** AI-<seq> */
  id: string;
  seq: number;
  incident_id: string;
  title: string;
  owner: string;
  due_at: number | null;
  /** high | medium | low */
  priority: string;
  /** open | done | wont-do */
  status: string;
  link: string | null;
  created_at: number;
  created_by: string;
  updated_at: number;
  /** When and by whom it became done or wont-do; null while open. */
  done_at: number | null;
  done_by: string | null;
}

export interface PostmortemTables {
  postmortems: PostmortemsTable;
  action_items: ActionItemsTable;
}
