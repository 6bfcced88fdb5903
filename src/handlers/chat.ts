import { visibleOwner } from '../auth/principal.js';
import type { ChatService } from '../chat/chat-service.js';
import type { ConversationRepository } from '../db/conversations.js';
import { toConversation, toConversationDetail } from '../presenters/chat.js';
import { CURSOR_VALUE } from '../http/cursor.js';
import { keysetPage } from '../http/pagination.js';
import type { Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';

export function chatHandlers(chat: ChatService, conversations: ConversationRepository) {
  return {
    streamChat: async ({ body }, ctx): Promise<Reply<'streamChat'>> => {
      const turn = await chat.begin(ctx.principal, body, 'chat');
      return {
        status: 200,
        stream: async (writer) => {
          for await (const frame of chat.answer(turn, writer.signal)) await writer.send({ data: frame });
        },
      };
    },

    chat: async ({ body }, ctx): Promise<Reply<'chat'>> => {
      const turn = await chat.begin(ctx.principal, body, 'chat');
      return { status: 200, body: await chat.reply(turn, ctx.signal) };
    },

    listConversations: async ({ query }, { principal }): Promise<Reply<'listConversations'>> => ({
      status: 200,
      body: await keysetPage(query, {
        cursor: { t: CURSOR_VALUE.int8, i: CURSOR_VALUE.uuid },
        fetch: (after, limit) => conversations.list(visibleOwner(principal), limit, after ? { updatedMicros: after.t, id: after.i } : undefined),
        position: (row) => ({ t: row.updated_micros, i: row.conversation_id }),
        present: toConversation,
      }),
    }),

    getConversation: async ({ path }, { principal }): Promise<Reply<'getConversation'>> => {
      const conversation = await conversations.get(visibleOwner(principal), path.conversation_id);
      if (!conversation) throw DomainError.notFound(`No conversation with conversation_id "${path.conversation_id}" exists.`);
      return { status: 200, body: toConversationDetail(conversation, await conversations.messages(conversation.conversation_id)) };
    },
  } satisfies Handlers;
}

