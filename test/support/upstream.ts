import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a stand-in upstream answers. */
export type StandInMode =
  /** Streams `tokens`, then a finish chunk and a usage chunk, then [DONE]. */
  | { kind: 'ok'; tokens: string[]; tokenDelayMs?: number; firstDelayMs?: number; usage?: { prompt_tokens: number; completion_tokens: number } }
  /** Answers this status with an OpenAI error body. */
  | { kind: 'status'; status: number }
  /** Streams `tokens`, then drops the connection without finishing. */
  | { kind: 'break'; tokens: string[]; tokenDelayMs?: number };

export interface StandInRequest {
  body: { model: string; messages: unknown[]; stream?: boolean; stream_options?: { include_usage?: boolean }; [field: string]: unknown };
  authorization: string | undefined;
  /** When the request arrived and when its connection closed (performance.now()). */
  at: number;
  closedAt: number | undefined;
}

/**
 * A real OpenAI-compatible HTTP server for tests and benchmarks, standing in for a model: it answers
 * as its mode says and records every request, with when its connection closed (so that a test can
 * check that Portico closed it). Its usage is what it reports; tests compare Portico's figures to it.
 */
export class StandInUpstream {
  readonly requests: StandInRequest[] = [];
  mode: StandInMode;
  private readonly server: Server;
  private constructor(mode: StandInMode) {
    this.mode = mode;
    this.server = createServer((req, res) => void this.answer(req, res));
  }

  static async start(mode: StandInMode): Promise<StandInUpstream> {
    const upstream = new StandInUpstream(mode);
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    return upstream;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Tokens reported in usage so far (what Portico's usage must add up to). */
  get reportedTokens(): number {
    return this.reported;
  }
  private reported = 0;

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const record: StandInRequest = { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as StandInRequest['body'], authorization: req.headers.authorization, at: performance.now(), closedAt: undefined };
    this.requests.push(record);
    let closed = false;
    res.on('close', () => {
      closed = true;
      record.closedAt = performance.now();
    });
    const mode = this.mode;
    if (mode.kind === 'status') {
      res.writeHead(mode.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `stand-in answers ${mode.status}`, type: 'server_error' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const send = (body: object) => res.write(`data: ${JSON.stringify(body)}\n\n`);
    const base = { id: 'standin', object: 'chat.completion.chunk', created: 1, model: record.body.model };
    if (mode.kind === 'ok' && mode.firstDelayMs) await wait(mode.firstDelayMs);
    if (closed) return;
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (const [index, token] of mode.tokens.entries()) {
      if (index > 0 && mode.tokenDelayMs) await wait(mode.tokenDelayMs);
      if (closed) return;
      send({ ...base, choices: [{ index: 0, delta: { content: token }, finish_reason: null }] });
    }
    if (mode.kind === 'break') {
      await wait(mode.tokenDelayMs ?? 0);
      res.socket?.destroy();
      return;
    }
    const usage = mode.usage ?? { prompt_tokens: 11, completion_tokens: mode.tokens.length };
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    if (record.body.stream_options?.include_usage) {
      this.reported += usage.prompt_tokens + usage.completion_tokens;
      send({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
    }
    res.end('data: [DONE]\n\n');
  }
}
