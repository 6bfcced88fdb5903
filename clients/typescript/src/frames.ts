/**
 * Runtime checks of the JSON in server-sent frames, so that the typed iterators only hand out
 * frames that have the shape their type promises.
 */
import type { components } from './generated/api.js';

type Schemas = components['schemas'];
export type ChatFrame = Schemas['ChatTokenFrame'] | Schemas['ChatDoneFrame'] | Schemas['ChatErrorFrame'];

type Kind = 'string' | 'number' | 'object';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is an object whose listed fields have the listed kinds. */
function hasFields(value: unknown, fields: Record<string, Kind>): value is Record<string, unknown> {
  return isRecord(value) && Object.entries(fields).every(([name, kind]) => (kind === 'object' ? isRecord(value[name]) : typeof value[name] === kind));
}

// Records rather than arrays: a value added to one of these enums in the spec fails to compile here.
const TASK_STATES: Record<Schemas['TaskState'], true> = { PENDING: true, STARTED: true, RETRY: true, SUCCESS: true, FAILURE: true, REVOKED: true };
const TASK_TYPES: Record<Schemas['TaskEventFrame']['type'], true> = { inference: true, training: true };
const EVENT_SOURCES: Record<Schemas['EventSource'], true> = { client: true, system: true };

function isOneOf(value: unknown, values: Record<string, true>): boolean {
  return typeof value === 'string' && Object.hasOwn(values, value);
}

export function isChatFrame(value: unknown): value is ChatFrame {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'token':
      return hasFields(value, { content: 'string', conversation_id: 'string' });
    case 'done':
      return hasFields(value, { conversation_id: 'string', message_id: 'string', model: 'string', usage: 'object', finish_reason: 'string' })
        && hasFields(value.usage, { prompt_tokens: 'number', completion_tokens: 'number', total_tokens: 'number' });
    case 'error':
      return hasFields(value, { message: 'string' });
    default:
      return false;
  }
}

/** A frame of a kind this client does not know yet: skipped, so that newer servers stay usable. */
export function isUnknownChatFrame(value: unknown): boolean {
  return isRecord(value) && typeof value.type === 'string' && !['token', 'done', 'error'].includes(value.type);
}

export function isTaskEventFrame(value: unknown): value is Schemas['TaskEventFrame'] {
  return hasFields(value, { task_id: 'string', progress: 'number', data: 'object', created_at: 'string' })
    && isOneOf(value.status, TASK_STATES) && isOneOf(value.type, TASK_TYPES);
}

export function isEvent(value: unknown): value is Schemas['Event'] {
  return hasFields(value, { event_id: 'string', event_type: 'string', event_data: 'object', owner: 'string', received_at: 'string' })
    && isOneOf(value.source, EVENT_SOURCES);
}

/** The JSON of a `data:` field, or undefined when it is not JSON. */
export function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
