import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ApiKeyVerifier } from '../auth/api-key-verifier.js';
import { hasScope, type Principal } from '../auth/principal.js';
import type { ChatService } from '../chat/chat-service.js';
import { DomainError } from '../domain/errors.js';
import type { BodyBounds } from './body-bounds.js';
import { isServerFault, rawErrorAnswer, toProblem } from './errors.js';
import { unstorableInput } from './input-guard.js';
import type { BodyCheck, SchemaValidator } from './schemas.js';

export const CHAT_SOCKET_PATH = '/ws/chat';

/**
 * /ws/chat: the chat frames of POST /chat/stream over a WebSocket. The bearer token comes in the
 * Authorization header or, for browsers (which cannot set headers on a WebSocket), the `token` query
 * parameter; it needs the `chat` scope. Each text message is a ChatRequest (validated against the
 * spec); each frame of the answer comes back as one JSON text message. One answer at a time per
 * socket; closing the socket aborts the answer and its upstream request.
 */
export function chatSocket(deps: { verifier: ApiKeyVerifier; chat: ChatService; validator: SchemaValidator; bodyBounds: BodyBounds; log: Logger; shutdown: AbortSignal }) {
  const server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  const serve = (socket: WebSocket, principal: Principal) => {
    let current: AbortController | undefined;
    const send = (frame: object) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
    };
    socket.on('close', () => current?.abort());
    // A frame that breaks the protocol (too large, not UTF-8, bad opcode): ws has already sent the
    // close code; without a listener the 'error' event would crash the process.
    socket.on('error', (error) => deps.log.info({ err: error.message }, 'websocket chat closed on a protocol error'));
    socket.on('message', (data, isBinary) => {
      if (current) return send({ type: 'error', message: 'One message at a time: wait for the done or error frame.' });
      if (isBinary) return send({ type: 'error', message: 'Invalid ChatRequest: / must be a JSON text message' });
      // The same strict JSON and the same bounds as POST /chat/stream's body, then its schema.
      let checked: BodyCheck<'streamChat'>;
      try {
        const body = deps.bodyBounds.parse('streamChat', Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]));
        checked = deps.validator.body('streamChat', body);
        // What no operation can store (U+0000), as dispatch checks it for POST /chat/stream.
        const unstorable = checked.ok ? unstorableInput({ path: {}, query: {}, body }) : [];
        if (unstorable.length > 0) checked = { ok: false, errors: unstorable };
      } catch (error) {
        const problem = toProblem(error);
        if (isServerFault(problem)) deps.log.error({ err: error }, 'websocket chat message failed unexpectedly');
        checked = { ok: false, errors: problem.fields ?? [{ location: 'body', pointer: '/', message: problem.detail }] };
      }
      if (!checked.ok) return send({ type: 'error', message: `Invalid ChatRequest: ${checked.errors.map((error) => `${error.pointer} ${error.message}`).join('; ')}` });
      const controller = new AbortController();
      current = controller;
      void (async () => {
        try {
          const turn = await deps.chat.begin(principal, checked.body, 'ws');
          for await (const frame of deps.chat.answer(turn, controller.signal)) send(frame);
        } catch (error) {
          const problem = toProblem(error);
          if (isServerFault(problem)) deps.log.error({ err: error }, 'websocket chat failed unexpectedly');
          send({ type: 'error', message: problem.detail });
        } finally {
          current = undefined;
        }
      })();
    });
  };

  deps.shutdown.addEventListener('abort', () => {
    for (const client of server.clients) client.close(1001, 'The server is shutting down');
  });

  return async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    // A refused upgrade is an ordinary HTTP answer, from the same mapper as every other error.
    const reject = (error: unknown) => {
      const problem = toProblem(error);
      if (isServerFault(problem)) deps.log.error({ err: error }, 'websocket upgrade failed unexpectedly');
      socket.end(rawErrorAnswer(problem, (req.url ?? '/').split('?')[0] ?? '/', randomUUID()));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== CHAT_SOCKET_PATH) return reject(DomainError.notFound('No operation exists at this path.'));
    // The scheme is case-insensitive (RFC 9110), as passport-http-bearer reads it on HTTP routes.
    const bearer = /^bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? url.searchParams.get('token');
    let principal: Principal | undefined;
    try {
      principal = token ? await deps.verifier.verify(token) : undefined;
    } catch (error) {
      return reject(error);
    }
    if (!principal) return reject(new DomainError('invalid_token', 'A valid bearer token is required.'));
    if (!hasScope(principal, 'chat')) return reject(new DomainError('insufficient_scope', 'This operation needs the chat scope.', { scope: 'chat' }));
    const authorized = principal;
    server.handleUpgrade(req, socket, head, (client) => serve(client, authorized));
  };
}
