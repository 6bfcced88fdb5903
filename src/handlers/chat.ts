import { isAdmin } from '../auth/principal.js';
import type { ChatService } from '../chat/chat-service.js';
import type { ConversationRepository, ConversationSummary } from '../db/conversations.js';
import type { SchemaConversation } from '../generated/api.js';
import { CURSOR_VALUE, decodeCursor, encodeCursor } from '../http/cursor.js';
import type { Handlers, Reply } from '../http/operations.js';
import { PROBLEM_TYPES, ProblemError } from '../http/problem.js';

function toConversation(row: ConversationSummary): SchemaConversation {
  return {
    conversation_id: row.conversation_id,
    title: row.title,
    message_count: row.message_count,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const UPSTREAM_STATUS = { upstream_error: 502, upstream_timeout: 504, shutting_down: 503, internal: 500 } as const;

export function chatHandlers(chat: ChatService, conversations: ConversationRepository) {
  return {
    streamChat: async ({ body }, ctx): Promise<Reply<'streamChat'>> => {
      const turn = await chat.begin(ctx.principal, body);
      return {
        status: 200,
        stream: async (writer) => {
          for await (const frame of chat.answer(turn, writer.signal)) await writer.send({ data: frame });
        },
      };
    },

    chat: async ({ body }, ctx): Promise<Reply<'chat'>> => {
      const turn = await chat.begin(ctx.principal, body);
      let content = '';
      for await (const frame of chat.answer(turn, ctx.signal)) {
        if (frame.type === 'token') content += frame.content;
        else if (frame.type === 'error') {
          const status = UPSTREAM_STATUS[frame.code ?? 'internal'];
          throw new ProblemError({
            status,
            type: status === 504 ? PROBLEM_TYPES.upstreamTimeout : status === 502 ? PROBLEM_TYPES.upstream : PROBLEM_TYPES.internal,
            detail: frame.message,
          });
        } else {
          return {
            status: 200,
            body: { conversation_id: frame.conversation_id, message_id: frame.message_id, model: frame.model, content, usage: frame.usage, finish_reason: frame.finish_reason },
          };
        }
      }
      // The client went away before the end: nobody is left to answer.
      throw new ProblemError({ status: 499, type: PROBLEM_TYPES.internal, detail: 'The client closed the connection.' });
    },

    listConversations: async ({ query }, { principal }): Promise<Reply<'listConversations'>> => {
      const limit = query.limit ?? 50;
      const cursor = decodeCursor(query.cursor, { t: CURSOR_VALUE.int8, i: CURSOR_VALUE.uuid });
      const rows = await conversations.list(isAdmin(principal) ? undefined : principal.owner, limit + 1, cursor ? { updatedMicros: cursor.t, id: cursor.i } : undefined);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        status: 200,
        body: {
          items: page.map(toConversation),
          next_cursor: rows.length > limit && last ? encodeCursor({ t: last.updated_micros, i: last.conversation_id }) : null,
        },
      };
    },

    getConversation: async ({ path }, { principal }): Promise<Reply<'getConversation'>> => {
      const conversation = await conversations.get(isAdmin(principal) ? undefined : principal.owner, path.conversation_id);
      if (!conversation) throw ProblemError.notFound(`No conversation with conversation_id "${path.conversation_id}" exists.`);
      const messages = await conversations.messages(conversation.conversation_id);
      return {
        status: 200,
        body: {
          ...toConversation(conversation),
          messages: messages.map((message) => ({
            message_id: message.message_id,
            role: message.role,
            content: message.content,
            model: message.model,
            usage: message.usage,
            complete: message.complete,
            created_at: message.created_at.toISOString(),
          })),
        },
      };
    },
  } satisfies Handlers;
}

