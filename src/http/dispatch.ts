import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { EventStream } from '../streams/event-stream.js';
import { serveEventStream } from './event-stream.js';
import type { HandlerContext, Handlers } from './operations.js';
import { unstorableInput } from './input-guard.js';
import { principalOf, requestIdOf, requestLogOf } from './request-context.js';
import { DomainError } from '../domain/errors.js';
import { isReference, type OpenApiOperation } from './spec.js';

/** What express-openapi-validator leaves on a request it matched to an operation. */
interface MatchedOperation {
  schema: OpenApiOperation;
  pathParams: Record<string, string>;
}

export function matchedOperation(req: Request): MatchedOperation | undefined {
  return (req as unknown as { openapi?: MatchedOperation }).openapi;
}

/**
 * The runtime view of a reply. Handlers are checked against their operation's `Reply<K>` at compile
 * time; here, where the operation is only known at run time, every reply has this shape.
 */
interface AnyReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  stream?: EventStream;
}
type AnyHandler = (
  input: { path: Record<string, string>; query: unknown; body: unknown; headers: Request['headers'] },
  ctx: HandlerContext,
) => Promise<AnyReply>;

export interface DispatchOptions {
  logger: Logger;
  /** Aborted when the server shuts down, so long-lived streams can send a last frame and end. */
  shutdownSignal: AbortSignal;
  heartbeatMs: number;
}

function mediaTypeOf(operation: OpenApiOperation, status: number): string | undefined {
  const response = operation.responses?.[String(status)];
  const content = response && !isReference(response) ? response.content : undefined;
  return content ? Object.keys(content)[0] : undefined;
}

/**
 * Routes every request the validator matched to the handler of its operationId. The validator has
 * already answered 404 and 405 and checked the request, so this only calls the handler and sends
 * its reply in the media type the spec declares for that status.
 */
export function dispatchOperations(handlers: Handlers, options: DispatchOptions): RequestHandler {
  const table = handlers as Record<string, AnyHandler | undefined>;
  return async (req: Request, res: Response, next: NextFunction) => {
    const matched = matchedOperation(req);
    if (!matched) return next();
    const operation = matched.schema;
    const handler = table[operation.operationId];
    if (!handler) {
      throw new DomainError('not_implemented', `The operation ${operation.operationId} is in the spec but not implemented yet.`);
    }
    // Created on first use: most handlers never need it, and it costs a listener.
    let clientGone: AbortController | undefined;
    const requestSignal = (): AbortSignal => {
      if (!clientGone) {
        const controller = new AbortController();
        res.on('close', () => {
          if (!res.writableFinished) controller.abort();
        });
        clientGone = controller;
      }
      return clientGone.signal;
    };
    const ctx: HandlerContext = {
      requestId: requestIdOf(req),
      get log() {
        return requestLogOf(req, options.logger);
      },
      get principal(): Principal {
        const principal = principalOf(req);
        if (!principal) throw new Error(`${operation.operationId} read the principal but is a public operation`);
        return principal;
      },
      get signal() {
        return requestSignal();
      },
      shutdownSignal: options.shutdownSignal,
      req,
      res,
    };
    const input = { path: matched.pathParams, query: req.query, body: req.body as unknown, headers: req.headers };
    const unstorable = unstorableInput(input);
    if (unstorable.length > 0) throw DomainError.validation(unstorable);
    const reply = await handler(input, ctx);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.stream) {
      await serveEventStream(res, reply.stream, { heartbeatMs: options.heartbeatMs, signal: requestSignal(), shutdown: options.shutdownSignal });
      return;
    }
    res.status(reply.status);
    const mediaType = mediaTypeOf(operation, reply.status);
    if (reply.body === undefined || mediaType === undefined) {
      res.end();
    } else if (mediaType === 'application/json') {
      res.json(reply.body);
    } else {
      res.type(mediaType).send(reply.body);
    }
  };
}
