import { LocationIdsExhaustedError, type LocationRepository, type LocationValues } from '../db/locations.js';
import type { ResultRepository } from '../db/results.js';
import type { TaskRepository } from '../db/tasks.js';
import type { UserRepository } from '../db/users.js';
import type { HandlerContext, Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';
import { type LocationFileError, parseLocationFile } from '../recommender/location-file.js';
import { toResultRecord, toStoredUser } from '../presenters/content.js';
import { toLocation } from '../presenters/locations.js';

/** Largest accepted import file (also enforced while uploading). */
export const IMPORT_MAX_BYTES = 5 * 1024 * 1024;

export interface ContentDependencies {
  locations: LocationRepository;
  users: UserRepository;
  tasks: TaskRepository;
  results: ResultRepository;
}

/** Seed 003's /content routes (admin only, as the spec says): inspect and edit the store. */
export function contentHandlers({ locations, users, tasks, results }: ContentDependencies) {
  const locationNotFound = (id: number) => DomainError.notFound(`No location with location_id ${id} exists.`);
  const uploadedFile = (ctx: HandlerContext): Buffer => {
    const files = ctx.req.files;
    const file = Array.isArray(files) ? files.find((candidate) => candidate.fieldname === 'file') : undefined;
    if (!file) throw DomainError.validation([{ location: 'body', pointer: '/file', message: 'is required (multipart field "file")' }]);
    return file.buffer;
  };

  return {
    getContentInfo: async (): Promise<Reply<'getContentInfo'>> => {
      const [locationCount, userCount, taskCount, selectionCount] = await Promise.all([locations.count(), users.count(), tasks.count(), results.countSelections()]);
      return { status: 200, body: { locations: locationCount, users: userCount, tasks: taskCount, selections: selectionCount } };
    },

    listLocations: async ({ query }): Promise<Reply<'listLocations'>> => {
      const rows = await locations.list(query.limit, query.after_id);
      return { status: 200, body: rows.map(toLocation) };
    },

    getLocation: async ({ path }): Promise<Reply<'getLocation'>> => {
      const row = await locations.get(path.location_id);
      if (!row) throw locationNotFound(path.location_id);
      return { status: 200, body: toLocation(row) };
    },

    createLocation: async ({ path, body }): Promise<Reply<'createLocation'>> => {
      const row = await locations.create(path.location_id, body satisfies LocationValues);
      if (!row) throw DomainError.conflict(`A location with location_id ${path.location_id} already exists; use PUT or PATCH to change it.`);
      return { status: 201, headers: { Location: `/content/location/${row.location_id}` }, body: toLocation(row) };
    },

    replaceLocation: async ({ path, body }): Promise<Reply<'replaceLocation'>> => {
      const row = await locations.update(path.location_id, body);
      if (!row) throw locationNotFound(path.location_id);
      return { status: 200, body: toLocation(row) };
    },

    updateLocation: async ({ path, body }): Promise<Reply<'updateLocation'>> => {
      const row = await locations.update(path.location_id, body);
      if (!row) throw locationNotFound(path.location_id);
      return { status: 200, body: toLocation(row) };
    },

    deleteLocation: async ({ path }): Promise<Reply<'deleteLocation'>> => {
      if (!(await locations.remove(path.location_id))) throw locationNotFound(path.location_id);
      return { status: 204 };
    },

    importLocations: async (_input, ctx): Promise<Reply<'importLocations'>> => {
      const parsed = await parseLocationFile(uploadedFile(ctx).toString('utf8'));
      if (!parsed.ok) {
        throw DomainError.unprocessable(
          `Row ${parsed.errors[0]!.row}, column ${parsed.errors[0]!.column}: ${parsed.errors[0]!.message}; nothing was imported.`,
          parsed.errors.map((error: LocationFileError) => ({ location: 'body', pointer: `/file/${error.row}/${error.column}`, message: `row ${error.row}, column ${error.column}: ${error.message}` })),
        );
      }
      const { created, replaced } = await locations.importAll(parsed.rows).catch((error: unknown) => {
        throw error instanceof LocationIdsExhaustedError ? DomainError.unprocessable(error.message) : error;
      });
      return { status: 200, body: { imported: parsed.rows.length, created, replaced } };
    },

    listUsers: async ({ query }): Promise<Reply<'listUsers'>> => ({
      status: 200,
      body: (await users.list(query.limit, query.after_id)).map(toStoredUser),
    }),

    getUser: async ({ path }): Promise<Reply<'getUser'>> => {
      const row = await users.get(path.user_id);
      if (!row) throw DomainError.notFound(`No stored search with user_id ${path.user_id} exists.`);
      return { status: 200, body: toStoredUser(row) };
    },

    getResult: async ({ path }): Promise<Reply<'getResult'>> => {
      const result = await results.byResultId(path.result_id);
      if (!result) throw DomainError.notFound(`No result with result_id ${path.result_id} exists.`);
      return { status: 200, body: toResultRecord(result) };
    },

    listResults: async ({ query }): Promise<Reply<'listResults'>> => {
      if (!(await tasks.get(undefined, query.task_id, 'inference'))) throw DomainError.notFound(`No inference task with task_id "${query.task_id}" exists.`);
      return { status: 200, body: (await results.forTask(query.task_id)).map(toResultRecord) };
    },
  } satisfies Handlers;
}
