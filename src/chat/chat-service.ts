import type { Logger } from 'pino';
import { type Principal, visibleOwner } from '../auth/principal.js';
import type { ConversationRepository } from '../db/conversations.js';
import type { ChatUsage } from '../db/schema.js';
import type { SchemaChatDoneFrame, SchemaChatErrorFrame, SchemaChatRequest, SchemaChatTokenFrame } from '../generated/api.js';
import { ProblemError } from '../http/problem.js';
import { type ChatProvider, type CompletionRequest, UpstreamError, UpstreamTimeoutError } from './provider.js';

export type ChatFrame = SchemaChatTokenFrame | SchemaChatDoneFrame | SchemaChatErrorFrame;

export interface ChatTurn {
  conversationId: string;
  request: CompletionRequest;
}

/** A rough count for models that do not report usage: about four characters per token. */
const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/**
 * A chat exchange: the user's message is stored (starting or continuing a conversation, whose
 * earlier messages go to the model as context), the answer is streamed as seed 001's frames and
 * stored when it ends, marked incomplete when it was cut short.
 */
export class ChatService {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly provider: ChatProvider,
    private readonly log: Logger,
  ) {}

  async begin(principal: Principal, body: SchemaChatRequest): Promise<ChatTurn> {
    let owner = principal.owner;
    if (body.conversation_id !== undefined) {
      const conversation = await this.conversations.get(visibleOwner(principal), body.conversation_id);
      if (!conversation) throw ProblemError.notFound(`No conversation with conversation_id "${body.conversation_id}" exists.`);
      owner = conversation.owner;
    }
    const { conversationId, history } = await this.conversations.addUserMessage(owner, body.conversation_id, body.message);
    return {
      conversationId,
      request: {
        model: body.model,
        messages: [...history.map((message) => ({ role: message.role, content: message.content })), { role: 'user', content: body.message }],
        temperature: body.temperature ?? 0.7,
        maxTokens: body.max_tokens ?? 1000,
      },
    };
  }

  async *answer(turn: ChatTurn, signal: AbortSignal): AsyncIterable<ChatFrame> {
    const conversation_id = turn.conversationId;
    let content = '';
    let model = turn.request.model ?? 'unknown';
    try {
      let end: { finishReason: string; usage: ChatUsage | null } | undefined;
      for await (const chunk of this.provider.complete(turn.request, signal)) {
        if (chunk.type === 'token') {
          content += chunk.content;
          yield { type: 'token', content: chunk.content, conversation_id };
        } else {
          model = chunk.model;
          end = chunk;
        }
      }
      const prompt = turn.request.messages.reduce((sum, message) => sum + estimateTokens(message.content), 0);
      const usage = end?.usage ?? { prompt_tokens: prompt, completion_tokens: estimateTokens(content), total_tokens: prompt + estimateTokens(content) };
      const stored = await this.conversations.addAnswer(conversation_id, { content, model, usage, complete: true });
      yield { type: 'done', conversation_id, message_id: stored.message_id, model, usage, finish_reason: end?.finishReason ?? 'stop' };
    } catch (error) {
      await this.conversations
        .addAnswer(conversation_id, { content, model, usage: null, complete: false })
        .catch((storeError: unknown) => this.log.warn({ err: storeError }, 'could not store an incomplete answer'));
      if (signal.aborted) return;
      const code = error instanceof UpstreamTimeoutError ? 'upstream_timeout' : error instanceof UpstreamError ? 'upstream_error' : 'internal';
      if (code === 'internal') this.log.error({ err: error }, 'chat answer failed');
      yield { type: 'error', message: code === 'internal' ? 'The answer failed unexpectedly; it has been logged.' : (error as Error).message, conversation_id, code };
    }
  }
}
