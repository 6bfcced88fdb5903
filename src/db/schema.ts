import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { SchemaLocationFields, SchemaModelMetrics, SchemaScope, SchemaUserFields } from '../generated/api.js';

/** A timestamp column the database fills in. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;

export type BudgetPeriod = 'day' | 'week' | 'month';

export type ApiKeyOrigin = 'api' | 'cli' | 'admin_token' | 'bootstrap';

export interface ApiKeysTable {
  id: string;
  seq: Generated<string>;
  name: string;
  owner: string;
  /** The spec's Scope values: the API validates them and nothing else writes the column. */
  scopes: SchemaScope[];
  token_hash: Uint8Array;
  token_hint: string;
  origin: ApiKeyOrigin;
  rate_limit_per_minute: number | null;
  /** Gateway models the key may use; null for all. */
  models: string[] | null;
  /** bigint: read as a string. */
  token_budget: ColumnType<string | null, number | null | undefined, number | null>;
  budget_period: BudgetPeriod | null;
  tokens_per_minute: number | null;
  created_at: CreatedAt;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export type JsonObject = { [key: string]: unknown };

export interface EventsTable {
  /** bigint identity; node-postgres and PGlite both read int8 as a string here. */
  id: Generated<string>;
  xid: Generated<string>;
  owner: string;
  event_id: string;
  event_type: string;
  event_data: ColumnType<JsonObject, string, string>;
  source: 'client' | 'system';
  received_at: CreatedAt;
}

export interface RateLimitWindowsTable {
  key: string;
  window_start: Date;
  hits: number;
}

/** A location: the spec's LocationFields, with its id and bookkeeping. */
export interface LocationsTable extends SchemaLocationFields {
  location_id: number;
  deleted_at: Date | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A stored search: the spec's UserFields, with its id and owner. */
export interface UserDataTable extends SchemaUserFields {
  user_id: Generated<number>;
  owner: string;
  created_at: CreatedAt;
}

export type TaskType = 'inference' | 'training';
export type TaskState = 'PENDING' | 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED';

export interface TasksTable {
  task_id: string;
  seq: Generated<string>;
  type: TaskType;
  owner: string;
  status: TaskState;
  progress: Generated<number>;
  user_id: number | null;
  params: ColumnType<JsonObject | null, string | null, string | null>;
  model_id: string | null;
  model_version: number | null;
  error: string | null;
  attempts: Generated<number>;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface TaskResultsTable {
  task_id: string;
  location_ids: number[];
  scores: number[];
  /** Ranks (1-based) of the exploration slots. */
  exploration_ranks: Generated<number[]>;
  shown_count: Generated<number>;
  created_at: CreatedAt;
}

export interface SelectionsTable {
  task_id: string;
  owner: string;
  location_id: number;
  rank: number | null;
  selected_at: ColumnType<Date, Date | undefined, Date>;
}

export type ModelStatus = 'active' | 'standby' | 'rejected' | 'challenger' | 'retired';
export type ModelKind = 'hand-set' | 'logistic-regression' | 'neural-network';

/** Hold-out metrics, as the training code computes them (src/ml) and the spec shows them. */
export type StoredMetrics = SchemaModelMetrics;

/** Why a newly trained model was or was not activated. */
export interface ActivationRecord {
  policy: 'always' | 'if_better' | 'never' | 'online';
  decision: 'activated' | 'kept_previous' | 'challenger';
  metric: 'auc';
  new_value: number | null;
  previous_model_id: string | null;
  previous_value: number | null;
  decided_at: string;
}

/** One side's sums of reciprocal ranks: answers, sum, sum of squares. */
export interface ArmSnapshot {
  feedback: number;
  reciprocal_rank_sum: number;
  reciprocal_rank_sq_sum: number;
}

/** A challenger's test: the champion beside it, that champion's sums when it began, and the outcome. */
export interface ChallengeRecord {
  champion_model_id: string;
  started_at: string;
  champion_baseline: ArmSnapshot;
  result: {
    decision: 'promoted' | 'retired';
    decided_at: string;
    champion: ArmSnapshot;
    challenger: ArmSnapshot;
    difference: number | null;
    likelihood_ratio: number | null;
    threshold: number;
    /** Why, when not the test itself (a manual activation, a newer challenger). */
    note: string | null;
  } | null;
}

export interface ModelsTable {
  model_id: string;
  version: number;
  kind: ModelKind;
  status: ModelStatus;
  active: Generated<boolean>;
  artifact: ColumnType<JsonObject, string, string>;
  metrics: ColumnType<StoredMetrics | null, string | null, string | null>;
  activation: ColumnType<ActivationRecord | null, string | null, string | null>;
  challenge: ColumnType<ChallengeRecord | null, string | null | undefined, string | null>;
  training_task_id: string | null;
  labels_used: Generated<number>;
  created_at: CreatedAt;
  activated_at: Date | null;
}

/** Running sums of a version's online figures (see ModelOnline in the spec). */
export interface ModelOnlineTable {
  model_id: string;
  tasks: ColumnType<string, string | number | undefined, string | number>;
  feedback: ColumnType<string, string | number | undefined, string | number>;
  selections: ColumnType<string, string | number | undefined, string | number>;
  /** Feedback whose pick was in the top 10. */
  hits: ColumnType<string, string | number | undefined, string | number>;
  reciprocal_rank_sum: ColumnType<number, number | undefined, number>;
  reciprocal_rank_sq_sum: ColumnType<number, number | undefined, number>;
}

export type ActivationReason = 'initial' | 'offline' | 'online' | 'manual';
export type ActivationChange = 'activated' | 'challenger_started' | 'promoted' | 'retired';

export interface ModelActivationsTable {
  activation_id: Generated<string>;
  model_id: string;
  previous_model_id: string | null;
  change: ActivationChange;
  /** An API key id, or `auto`. */
  actor: string;
  reason: ActivationReason;
  note: string | null;
  figures: ColumnType<Record<string, number | null>, string | undefined, string>;
  activated_at: CreatedAt;
}

export interface TaskEventsTable {
  id: Generated<string>;
  task_id: string;
  status: TaskState;
  progress: number;
  data: ColumnType<JsonObject, string | undefined, string>;
  created_at: CreatedAt;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ConversationsTable {
  conversation_id: string;
  owner: string;
  title: string;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface ChatMessagesTable {
  message_id: string;
  seq: Generated<string>;
  conversation_id: string;
  role: 'user' | 'assistant';
  content: string;
  model: string | null;
  usage: ColumnType<ChatUsage | null, string | null, string | null>;
  complete: boolean;
  created_at: CreatedAt;
}

/** bigint counters, read as strings by node-postgres and PGlite. */
type Count = ColumnType<string, number, number>;

export interface GatewayUsageTable {
  key_id: string;
  owner: string;
  model: string;
  /** A UTC day, as 'YYYY-MM-DD'. */
  day: string;
  requests: Count;
  prompt_tokens: Count;
  completion_tokens: Count;
  total_tokens: Count;
  errors: Count;
  estimated: boolean;
}

export type TokenPeriod = 'minute' | BudgetPeriod;

export interface TokenWindowsTable {
  key_id: string;
  period: TokenPeriod;
  window_start: Date;
  tokens: Count;
}

export interface Tables {
  api_keys: ApiKeysTable;
  events: EventsTable;
  rate_limit_windows: RateLimitWindowsTable;
  locations: LocationsTable;
  user_data: UserDataTable;
  tasks: TasksTable;
  task_results: TaskResultsTable;
  selections: SelectionsTable;
  models: ModelsTable;
  model_online: ModelOnlineTable;
  model_activations: ModelActivationsTable;
  task_events: TaskEventsTable;
  conversations: ConversationsTable;
  chat_messages: ChatMessagesTable;
  gateway_usage: GatewayUsageTable;
  token_windows: TokenWindowsTable;
}

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKey = Insertable<ApiKeysTable>;
export type EventRow = Selectable<EventsTable>;
export type LocationRow = Selectable<LocationsTable>;
export type UserDataRow = Selectable<UserDataTable>;
export type NewUserData = Insertable<UserDataTable>;
export type TaskRow = Selectable<TasksTable>;
export type NewTask = Insertable<TasksTable>;
export type TaskResultRow = Selectable<TaskResultsTable>;
export type SelectionRow = Selectable<SelectionsTable>;
export type ModelRow = Selectable<ModelsTable>;
export type ModelOnlineRow = Selectable<ModelOnlineTable>;
export type ModelActivationRow = Selectable<ModelActivationsTable>;
export type TaskEventRow = Selectable<TaskEventsTable>;
export type ConversationRow = Selectable<ConversationsTable>;
export type ChatMessageRow = Selectable<ChatMessagesTable>;
