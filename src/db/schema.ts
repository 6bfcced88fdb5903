import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A timestamp column the database fills in. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;

export type ApiKeyOrigin = 'api' | 'cli' | 'admin_token' | 'bootstrap';

export interface ApiKeysTable {
  id: string;
  seq: Generated<string>;
  name: string;
  owner: string;
  scopes: string[];
  token_hash: Uint8Array;
  token_hint: string;
  origin: ApiKeyOrigin;
  rate_limit_per_minute: number | null;
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

export interface LocationsTable {
  location_id: number;
  children: boolean;
  breakfast: boolean;
  lunch: boolean;
  dinner: boolean;
  price: number;
  has_pool: boolean;
  has_spa: boolean;
  animals: boolean;
  near_lake: boolean;
  near_mountains: boolean;
  has_sport: boolean;
  family_rating: number;
  outdoor_rating: number;
  food_rating: number;
  leisure_rating: number;
  service_rating: number;
  user_score: number;
  deleted_at: Date | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface UserDataTable {
  user_id: Generated<number>;
  owner: string;
  name: string;
  people_num: number;
  people_age: number[];
  children_num: number;
  budget: number;
  nights: number;
  /** A calendar date, YYYY-MM-DD (read as a string on both engines). */
  time_arrival: string;
  pool: boolean;
  spa: boolean;
  pet_friendly: boolean;
  lake: boolean;
  mountain: boolean;
  sport: boolean;
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

export type ModelStatus = 'active' | 'standby' | 'rejected';
export type ModelKind = 'hand-set' | 'logistic-regression' | 'neural-network';

/** Hold-out metrics, as the training code computes them (src/ml). */
export interface StoredMetrics {
  auc: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  log_loss: number;
  holdout_examples: number;
  holdout_positives: number;
}

/** Why a newly trained model was or was not activated. */
export interface ActivationRecord {
  policy: 'always' | 'if_better' | 'never';
  decision: 'activated' | 'kept_previous';
  metric: 'auc';
  new_value: number | null;
  previous_model_id: string | null;
  previous_value: number | null;
  decided_at: string;
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
  training_task_id: string | null;
  labels_used: Generated<number>;
  created_at: CreatedAt;
  activated_at: Date | null;
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
  task_events: TaskEventsTable;
  conversations: ConversationsTable;
  chat_messages: ChatMessagesTable;
}

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKey = Insertable<ApiKeysTable>;
export type ApiKeyUpdate = Updateable<ApiKeysTable>;
export type EventRow = Selectable<EventsTable>;
export type NewEvent = Insertable<EventsTable>;
export type LocationRow = Selectable<LocationsTable>;
export type UserDataRow = Selectable<UserDataTable>;
export type NewUserData = Insertable<UserDataTable>;
export type TaskRow = Selectable<TasksTable>;
export type NewTask = Insertable<TasksTable>;
export type TaskResultRow = Selectable<TaskResultsTable>;
export type SelectionRow = Selectable<SelectionsTable>;
export type ModelRow = Selectable<ModelsTable>;
export type NewModel = Insertable<ModelsTable>;
export type TaskEventRow = Selectable<TaskEventsTable>;
export type ConversationRow = Selectable<ConversationsTable>;
export type ChatMessageRow = Selectable<ChatMessagesTable>;
