import type { ConversationSummary } from '../db/conversations.js';
import type { ChatMessageRow } from '../db/schema.js';
import type { SchemaConversation, SchemaConversationDetail } from '../generated/api.js';

export function toConversation(row: ConversationSummary): SchemaConversation {
  return {
    conversation_id: row.conversation_id,
    title: row.title,
    message_count: row.message_count,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function toConversationDetail(row: ConversationSummary, messages: readonly ChatMessageRow[]): SchemaConversationDetail {
  return {
    ...toConversation(row),
    messages: messages.map((message) => ({
      message_id: message.message_id,
      role: message.role,
      content: message.content,
      model: message.model,
      usage: message.usage,
      complete: message.complete,
      created_at: message.created_at.toISOString(),
    })),
  };
}
