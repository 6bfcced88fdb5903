import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ApiKeyVerifier } from '../auth/api-key-verifier.js';
import { hasScope, type Principal } from '../auth/principal.js';
import { bearerChallenge } from '../http/problem.js';
import type { SchemaValidator } from '../http/schemas.js';
import type { SchemaChatRequest } from '../generated/api.js';
import type { ChatService } from './chat-service.js';

export const CHAT_SOCKET_PATH = '/ws/chat';

function reject(socket: Duplex, status: number, reason: string, challenge?: string): void {
  const body = JSON.stringify({ type: 'about:blank', title: reason, status, detail: reason });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      (challenge ? `WWW-Authenticate: ${challenge}\r\n` : '') +
      `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * /ws/chat: the chat frames of POST /chat/stream over a WebSocket. The bearer token comes in the
 * Authorization header or, for browsers (which cannot set headers on a WebSocket), the `token` query
 * parameter; it needs the `chat` scope. Each text message is a ChatRequest (validated against the
 * spec); each frame of the answer comes back as one JSON text message. One answer at a time per
 * socket; closing the socket aborts the answer and its upstream request.
 */
export function chatSocket(deps: { verifier: ApiKeyVerifier; chat: ChatService; validator: SchemaValidator; log: Logger; shutdown: AbortSignal }) {
  const server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  const serve = (socket: WebSocket, principal: Principal) => {
    let current: AbortController | undefined;
    const send = (frame: object) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
    };
    socket.on('close', () => current?.abort());
    socket.on('message', (data, isBinary) => {
      if (current) return send({ type: 'error', message: 'One message at a time: wait for the done or error frame.' });
      let body: unknown;
      try {
        body = isBinary ? undefined : JSON.parse(String(data));
      } catch {
        body = undefined;
      }
      const errors = body === undefined ? [{ pointer: '/', message: 'must be a JSON text message' }] : deps.validator.errors('ChatRequest', body);
      if (errors.length > 0) return send({ type: 'error', message: `Invalid ChatRequest: ${errors.map((error) => `${error.pointer} ${error.message}`).join('; ')}` });
      const controller = new AbortController();
      current = controller;
      void (async () => {
        try {
          const turn = await deps.chat.begin(principal, body as SchemaChatRequest);
          for await (const frame of deps.chat.answer(turn, controller.signal)) send(frame);
        } catch (error) {
          send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== CHAT_SOCKET_PATH) return reject(socket, 404, 'Not Found');
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
    let principal: Principal | undefined;
    try {
      principal = token ? await deps.verifier.verify(token) : undefined;
    } catch (error) {
      deps.log.warn({ err: error }, 'websocket authentication failed');
      return reject(socket, 503, 'Service Unavailable');
    }
    if (!principal) return reject(socket, 401, 'Unauthorized', bearerChallenge('invalid_token'));
    if (!hasScope(principal, 'chat')) return reject(socket, 403, 'Forbidden', bearerChallenge('insufficient_scope', 'chat'));
    const authorized = principal;
    server.handleUpgrade(req, socket, head, (client) => serve(client, authorized));
  };
}
