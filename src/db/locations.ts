import { sql } from 'kysely';
import { propertyNames } from '../generated/constants.js';
import type { Database } from './database.js';
import type { LocationRow, LocationsTable } from './schema.js';

/** The attributes of a location (everything but its id and bookkeeping). */
export type LocationValues = Omit<LocationsTable, 'location_id' | 'deleted_at' | 'created_at' | 'updated_at'>;

/** The largest id a location can have (the column is a 32-bit integer). */
export const MAX_LOCATION_ID = 2_147_483_647;

/** An import has rows without an id and no free id above the largest one is left. */
export class LocationIdsExhaustedError extends Error {
  constructor() {
    super(`No location_id above the largest one (${MAX_LOCATION_ID}) is free; give the rows explicit ids.`);
    this.name = 'LocationIdsExhaustedError';
  }
}

/** A location's attributes: the row without its id and bookkeeping columns. */
export function locationValues(row: LocationRow): LocationValues {
  const { location_id: _id, deleted_at: _deleted, created_at: _created, updated_at: _updated, ...values } = row;
  return values;
}

/** LISTEN/NOTIFY channel: the catalogue changed (cached catalogues reload). */
export const CATALOGUE_CHANGES = 'catalogue';
/** An advisory lock's name, taken per schema: deployments sharing a database never wait on each other. */
const SEED_LOCK = 'portico.locations.seed';

export class LocationRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  private notifyChanged() {
    return sql`select pg_notify(${this.database.notifications.channel(CATALOGUE_CHANGES)}, '')`;
  }

  /** Every location new tasks score, by id. */
  async catalogue(): Promise<LocationRow[]> {
    return this.db.selectFrom('locations').selectAll().where('deleted_at', 'is', null).orderBy('location_id').execute();
  }

  async list(limit: number, afterId: number): Promise<LocationRow[]> {
    return this.db
      .selectFrom('locations')
      .selectAll()
      .where('deleted_at', 'is', null)
      .where('location_id', '>', afterId)
      .orderBy('location_id')
      .limit(limit)
      .execute();
  }

  async get(locationId: number): Promise<LocationRow | undefined> {
    return this.db.selectFrom('locations').selectAll().where('location_id', '=', locationId).where('deleted_at', 'is', null).executeTakeFirst();
  }

  /** Locations by id, removed ones included (earlier results still show them). */
  async getMany(locationIds: readonly number[]): Promise<Map<number, LocationRow>> {
    if (locationIds.length === 0) return new Map();
    const rows = await this.db.selectFrom('locations').selectAll().where('location_id', 'in', [...new Set(locationIds)]).execute();
    return new Map(rows.map((row) => [row.location_id, row]));
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('locations').select((eb) => eb.fn.countAll<string>().as('count')).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Adds a location; a removed one with this id comes back. Undefined when the id is taken. */
  async create(locationId: number, values: LocationValues): Promise<LocationRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('locations')
        .values({ location_id: locationId, ...values })
        .onConflict((oc) =>
          oc.column('location_id').doUpdateSet({ ...values, deleted_at: null, updated_at: sql`now()` }).where('locations.deleted_at', 'is not', null),
        )
        .returningAll()
        .executeTakeFirst();
      if (row) await this.notifyChanged().execute(trx);
      return row;
    });
  }

  async update(locationId: number, values: Partial<LocationValues>): Promise<LocationRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('locations')
        .set({ ...values, updated_at: sql`now()` })
        .where('location_id', '=', locationId)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (row) await this.notifyChanged().execute(trx);
      return row;
    });
  }

  async remove(locationId: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('locations')
        .set({ deleted_at: sql`now()` })
        .where('location_id', '=', locationId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      const removed = result.numUpdatedRows > 0n;
      if (removed) await this.notifyChanged().execute(trx);
      return removed;
    });
  }

  /**
   * Imports rows in one transaction: rows with an id create or replace that location, rows
   * without one get the next free ids. Either every row lands or none does.
   */
  async importAll(rows: readonly { locationId: number | undefined; values: LocationValues }[]): Promise<{ created: number; replaced: number }> {
    return this.db.transaction().execute(async (trx) => {
      // Serialises imports, so that ids handed out here cannot collide.
      await sql`lock table locations in share row exclusive mode`.execute(trx);
      const existing = new Set(
        (await trx.selectFrom('locations').select('location_id').where('deleted_at', 'is', null).execute()).map((row) => row.location_id),
      );
      const { max } = await trx.selectFrom('locations').select((eb) => eb.fn.max('location_id').as('max')).executeTakeFirstOrThrow();
      // A loop, not Math.max(...ids): 100,000 arguments overflow the stack.
      let nextId = rows.reduce((highest, row) => Math.max(highest, row.locationId ?? 0), Number(max ?? 0)) + 1;
      let created = 0;
      let replaced = 0;
      const values = rows.map((row) => {
        const locationId = row.locationId ?? nextId++;
        if (locationId > MAX_LOCATION_ID) throw new LocationIdsExhaustedError();
        if (existing.has(locationId)) replaced += 1;
        else created += 1;
        return { location_id: locationId, ...row.values };
      });
      for (let start = 0; start < values.length; start += 500) {
        await trx
          .insertInto('locations')
          .values(values.slice(start, start + 500))
          .onConflict((oc) =>
            oc.column('location_id').doUpdateSet((eb) => ({
              ...Object.fromEntries(LOCATION_FIELDS.map((field) => [field, eb.ref(`excluded.${field}`)])),
              deleted_at: null,
              updated_at: sql`now()`,
            })),
          )
          .execute();
      }
      await this.notifyChanged().execute(trx);
      return { created, replaced };
    });
  }

  /** Fills an empty catalogue (first start); safe when several processes start together. */
  async seedIfEmpty(locations: readonly (LocationValues & { location_id: number })[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ':' || ${SEED_LOCK}))`.execute(trx);
      const any = await trx.selectFrom('locations').select('location_id').limit(1).executeTakeFirst();
      if (any) return false;
      for (let start = 0; start < locations.length; start += 500) {
        await trx.insertInto('locations').values(locations.slice(start, start + 500)).execute();
      }
      await this.notifyChanged().execute(trx);
      return true;
    });
  }
}

/** The location fields, in the spec's order (LocationFields). */
export const LOCATION_FIELDS = propertyNames.LocationFields satisfies readonly (keyof LocationValues)[];
