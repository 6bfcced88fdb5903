import type { SchemaFieldError } from '../generated/api.js';
import { schemaFacts } from '../generated/constants.js';

/** One invalid part of a request: where it was sent, a JSON Pointer into it, and what is wrong. */
export type FieldIssue = SchemaFieldError;

/** Invalid fields an answer lists at most (the spec's Problem.errors maxItems); `error_count` tells how many there were. */
export const MAX_FIELD_ERRORS = schemaFacts.Problem.errors.maxItems;
/** Invalid fields counted at most (the spec's Problem.error_count maximum): looking further only costs. */
export const MAX_COUNTED_ERRORS = schemaFacts.Problem.error_count.maximum;

/**
 * The failures the service knows, in its own terms. Each kind has exactly one look on the wire,
 * decided by the HTTP layer's error mapper (src/http/errors.ts): a problem+json type and status, or
 * OpenAI's error object on the OpenAI-compatible routes.
 */
export type DomainErrorKind =
  | 'validation'
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'idempotency_conflict'
  | 'task_not_ready'
  | 'unprocessable'
  | 'not_enough_labels'
  | 'rate_limited'
  | 'client_closed'
  | 'not_implemented'
  | 'upstream'
  | 'unavailable'
  | 'upstream_timeout';

export interface DomainErrorDetails {
  /** Every invalid field (validation, unprocessable). */
  fields?: FieldIssue[];
  /** When retrying makes sense, how long to wait. */
  retryAfterSeconds?: number;
  /** The scope an operation needs (insufficient_scope). */
  scope?: string;
  /** Documented extension members of the answer, such as `current_status`. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An error a repository, service or handler throws when a request cannot be served as asked.
 * Anything else that escapes is a bug (500) or an unreachable database (503).
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly fields: FieldIssue[] | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly scope: string | undefined;
  readonly extensions: Record<string, unknown>;

  constructor(
    readonly kind: DomainErrorKind,
    detail: string,
    details: DomainErrorDetails = {},
  ) {
    super(detail, details.cause === undefined ? undefined : { cause: details.cause });
    this.fields = details.fields;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.scope = details.scope;
    this.extensions = details.extensions ?? {};
  }

  static notFound(detail: string): DomainError {
    return new DomainError('not_found', detail);
  }

  static conflict(detail: string): DomainError {
    return new DomainError('conflict', detail);
  }

  /**
   * The request breaks a rule: every broken field at once, up to MAX_FIELD_ERRORS of them. `found`
   * is how many were found, when the caller stopped collecting them at the cap.
   */
  static validation(fields: FieldIssue[], found: number = fields.length): DomainError {
    const listed = fields.slice(0, MAX_FIELD_ERRORS);
    const count = Math.min(found, MAX_COUNTED_ERRORS);
    const many = count === MAX_COUNTED_ERRORS ? `${count} or more` : String(count);
    const detail = `The request has ${many} invalid field${count === 1 ? '' : 's'}${count > listed.length ? `; the first ${listed.length} are listed` : ''}.`;
    return new DomainError('validation', detail, { fields: listed, ...(count > listed.length ? { extensions: { error_count: count } } : {}) });
  }

  static unprocessable(detail: string, fields?: FieldIssue[]): DomainError {
    return new DomainError('unprocessable', detail, fields ? { fields } : {});
  }

  static unavailable(detail: string, retryAfterSeconds?: number): DomainError {
    return new DomainError('unavailable', detail, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
  }
}
