import type { Logger } from 'pino';
import { type Principal, visibleOwner } from '../auth/principal.js';
import type { ConversationRepository } from '../db/conversations.js';
import type { ValidBody } from '../domain/defaults.js';
import { DomainError } from '../domain/errors.js';
import type { SchemaChatDoneFrame, SchemaChatErrorFrame, SchemaChatRequest, SchemaChatResponse, SchemaChatTokenFrame } from '../generated/api.js';
import type { Completion, Gateway, Surface } from '../gateway/gateway.js';
import { contentOf } from '../gateway/chunks.js';

/** A chat request once validated (the same for POST /chat, /chat/stream and /ws/chat). */
export type ChatRequest = ValidBody<'streamChat', SchemaChatRequest>;

export type ChatFrame = SchemaChatTokenFrame | SchemaChatDoneFrame | SchemaChatErrorFrame;

/** An error frame's `code` for each failure a stream can end with; anything else is `internal`. */
const FRAME_CODES: Partial<Record<DomainError['kind'], NonNullable<SchemaChatErrorFrame['code']>>> = {
  upstream: 'upstream_error',
  upstream_timeout: 'upstream_timeout',
  unavailable: 'shutting_down',
};

export interface ChatTurn {
  conversationId: string;
  completion: Completion;
}


/**
 * How many of a conversation's latest messages go to the model with a new one (the spec says so on
 * `conversation_id`): a conversation may grow without end, the work and the upstream's input may not.
 */
const CONTEXT_MESSAGES = 100;

/**
 * A chat exchange: the user's message is stored (starting or continuing a conversation, whose
 * latest messages go to the model as context), the answer is streamed as seed 001's frames and
 * stored when it ends, marked incomplete when it was cut short. The model is reached through the
 * gateway, so chat has the same routing, limits and accounting as /v1.
 */
export class ChatService {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly gateway: Gateway,
    private readonly log: Logger,
  ) {}

  async begin(principal: Principal, body: ChatRequest, surface: Surface): Promise<ChatTurn> {
    const model = body.model ?? this.gateway.defaultModel;
    // Before anything is stored: a refused request leaves no message behind.
    await this.gateway.admit(principal, model);
    let owner = principal.owner;
    if (body.conversation_id !== undefined) {
      const conversation = await this.conversations.get(visibleOwner(principal), body.conversation_id);
      if (!conversation) throw DomainError.notFound(`No conversation with conversation_id "${body.conversation_id}" exists.`);
      owner = conversation.owner;
    }
    const { conversationId, history } = await this.conversations.addUserMessage(owner, body.conversation_id, body.message, CONTEXT_MESSAGES);
    const messages = [...history.map((message) => ({ role: message.role, content: message.content })), { role: 'user' as const, content: body.message }];
    return { conversationId, completion: this.gateway.start(principal, model, { messages, temperature: body.temperature, max_tokens: body.max_tokens }, surface) };
  }

  /**
   * The answer's frames: tokens, then `done`, or an `error` frame when it fails (nothing when the
   * client went away). The answer is stored either way, marked incomplete when cut short.
   */
  async *answer(turn: ChatTurn, signal: AbortSignal): AsyncIterable<ChatFrame> {
    const conversation_id = turn.conversationId;
    try {
      const done = yield* this.run(turn, signal);
      yield done;
    } catch (error) {
      if (signal.aborted) return;
      const code = error instanceof DomainError ? (FRAME_CODES[error.kind] ?? 'internal') : 'internal';
      if (code === 'internal') this.log.error({ err: error }, 'chat answer failed');
      yield { type: 'error', message: code === 'internal' ? 'The answer failed unexpectedly; it has been logged.' : (error as Error).message, conversation_id, code };
    }
  }

  /** The whole answer at once; a failure is thrown as the DomainError it was. */
  async reply(turn: ChatTurn, signal: AbortSignal): Promise<SchemaChatResponse> {
    let content = '';
    const tokens = this.run(turn, signal);
    for (;;) {
      const next = await tokens.next();
      if (next.done) {
        const { conversation_id, message_id, model, usage, finish_reason } = next.value;
        return { conversation_id, message_id, model, content, usage, finish_reason };
      }
      content += next.value.content;
    }
  }

  /** Streams the tokens and returns the stored answer's `done` frame. */
  private async *run(turn: ChatTurn, signal: AbortSignal): AsyncGenerator<SchemaChatTokenFrame, SchemaChatDoneFrame> {
    const conversation_id = turn.conversationId;
    const model = turn.completion.model;
    let content = '';
    try {
      for await (const chunk of turn.completion.chunks(signal)) {
        const text = contentOf(chunk);
        if (text === '') continue;
        content += text;
        yield { type: 'token', content: text, conversation_id };
      }
      signal.throwIfAborted();
      const result = turn.completion.result;
      if (!result) throw new Error('the completion ended without a result');
      const { usage, finishReason } = result;
      const stored = await this.conversations.addAnswer(conversation_id, { content, model, usage, complete: true });
      return { type: 'done', conversation_id, message_id: stored.message_id, model, usage, finish_reason: finishReason ?? 'stop' };
    } catch (error) {
      await this.conversations
        .addAnswer(conversation_id, { content, model, usage: null, complete: false })
        .catch((storeError: unknown) => this.log.warn({ err: storeError }, 'could not store an incomplete answer'));
      if (signal.aborted) throw new DomainError('client_closed', 'The client closed the connection.', { cause: error });
      throw error;
    }
  }
}
