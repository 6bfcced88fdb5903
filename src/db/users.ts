import type { Database } from './database.js';
import type { UserDataRow } from './schema.js';

/** Stored searches (seed 003's UserData rows). They are written with their task (TaskRepository). */
export class UserRepository {
  constructor(private readonly database: Database) {}

  async get(userId: number): Promise<UserDataRow | undefined> {
    return this.database.db.selectFrom('user_data').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async list(limit: number, afterId: number): Promise<UserDataRow[]> {
    return this.database.db.selectFrom('user_data').selectAll().where('user_id', '>', afterId).orderBy('user_id').limit(limit).execute();
  }

  async count(): Promise<number> {
    const row = await this.database.db.selectFrom('user_data').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
