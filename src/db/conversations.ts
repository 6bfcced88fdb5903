import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from './database.js';
import type { ChatMessageRow, ChatUsage, ConversationRow } from './schema.js';

export type ConversationSummary = ConversationRow & { message_count: number; /** updated_at in µs, for cursors. */ updated_micros: string };

const TITLE_LENGTH = 80;

/** Chat conversations and their messages. */
export class ConversationRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  /** The conversation if `owner` may see it (undefined owner: admins). */
  async get(owner: string | undefined, conversationId: string): Promise<ConversationSummary | undefined> {
    let query = this.db
      .selectFrom('conversations')
      .selectAll('conversations')
      .select((eb) => eb.selectFrom('chat_messages').whereRef('chat_messages.conversation_id', '=', 'conversations.conversation_id').select(eb.fn.countAll<string>().as('n')).as('message_count'))
      .select(sql<string>`(extract(epoch from updated_at) * 1000000)::bigint`.as('updated_micros'))
      .where('conversation_id', '=', conversationId);
    if (owner !== undefined) query = query.where('owner', '=', owner);
    const row = await query.executeTakeFirst();
    return row ? { ...row, message_count: Number(row.message_count) } : undefined;
  }

  async list(owner: string | undefined, limit: number, before: { updatedMicros: string; id: string } | undefined): Promise<ConversationSummary[]> {
    let query = this.db
      .selectFrom('conversations')
      .selectAll('conversations')
      .select((eb) => eb.selectFrom('chat_messages').whereRef('chat_messages.conversation_id', '=', 'conversations.conversation_id').select(eb.fn.countAll<string>().as('n')).as('message_count'))
      .select(sql<string>`(extract(epoch from updated_at) * 1000000)::bigint`.as('updated_micros'))
      .orderBy('updated_at', 'desc')
      .orderBy('conversation_id', 'desc')
      .limit(limit);
    if (owner !== undefined) query = query.where('owner', '=', owner);
    if (before !== undefined) {
      query = query.where(sql<boolean>`((extract(epoch from updated_at) * 1000000)::bigint, conversation_id) < (${before.updatedMicros}::bigint, ${before.id}::uuid)`);
    }
    const rows = await query.execute();
    return rows.map((row) => ({ ...row, message_count: Number(row.message_count) }));
  }

  async messages(conversationId: string): Promise<ChatMessageRow[]> {
    return this.db.selectFrom('chat_messages').selectAll().where('conversation_id', '=', conversationId).orderBy('seq').execute();
  }

  /** Starts a conversation with its first message, or adds a message to an existing one. */
  /** Stores a user's message; `history` is the conversation's last `contextLength` messages before it, oldest first. */
  async addUserMessage(owner: string, conversationId: string | undefined, content: string, contextLength: number): Promise<{ conversationId: string; history: ChatMessageRow[] }> {
    return this.db.transaction().execute(async (trx) => {
      const id = conversationId ?? randomUUID();
      if (conversationId === undefined) {
        await trx.insertInto('conversations').values({ conversation_id: id, owner, title: content.slice(0, TITLE_LENGTH) }).execute();
      } else {
        await trx.updateTable('conversations').set({ updated_at: sql<Date>`now()` }).where('conversation_id', '=', id).execute();
      }
      const latest = await trx.selectFrom('chat_messages').selectAll().where('conversation_id', '=', id).orderBy('seq', 'desc').limit(contextLength).execute();
      const history = latest.reverse();
      await trx.insertInto('chat_messages').values({ message_id: randomUUID(), conversation_id: id, role: 'user', content, model: null, usage: null, complete: true }).execute();
      return { conversationId: id, history };
    });
  }

  /** Stores an answer; `complete` is false when it was cut short. */
  async addAnswer(conversationId: string, answer: { content: string; model: string; usage: ChatUsage | null; complete: boolean }): Promise<ChatMessageRow> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('chat_messages')
        .values({
          message_id: randomUUID(),
          conversation_id: conversationId,
          role: 'assistant',
          content: answer.content,
          model: answer.model,
          usage: answer.usage === null ? null : JSON.stringify(answer.usage),
          complete: answer.complete,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx.updateTable('conversations').set({ updated_at: sql<Date>`now()` }).where('conversation_id', '=', conversationId).execute();
      return row;
    });
  }
}
