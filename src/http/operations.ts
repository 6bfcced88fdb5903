/**
 * Handler types derived from the generated `operations`, so that a handler's input is what the
 * spec validated and a handler can only return a status and body its operation declares.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { operations } from '../generated/api.js';
import type { DefaultsOf, Filled } from '../domain/defaults.js';
import type { EventStream } from '../streams/event-stream.js';

export type OperationId = keyof operations;
type Operation<K extends OperationId> = operations[K];

/** An absent (`never`) parameter group becomes an empty object. */
type Present<T> = [NonNullable<T>] extends [never] ? Record<string, never> : NonNullable<T>;
type ContentOf<T> = T extends { content: infer C } ? C : never;
type BodyContent<K extends OperationId> = ContentOf<NonNullable<Operation<K>['requestBody']>>;

export type PathParams<K extends OperationId> = Present<Operation<K>['parameters']['path']>;
export type QueryParams<K extends OperationId> = Present<Operation<K>['parameters']['query']>;
export type RequestBody<K extends OperationId> = [BodyContent<K>] extends [never]
  ? undefined
  : BodyContent<K>[keyof BodyContent<K>] | (undefined extends Operation<K>['requestBody'] ? undefined : never);

type Responses<K extends OperationId> = Operation<K>['responses'];
type SuccessStatus<K extends OperationId> = Extract<keyof Responses<K>, 200 | 201 | 202 | 204>;
type ReplyHeaders = Record<string, string>;

type ReplyFor<S, R> = [ContentOf<R>] extends [never]
  ? { status: S; headers?: ReplyHeaders; body?: undefined }
  : {
      [M in keyof ContentOf<R>]: M extends 'text/event-stream'
        ? { status: S; headers?: ReplyHeaders; stream: EventStream }
        : { status: S; headers?: ReplyHeaders; body: ContentOf<R>[M] };
    }[keyof ContentOf<R>];

/** What a handler returns: one of its operation's success responses. Errors are thrown as DomainError (src/domain/errors.ts). */
export type Reply<K extends OperationId> = { [S in SuccessStatus<K>]: ReplyFor<S, Responses<K>[S]> }[SuccessStatus<K>];

export interface HandlerInput<K extends OperationId> {
  path: PathParams<K>;
  query: Filled<QueryParams<K>, DefaultsOf<K, 'query'>>;
  body: Filled<RequestBody<K>, DefaultsOf<K, 'body'>>;
  headers: IncomingHttpHeaders;
}

export interface HandlerContext {
  readonly requestId: string;
  readonly log: Logger;
  /** The authenticated caller. Only operations with `security: []` have none (reading it throws). */
  readonly principal: Principal;
  /** Aborted when the client disconnects. */
  readonly signal: AbortSignal;
  /** Aborted when the server begins shutting down. */
  readonly shutdownSignal: AbortSignal;
  readonly req: Request;
  readonly res: Response;
}

export type OperationHandler<K extends OperationId> = (input: HandlerInput<K>, ctx: HandlerContext) => Promise<Reply<K>>;

/** Handlers by operationId. A spec operation without one answers 501. */
export type Handlers = { [K in OperationId]?: OperationHandler<K> };
