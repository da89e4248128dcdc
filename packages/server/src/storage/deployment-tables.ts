// Deployments recorded by pipelines and people (portable types, DESIGN 5).

export interface DeploymentsTable {
  /** <service>-<UTC stamp>-<4 hex>: readable and sortable. */
  id: string;
  service: string;
  version: string;
  environment: string;
  description: string | null;
  /** Link to the pipeline run or change request. */
  url: string | null;
  /** in_progress | succeeded | failed | rolled_back */
  status: string;
  started_at: number;
  finished_at: number | null;
  /** Who deployed; null when nobody was named. */
  by: string | null;
  created_at: number;
  updated_at: number;
}

export interface DeploymentTables {
  deployments: DeploymentsTable;
}
