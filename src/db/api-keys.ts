import { sql } from 'kysely';
import type { Database } from './database.js';
import type { ApiKeyRow, NewApiKey } from './schema.js';

/** The LISTEN/NOTIFY channel that carries the id of every key that changed. */
export const API_KEY_CHANGES = 'api_keys';

/** An advisory lock's name, taken per schema: deployments sharing a database never wait on each other. */
const BOOTSTRAP_LOCK = 'portico.api_keys.bootstrap';

export interface ApiKeyListQuery {
  owner?: string | undefined;
  limit: number;
  /** Only keys created before the key with this sequence number. */
  beforeSeq?: string | undefined;
}

export class ApiKeyRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  async create(key: NewApiKey): Promise<ApiKeyRow> {
    return this.db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow();
  }

  /** The key whose token has this hash, whatever its state; an indexed lookup. */
  async findByTokenHash(tokenHash: Uint8Array): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  async get(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(query: ApiKeyListQuery): Promise<ApiKeyRow[]> {
    let select = this.db.selectFrom('api_keys').selectAll().orderBy('seq', 'desc').limit(query.limit);
    if (query.owner !== undefined) select = select.where('owner', '=', query.owner);
    if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
    return select.execute();
  }

  /** Revokes the key (keeping the first revocation time) and tells every process at commit. */
  async revoke(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('api_keys')
        .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (row) await sql`select pg_notify(${this.database.notifications.channel(API_KEY_CHANGES)}, ${id})`.execute(trx);
      return row;
    });
  }

  /** Records when keys were last used; one statement for any number of keys. */
  async touchLastUsed(usage: ReadonlyMap<string, Date>): Promise<void> {
    if (usage.size === 0) return;
    const rows = JSON.stringify([...usage].map(([id, at]) => ({ id, at: at.toISOString() })));
    await sql`
      update api_keys set last_used_at = greatest(api_keys.last_used_at, used.at)
      from jsonb_to_recordset(${rows}::jsonb) as used(id text, at timestamptz)
      where api_keys.id = used.id`.execute(this.db);
  }

  /**
   * Makes `tokenHash` the ADMIN_TOKEN key: creates it, or replaces the hash of the existing one so
   * the previous token stops working everywhere. Serialised across processes starting together.
   */
  async setAdminToken(tokenHash: Uint8Array, create: () => NewApiKey): Promise<'created' | 'updated' | 'unchanged'> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ':' || ${BOOTSTRAP_LOCK}))`.execute(trx);
      const current = await trx
        .selectFrom('api_keys')
        .selectAll()
        .where('origin', '=', 'admin_token')
        .where('revoked_at', 'is', null)
        .orderBy('seq', 'desc')
        .executeTakeFirst();
      if (!current) {
        await trx.insertInto('api_keys').values(create()).execute();
        return 'created';
      }
      if (Buffer.from(current.token_hash).equals(Buffer.from(tokenHash))) return 'unchanged';
      const fresh = create();
      await trx
        .updateTable('api_keys')
        .set({ token_hash: fresh.token_hash, token_hint: fresh.token_hint, scopes: fresh.scopes, expires_at: null })
        .where('id', '=', current.id)
        .execute();
      await sql`select pg_notify(${this.database.notifications.channel(API_KEY_CHANGES)}, ${current.id})`.execute(trx);
      return 'updated';
    });
  }

  /** Creates an admin key unless a working one exists; returns whether it did. */
  async ensureAdminKey(create: () => NewApiKey): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ':' || ${BOOTSTRAP_LOCK}))`.execute(trx);
      const existing = await trx
        .selectFrom('api_keys')
        .select('id')
        .where(sql<boolean>`'admin' = any(scopes)`)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
        .executeTakeFirst();
      if (existing) return false;
      await trx.insertInto('api_keys').values(create()).execute();
      return true;
    });
  }
}
