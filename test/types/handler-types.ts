/**
 * Compile-time tests of handler typing (checked by `make typecheck`): each @ts-expect-error line
 * must fail to compile, or tsc reports the directive as unused.
 *
 * Handlers annotate their return type (`Promise<Reply<'operationId'>>`) so that TypeScript also
 * rejects fields the spec does not declare, which it checks only against declared return types.
 */
import type { Handlers, Reply } from '../../src/http/operations.js';

export const handlers = {
  getHealth: async (): Promise<Reply<'getHealth'>> => ({
    status: 200,
    body: { status: 'healthy', version: '1.0.0', uptime_seconds: 1 },
  }),
} satisfies Handlers;

export async function undeclaredStatus(): Promise<Reply<'getHealth'>> {
  // @ts-expect-error 201 is not a response of getHealth
  return { status: 201, body: { status: 'healthy', version: '1.0.0', uptime_seconds: 1 } };
}

export async function wrongFieldType(): Promise<Reply<'getHealth'>> {
  // @ts-expect-error version must be a string
  return { status: 200, body: { status: 'healthy', version: 1, uptime_seconds: 1 } };
}

export async function missingField(): Promise<Reply<'getHealth'>> {
  // @ts-expect-error uptime_seconds is required
  return { status: 200, body: { status: 'healthy', version: '1.0.0' } };
}

export async function extraField(): Promise<Reply<'getHealth'>> {
  // @ts-expect-error the spec does not allow extra fields
  return { status: 200, body: { status: 'healthy', version: '1.0.0', uptime_seconds: 1, secret: 'x' } };
}

export async function wrongConst(): Promise<Reply<'getHealth'>> {
  // @ts-expect-error status is the constant "healthy"
  return { status: 200, body: { status: 'sick', version: '1.0.0', uptime_seconds: 1 } };
}

export async function noContentWithBody(): Promise<Reply<'revokeApiKey'>> {
  // @ts-expect-error a 204 has no body
  return { status: 204, body: { revoked: true } };
}

export const typedInput = {
  getApiKey: async ({ path }) => {
    const id: string = path.key_id;
    // @ts-expect-error getApiKey has no query parameters
    void path.limit;
    throw new Error(id);
  },
  listApiKeys: async ({ query }) => {
    // @ts-expect-error limit is a number, not a string
    const wrong: string = query.limit;
    throw new Error(wrong);
  },
  listEvents: async ({ query }) => {
    // The spec defaults limit and the validator fills it in: always a number, never undefined.
    const limit: number = query.limit;
    // @ts-expect-error cursor has no default: it may be absent
    const cursor: string = query.cursor;
    throw new Error(`${limit} ${cursor}`);
  },
  streamChat: async ({ body }) => {
    const defaults: [number, number] = [body.temperature, body.max_tokens];
    // @ts-expect-error conversation_id has no default
    const conversation: string = body.conversation_id;
    throw new Error(`${defaults.join()} ${conversation}`);
  },
  startTraining: async ({ body }) => {
    // @ts-expect-error the body is optional: without one there is nothing to fill in
    const epochs: number = body.epochs;
    const given: number | undefined = body?.epochs;
    throw new Error(`${epochs} ${given}`);
  },
  // @ts-expect-error a handler for an operation the spec does not have
  getNothing: async () => ({ status: 200, body: {} }),
} satisfies Handlers;
